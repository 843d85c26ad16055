"""Faults: list, figures, one fault with its history, acknowledge and resolve.

Technicians act only within their provinces (a fault outside them is 404, as if absent).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import AwareDatetime

from aggregator.api.bodies import technician_body
from aggregator.api.deps import (
    CallerDep,
    DbDep,
    FaultsDep,
    TechnicianDep,
    scope_of,
    visible,
    visible_provinces,
)
from aggregator.api.errors import ErrorOut
from aggregator.api.schemas.faults import (
    AssignIn,
    FaultDetail,
    FaultPublic,
    FaultStep,
    FiguresPublic,
    RepairIn,
)
from aggregator.audit.spatial import haversine_m
from aggregator.auth import Principal
from aggregator.faults.model import Fault, FaultKind, FaultStatus, RepairNote
from aggregator.faults.rules import FaultNotFound, FaultStateError
from aggregator.faults.service import FaultService
from aggregator.faults.stats import response_figures
from aggregator.faults.store import SORTS, FaultFilter, FaultStore, fault_row
from aggregator.store.queries.search import SitePlace, site_places
from protocol import CameraState

__all__ = ["MAX_ID", "Offset", "acting_name", "router"]

# Ids and offsets are SQLite integers: anything past 64 bits is refused with 422 before it
# reaches a query (sqlite3 raises OverflowError on it, which would answer 500).
MAX_ID = 2**63 - 1
_MAX_OFFSET = 10_000_000
FaultId = Annotated[int, Path(ge=1, le=MAX_ID, description="Fault id")]
Offset = Annotated[int, Query(ge=0, le=_MAX_OFFSET)]
RepairBody = Annotated[RepairIn, Depends(technician_body(RepairIn))]
AssignBody = Annotated[AssignIn, Depends(technician_body(AssignIn))]
router = APIRouter(prefix="/api/v1", tags=["faults"])
TOTAL_HEADER = "X-Total-Count"
FaultSort = Literal["opened_at", "-opened_at", "id", "-id", "-escalation_level"]
assert set(get_args(FaultSort)) == set(SORTS)
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The fault is not in a state that allows this (already resolved, "
                                            "or resolving while its camera is still not up)"}
}


def acting_name(caller: Principal) -> str:
    """Who acted, as the fault history and maintenance windows record it."""
    return (caller.name or caller.role)[:100]


def _public(fault: Fault, place: SitePlace | None = None, near: tuple[float, float] | None = None) -> FaultPublic:
    row: dict[str, Any] = {**fault_row(fault), "assignee": fault.acknowledged_by}
    if place is not None:
        row.update(site_name=place.name, address=place.address, lat=place.lat, lon=place.lon, phone=place.phone)
        if near is not None and place.lat is not None and place.lon is not None:
            row["distance_km"] = round(haversine_m(*near, place.lat, place.lon) / 1000, 2)
    return FaultPublic.model_validate(row)


def _visible_fault(svc: FaultService, caller: Principal, fault_id: int) -> Fault:
    return visible(caller, svc.store.get(fault_id), f"fault {fault_id}")


@router.get(
    "/faults", response_model=list[FaultPublic], summary="Faults, filtered, sorted and paged",
    responses={200: {"description": f"One page of faults; the {TOTAL_HEADER} header is how many match in all",
                     "headers": {TOTAL_HEADER: {"schema": {"type": "integer"}, "description": "Faults matching"}}}},
)  # fmt: skip
def list_faults(
    caller: CallerDep,
    svc: FaultsDep,
    db: DbDep,
    response: Response,
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
    state: Annotated[CameraState | None, Query(description="The camera state the fault is about")] = None,
    acknowledged: Annotated[bool | None, Query(description="Someone took it on (true) or nobody yet (false)")] = None,
    assigned: Annotated[str | None, Query(max_length=100, description="Taken on by this person")] = None,
    mine: Annotated[bool, Query(description="Taken on by the caller")] = False,
    q: Annotated[str | None, Query(max_length=100, description="Fault number, or part of site, camera, "
                                   "district, agency or who took it on")] = None,  # fmt: skip
    sort: Annotated[FaultSort, Query(description="Order; oldest first by default")] = "opened_at",
    near_lat: Annotated[float | None, Query(ge=-90, le=90, description="Nearest site first (with near_lon)")] = None,
    near_lon: Annotated[float | None, Query(ge=-180, le=180, description="Nearest site first (with near_lat)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[FaultPublic]:
    """Faults in the caller's provinces, filtered, oldest first unless ``sort`` says otherwise;
    the ``X-Total-Count`` header counts every match (another province is 404). With
    ``near_lat``/``near_lon`` the nearest sites come first (faults without a position last)."""
    if (near_lat is None) != (near_lon is None):
        raise HTTPException(422, "near_lat and near_lon go together")
    near = None if near_lat is None or near_lon is None else (near_lat, near_lon)
    flt = FaultFilter(
        provinces=visible_provinces(caller, province), province=province, district=district, site=site,
        camera_id=camera_id, agency=agency, kind=kind, status=fault_status, active=active,
        opened_from=opened_from, opened_until=opened_until, top_level=top_level, state=state,
        acknowledged=acknowledged, acknowledged_by=acting_name(caller) if mine else assigned,
        q=q.strip() or None if q else None, sort=sort, near=near, limit=limit, offset=offset,
    )  # fmt: skip
    # A read-only connection of the request (the fault service's own connection belongs to its
    # writer thread: sharing it let a list and a write interleave their transactions).
    store = FaultStore(db)
    response.headers[TOTAL_HEADER] = str(store.count(flt))
    found = store.find(flt)
    places = site_places(db, (f.site for f in found))
    return [_public(f, places.get(f.site or ""), near) for f in found]


@router.get("/faults/figures", response_model=list[FiguresPublic], summary="Response figures: MTTA and MTTR per group")
def figures(
    caller: CallerDep,
    svc: FaultsDep,
    start: AwareDatetime,
    end: AwareDatetime,
    by: Literal["nation", "province", "district", "agency"] = "province",
) -> list[FiguresPublic]:
    """MTTA and MTTR of faults opened in [start, end), per group, in the caller's provinces."""
    rows = response_figures(svc.store.opened_between(start, end, scope_of(caller)), start, end, by)
    return [FiguresPublic.model_validate(dataclasses.asdict(r)) for r in rows]


@router.get("/faults/{fault_id}", response_model=FaultDetail, summary="One fault with its history")
def get_fault(caller: CallerDep, svc: FaultsDep, fault_id: FaultId) -> FaultDetail:
    """One fault with its full history; 404 when unknown or outside the caller's provinces."""
    fault = _visible_fault(svc, caller, fault_id)
    history = [FaultStep.model_validate(step) for step in svc.store.history(fault_id)]
    return FaultDetail.model_validate({**fault_row(fault), "assignee": fault.acknowledged_by, "history": history})


@router.post("/faults/{fault_id}/acknowledge", response_model=FaultPublic, summary="Acknowledge a fault",
             responses=_CONFLICT)  # fmt: skip
def acknowledge(caller: TechnicianDep, svc: FaultsDep, fault_id: FaultId) -> FaultPublic:
    """Take the fault on: escalation stops. Technicians and administrators, in their provinces."""
    _visible_fault(svc, caller, fault_id)
    try:
        return _public(svc.acknowledge(fault_id, acting_name(caller)))
    except (FaultNotFound, FaultStateError) as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err


@router.post("/faults/{fault_id}/assign", response_model=FaultPublic, summary="Give a fault to a technician",
             responses=_CONFLICT)  # fmt: skip
def assign(caller: TechnicianDep, svc: FaultsDep, fault_id: FaultId, body: AssignBody) -> FaultPublic:
    """Assign to me (no assignee) or to a named technician. An open fault is taken on in the
    assignee's name (escalation stops); an acknowledged one changes hands. Technicians and
    administrators, in their provinces; 409 for a closed fault."""
    _visible_fault(svc, caller, fault_id)
    assignee = (body.assignee or "").strip()[:100] or acting_name(caller)
    try:
        return _public(svc.assign(fault_id, acting_name(caller), assignee))
    except (FaultNotFound, FaultStateError) as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err


@router.post("/faults/{fault_id}/resolve", response_model=FaultPublic, summary="Resolve a fault with a repair note",
             responses=_CONFLICT)  # fmt: skip
def resolve(caller: TechnicianDep, svc: FaultsDep, fault_id: FaultId, repair: RepairBody) -> FaultPublic:
    """Resolve with a repair note, or close as won't-fix. Technicians and administrators, in their provinces.

    Resolving is refused (409, "camera C is still degraded (no_video)") while the camera is not
    up or the site is still offline; closing as won't-fix is not."""
    _visible_fault(svc, caller, fault_id)
    note = RepairNote(repair.done, repair.parts, repair.cost)
    try:
        return _public(svc.resolve(fault_id, acting_name(caller), note, wont_fix=repair.wont_fix))
    except (FaultNotFound, FaultStateError) as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
