"""Maintenance windows: list (within the caller's provinces), plan and cancel (technicians).

A window's province is its target's (a district, site or camera); a target outside the
caller's provinces is 404, as if absent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from aggregator.api.bodies import technician_body
from aggregator.api.deps import CallerDep, FaultsDep, TechnicianDep, ensure_visible
from aggregator.api.faults import MAX_ID, acting_name
from aggregator.api.schemas.faults import WindowPublic
from aggregator.auth import Principal
from aggregator.faults.service import FaultService
from aggregator.faults.store import target_province
from aggregator.store.maintenance import MaintenanceWindow, TargetKind, WindowSpec

__all__ = ["router"]

WindowId = Annotated[int, Path(ge=1, le=MAX_ID, description="Maintenance window id")]
WindowBody = Annotated[WindowSpec, Depends(technician_body(WindowSpec))]
router = APIRouter(prefix="/api/v1", tags=["faults"])


def _public(window: MaintenanceWindow) -> WindowPublic:
    return WindowPublic.model_validate(window.as_dict())


def _ensure_target(svc: FaultService, caller: Principal, kind: TargetKind, target: str) -> None:
    ensure_visible(caller, target_province(svc.db, kind, target), f"{kind.value} {target}")


@router.get("/maintenance", response_model=list[WindowPublic], summary="Maintenance windows")
def list_windows(caller: CallerDep, svc: FaultsDep) -> list[WindowPublic]:
    """Maintenance windows (unscoped tokens see all; others those in their provinces)."""
    windows = svc.calendar.windows()
    if caller.provinces:
        windows = [w for w in windows if (p := target_province(svc.db, w.target_kind, w.target_id)) and caller.sees(p)]
    return [_public(w) for w in windows]


@router.post("/maintenance", response_model=WindowPublic, status_code=status.HTTP_201_CREATED,
             summary="Plan a maintenance window")  # fmt: skip
def add_window(caller: TechnicianDep, svc: FaultsDep, spec: WindowBody) -> WindowPublic:
    """Plan a maintenance window (one-off or weekly) for a camera, site or district in the caller's provinces."""
    _ensure_target(svc, caller, spec.target_kind, spec.target_id)
    spec = spec.model_copy(update={"created_by": acting_name(caller)})
    return _public(svc.calendar.add(spec, svc.clock()))


@router.delete("/maintenance/{window_id}", status_code=status.HTTP_204_NO_CONTENT, response_model=None,
               summary="Cancel a maintenance window")  # fmt: skip
def delete_window(caller: TechnicianDep, svc: FaultsDep, window_id: WindowId) -> None:
    """Cancel a maintenance window in the caller's provinces."""
    window = svc.calendar.get(window_id)
    province = target_province(svc.db, window.target_kind, window.target_id) if window is not None else None
    ensure_visible(caller, province, f"window {window_id}")
    svc.calendar.delete(window_id)
