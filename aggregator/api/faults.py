"""Faults API: list and act on faults, maintenance windows, routing rules, delivery log.

Mounted by the app factory with :func:`include_faults`, given the core's auth dependency
(a callable FastAPI resolves to the caller, who has ``.role`` in viewer/technician/admin,
``.provinces`` (empty = every province) and optionally ``.name``) and the running
:class:`~aggregator.faults.service.FaultService`. Technicians act only within their
provinces; routing rules (which hold webhook secrets) are for administrators only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from aggregator.api.errors import ERROR_RESPONSES, ErrorOut
from aggregator.faults.model import FaultKind, FaultStatus, RepairNote
from aggregator.faults.routing import RouteSpec
from aggregator.faults.rules import FaultNotFound, FaultStateError
from aggregator.faults.service import FaultService
from aggregator.faults.stats import response_figures
from aggregator.faults.store import FaultFilter, fault_row
from aggregator.store.maintenance import MaintenanceWindow, TargetKind, WindowSpec

__all__ = ["Caller", "RepairIn", "current_caller", "current_service", "include_faults", "router"]


class Caller(Protocol):
    """Who is calling (the core's principal)."""

    @property
    def role(self) -> str: ...
    @property
    def provinces(self) -> Collection[str]: ...


class RepairIn(BaseModel):
    """A technician's repair note."""

    model_config = ConfigDict(extra="forbid")

    done: str = Field(min_length=1, max_length=2000, description="What was done")
    parts: str = Field(default="", max_length=1000, description="Parts used")
    cost: float | None = Field(default=None, ge=0, le=10_000_000, description="Cost in baht")
    wont_fix: bool = Field(default=False, description="Close as won't-fix instead of resolved")


class FaultPublic(BaseModel):
    """A fault as the API shows it."""

    id: int
    kind: str
    status: str
    province: str
    district: str | None
    site: str | None
    camera_id: str | None
    state: str
    reason: str
    opened_at: str
    first_opened_at: str
    agency: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    resolution: str | None
    note: str
    parts: str
    cost: float | None
    parent_id: int | None
    reopen_count: int
    escalation_level: int
    alerted_at: str | None
    historical: bool
    affected: int


def _scope(caller: Caller) -> list[str] | None:
    return sorted(caller.provinces) if caller.provinces else None


def _in_scope(caller: Caller, province: str) -> bool:
    return not caller.provinces or province in caller.provinces


def _name(caller: Caller) -> str:
    return str(getattr(caller, "name", "") or caller.role)[:100]


def current_caller() -> Any:
    """The caller; replaced by the core's auth dependency (see :func:`include_faults`)."""
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no authentication configured")


def current_service() -> FaultService:
    """The running fault service; replaced by :func:`include_faults`."""
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the fault service is not running")


# Ids and offsets are SQLite integers: anything past 64 bits is refused with 422 before it
# reaches a query (sqlite3 raises OverflowError on it, which would answer 500).
_MAX_ID = 2**63 - 1
_MAX_OFFSET = 10_000_000
FaultId = Annotated[int, Path(ge=1, le=_MAX_ID, description="Fault id")]
WindowId = Annotated[int, Path(ge=1, le=_MAX_ID, description="Maintenance window id")]
RouteId = Annotated[int, Path(ge=1, le=_MAX_ID, description="Routing rule id")]
Offset = Annotated[int, Query(ge=0, le=_MAX_OFFSET)]
CallerDep = Annotated[Any, Depends(current_caller)]
ServiceDep = Annotated[FaultService, Depends(current_service)]
router = APIRouter(prefix="/api/v1", tags=["faults"])
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The fault is not in a state that allows this (e.g. already resolved)"}
}
_BAD_BODY: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut, "description": "The body is not valid JSON"}}


def acting(caller: Caller, province: str | None = None) -> None:
    if caller.role not in ("technician", "admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "technicians and administrators only")
    if province is not None and not _in_scope(caller, province):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"province {province} is outside your scope")

def admin(caller: Caller) -> None:
    if caller.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")

def visible(svc: FaultService, caller: Caller, fault_id: int) -> dict[str, Any]:
    fault = svc.store.get(fault_id)
    if fault is None or not _in_scope(caller, fault.province):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no fault {fault_id}")
    return fault_row(fault)

@router.get("/faults", response_model=list[FaultPublic], summary="Faults, filtered and paged")
def list_faults(
    caller: CallerDep,
    svc: ServiceDep,
    province: str | None = None,
    district: str | None = None,
    site: str | None = None,
    camera_id: str | None = None,
    agency: str | None = None,
    kind: FaultKind | None = None,
    fault_status: Annotated[FaultStatus | None, Query(alias="status")] = None,
    active: bool | None = None,
    opened_from: AwareDatetime | None = None,
    opened_until: AwareDatetime | None = None,
    top_level: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Faults in the caller's provinces, newest first, filtered."""
    flt = FaultFilter(
        provinces=_scope(caller), province=province, district=district, site=site,
        camera_id=camera_id, agency=agency, kind=kind, status=fault_status, active=active,
        opened_from=opened_from, opened_until=opened_until, top_level=top_level,
        limit=limit, offset=offset,
    )  # fmt: skip
    return [fault_row(f) for f in svc.store.find(flt)]

@router.get("/faults/figures", summary="Response figures: MTTA and MTTR per group")
def figures(
    caller: CallerDep,
    svc: ServiceDep,
    start: AwareDatetime,
    end: AwareDatetime,
    by: Literal["nation", "province", "district", "agency"] = "province",
) -> list[dict[str, Any]]:
    """MTTA and MTTR of faults opened in [start, end), per group."""
    rows = response_figures(svc.store.opened_between(start, end, _scope(caller)), start, end, by)
    return [dataclasses.asdict(r) for r in rows]

@router.get("/faults/{fault_id}", summary="One fault with its history")
def get_fault(caller: CallerDep, svc: ServiceDep, fault_id: FaultId) -> dict[str, Any]:
    """One fault with its full history."""
    row = visible(svc, caller, fault_id)
    return {**FaultPublic(**row).model_dump(), "history": svc.store.history(fault_id)}

@router.post("/faults/{fault_id}/acknowledge", response_model=FaultPublic, summary="Acknowledge a fault",
             responses=_CONFLICT)
def acknowledge(caller: CallerDep, svc: ServiceDep, fault_id: FaultId) -> dict[str, Any]:
    """Take the fault on: escalation stops."""
    acting(caller, visible(svc, caller, fault_id)["province"])
    try:
        return fault_row(svc.acknowledge(fault_id, _name(caller)))
    except FaultNotFound as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    except FaultStateError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err

@router.post("/faults/{fault_id}/resolve", response_model=FaultPublic, summary="Resolve a fault with a repair note",
             responses={**_CONFLICT, **_BAD_BODY})
def resolve(caller: CallerDep, svc: ServiceDep, fault_id: FaultId, repair: RepairIn) -> dict[str, Any]:
    """Resolve with a repair note, or close as won't-fix."""
    acting(caller, visible(svc, caller, fault_id)["province"])
    note = RepairNote(repair.done, repair.parts, repair.cost)
    try:
        return fault_row(svc.resolve(fault_id, _name(caller), note, wont_fix=repair.wont_fix))
    except FaultNotFound as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err

def window_province(svc: FaultService, kind: TargetKind, target: str) -> str:
    if kind is TargetKind.DISTRICT:
        return target[:2]
    sql = (
        "SELECT province FROM sites WHERE site_id = ?"
        if kind is TargetKind.SITE
        else "SELECT s.province FROM cameras c JOIN sites s ON s.id = c.site WHERE c.camera_id = ?"
    )
    row = svc.db.execute(sql, [target]).fetchone()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind.value} {target}")
    return str(row[0])

@router.get("/maintenance", summary="Maintenance windows")
def list_windows(caller: CallerDep, svc: ServiceDep) -> list[dict[str, Any]]:
    """Maintenance windows (administrators see all; others those in their provinces)."""
    windows: list[MaintenanceWindow] = svc.calendar.windows()
    if caller.provinces:
        windows = [w for w in windows if _window_in_scope(svc, caller, w)]
    return [w.as_dict() for w in windows]

def _window_in_scope(svc: FaultService, caller: Caller, w: MaintenanceWindow) -> bool:
    try:
        return _in_scope(caller, window_province(svc, w.target_kind, w.target_id))
    except HTTPException:
        return False

@router.post("/maintenance", status_code=status.HTTP_201_CREATED, summary="Plan a maintenance window",
             responses=_BAD_BODY)
def add_window(caller: CallerDep, svc: ServiceDep, spec: WindowSpec) -> dict[str, Any]:
    """Plan a maintenance window (one-off or weekly) for a camera, site or district."""
    acting(caller, window_province(svc, spec.target_kind, spec.target_id))
    spec = spec.model_copy(update={"created_by": _name(caller)})
    return svc.calendar.add(spec, svc.clock()).as_dict()

@router.delete("/maintenance/{window_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Cancel a maintenance window")
def delete_window(caller: CallerDep, svc: ServiceDep, window_id: WindowId) -> None:
    """Cancel a maintenance window."""
    window = svc.calendar.get(window_id)
    if window is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no window {window_id}")
    acting(caller, window_province(svc, window.target_kind, window.target_id))
    svc.calendar.delete(window_id)

@router.get("/alert-routes", summary="Alert routing rules (administrators)")
def list_routes(caller: CallerDep, svc: ServiceDep) -> list[dict[str, Any]]:
    """Routing rules (administrators only; secrets never shown)."""
    admin(caller)
    return [r.as_dict() for r in svc.routes.routes()]

@router.post("/alert-routes", status_code=status.HTTP_201_CREATED, summary="Add an alert routing rule",
             responses=_BAD_BODY)
def add_route(caller: CallerDep, svc: ServiceDep, spec: RouteSpec) -> dict[str, Any]:
    """Add a routing rule."""
    admin(caller)
    return svc.routes.add(spec, svc.clock()).as_dict()

@router.delete("/alert-routes/{route_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove an alert routing rule")
def delete_route(caller: CallerDep, svc: ServiceDep, route_id: RouteId) -> None:
    """Remove a routing rule."""
    admin(caller)
    if not svc.routes.delete(route_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route {route_id}")

@router.get("/deliveries", summary="Alert delivery log")
def deliveries(
    caller: CallerDep,
    svc: ServiceDep,
    delivery_status: Annotated[Literal["pending", "sent", "dead"] | None, Query(alias="status")] = None,
    channel: Literal["webhook", "email"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The delivery log, newest first (technicians and administrators, within scope)."""
    acting(caller)
    return svc.deliveries.list(
        provinces=_scope(caller), status=delivery_status, channel=channel, limit=limit, offset=offset
    )



def include_faults(app: FastAPI, principal: Callable[..., Any], service: FaultService) -> None:
    """Mount the faults API on ``app``, bound to the core's auth dependency and a running service."""
    app.dependency_overrides[current_caller] = principal
    app.dependency_overrides[current_service] = lambda: service
    app.include_router(router, responses=ERROR_RESPONSES)

