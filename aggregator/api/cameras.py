"""Cameras: list with filters, sorting and pages; one camera with its transitions and fault."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from aggregator.api.common import (
    AgencyQ,
    CameraIdPath,
    SiteIdPath,
    TextQ,
    check_district,
    check_province,
    when,
)
from aggregator.api.deps import CallerDep, ContextDep, DbDep, visible, visible_provinces
from aggregator.api.schemas import CameraDetail, CameraPublic, DayPublic, Page, TransitionPublic
from aggregator.api.schemas.faults import FaultPublic
from aggregator.availability import Window
from aggregator.days import day_of, day_start, day_to_date, from_ms, to_ms
from aggregator.states import STATES
from aggregator.store import camera_log
from aggregator.store.queries import cameras as queries
from aggregator.store.queries import recording as recording_queries
from aggregator.store.queries.cameras import CameraFilter, CameraListing, CameraSort
from aggregator.store.rollups import camera_totals
from protocol import CameraState, Reason

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])


def _public(c: CameraListing) -> dict[str, object]:
    return {
        "site_id": c.site_id, "camera_id": c.camera_id, "province": c.province, "district": c.district,
        "name": c.name, "maker": c.maker, "model": c.model, "firmware": c.firmware, "agency": c.agency,
        "state": c.state, "reason": c.reason, "since": when(c.since_ms), "missing": c.missing,
        "last_seen": when(c.last_seen_ms),
    }  # fmt: skip


def _recording(row: recording_queries.CameraRecordingRow | None, db: DbDep | None = None,
               site_id: str = "") -> dict[str, object] | None:
    """A camera's recording line; with ``db``, its recorder's storage too (one camera's detail)."""
    if row is None:
        return None
    storage = None
    if db is not None:
        found = [r for r in recording_queries.recorders_of_site(db, site_id) if r.recorder == row.recorder]
        if found:
            g = found[0]
            storage = {"recorder": g.recorder, "status": g.status, "free_bytes": g.free_bytes,
                       "total_bytes": g.total_bytes, "detail": g.detail, "updated": from_ms(g.updated_ms)}
    return {
        "recorder": row.recorder, "newest": when(row.newest_ms), "oldest": when(row.oldest_ms),
        "required_days": row.required_days,
        "kept_days": row.kept_days, "compliant": row.compliant, "updated": from_ms(row.updated_ms), "storage": storage,
    }  # fmt: skip


@router.get("", response_model=Page[CameraPublic], summary="Cameras, filtered, sorted and paged")
def list_cameras(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    province: Annotated[str | None, Query(pattern=r"^[1-9][0-9]$", description="DOPA province code")] = None,
    district: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$", description="DOPA district code")] = None,
    site_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = None,
    agency: AgencyQ = None,
    state: CameraState | None = None,
    reason: Reason | None = None,
    maker: TextQ = None,
    model: TextQ = None,
    firmware: TextQ = None,
    missing: bool | None = None,
    q: Annotated[str | None, Query(pattern=r"^[\w .:-]{1,64}$", description="Camera id, name or serial starts with")] = None,
    sort: Annotated[CameraSort, Query(description="One of the allowed keys")] = CameraSort.SITE_ID,
    limit: Annotated[int, Query(ge=1, description="Page size, at most the server's max_page_size")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[CameraPublic]:  # fmt: skip
    """Cameras the token may see. Unknown codes, states, reasons, sort keys or odd characters give 422."""
    if limit > ctx.settings.max_page_size:
        raise HTTPException(422, f"limit: at most {ctx.settings.max_page_size}")
    check_province(ctx, province)
    check_district(ctx, district, province)
    flt = CameraFilter(
        provinces=visible_provinces(caller, province), district=district, site_id=site_id, agency=agency, maker=maker,
        model=model, firmware=firmware, reason=reason.value if reason else None, state=state, missing=missing, q=q,
        sort=sort, limit=limit, offset=offset,
    )  # fmt: skip
    total, cameras = queries.find_cameras(db, flt, ctx.store)
    recorded = recording_queries.recording_for(db, [(c.site_id, c.camera_id) for c in cameras])
    return Page[CameraPublic](total=total, limit=limit, offset=offset, items=[
        CameraPublic.model_validate({**_public(c), "recording": _recording(recorded.get((c.site_id, c.camera_id)))})
        for c in cameras])  # fmt: skip


@router.get("/{site_id}/{camera_id}", response_model=CameraDetail, summary="One camera with its history")
def get_camera(
    site_id: SiteIdPath, camera_id: CameraIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep,
    transitions: Annotated[int, Query(ge=0, le=500, description="How many recent transitions")] = 50,
) -> CameraDetail:  # fmt: skip
    """A camera's inventory, current state, recent transitions and open fault; 404 when unknown or
    outside the token's provinces (the same answer, so a scope cannot be probed)."""
    cam = visible(caller, queries.get_camera(db, site_id, camera_id, ctx.store), f"camera {site_id}/{camera_id}")
    history = [
        TransitionPublic(at=from_ms(t[0]), old_state=STATES[t[1]] if t[1] >= 0 else None, new_state=STATES[t[2]],
                         reason=t[3], historical=t[5])  # fmt: skip
        for t in camera_log.latest(db, cam.row_id, transitions, tail=cam.tail_ms)
    ]
    fault = ctx.faults.current_fault(site_id, camera_id) if ctx.faults is not None else None
    return CameraDetail.model_validate({
        **_public(cam.listing), "serial": cam.serial, "mac": cam.mac, "address": cam.address,
        "video_source": cam.video_source, "stream_uri": cam.stream_uri, "width": cam.width, "height": cam.height,
        "fps": cam.fps, "codec": cam.codec, "first_seen": when(cam.first_seen_ms), "lat": cam.lat, "lon": cam.lon,
        "transitions": history, "fault": FaultPublic.model_validate(fault) if fault is not None else None,
        "recording": _recording(recording_queries.camera_recording(db, site_id, camera_id), db, site_id),
    })  # fmt: skip


@router.get("/{site_id}/{camera_id}/days", response_model=list[DayPublic], summary="A camera's last days, one bar each")
def camera_days(
    site_id: SiteIdPath, camera_id: CameraIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep,
    days: Annotated[int, Query(ge=1, le=92, description="How many Bangkok days, ending today")] = 30,
) -> list[DayPublic]:  # fmt: skip
    """Seconds in each state per Bangkok day (today so far), oldest first."""
    ref = visible(caller, queries.camera_ref(db, site_id, camera_id), f"camera {site_id}/{camera_id}")
    now = to_ms(ctx.clock())
    today = day_of(now)
    out = []
    for day in range(today - days + 1, today + 1):
        t = camera_totals(db, ref.row_id, Window(day_start(day), min(day_start(day + 1), now)))
        out.append(DayPublic(date=day_to_date(day), up_s=t.up_ms / 1000, degraded_s=t.degraded_ms / 1000,
                             down_s=t.down_ms / 1000, unknown_s=t.unknown_ms / 1000, maintenance_s=t.maint_ms / 1000))  # fmt: skip
    return out
