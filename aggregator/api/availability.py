"""Availability for any level (nation to camera) and any window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime

from aggregator.api.cameras import CameraIdPath, SiteIdPath
from aggregator.api.common import check_district, check_province
from aggregator.api.deps import CallerDep, ContextDep, DbDep
from aggregator.api.schemas import AvailabilityPublic
from aggregator.availability import Window, WindowKind, resolve_window
from aggregator.days import from_ms, to_ms
from aggregator.store.retention import kept_from
from aggregator.store.rollups import Level, camera_totals, rollup_totals

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/availability", tags=["availability"])
_KEY = r"^[\w .,+/()-]{1,100}$"
# A custom window longer than this is a report, not an API call (reports/ handles months).
_MAX_WINDOW_DAYS = 400


def _window(
    window: WindowKind, month: str | None, start: datetime | None, end: datetime | None, now: datetime
) -> Window:
    try:
        w = resolve_window(window, now, start=start, end=end, month=month)
    except ValueError as err:
        raise HTTPException(422, str(err)) from err
    if w.end_ms - w.start_ms > _MAX_WINDOW_DAYS * 86_400_000:
        raise HTTPException(422, f"window: at most {_MAX_WINDOW_DAYS} days")
    return w


WindowQ = Annotated[WindowKind, Query(description="last_hour, last_24h, last_7d, last_30d, today, month or custom")]
MonthQ = Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (Bangkok) for window=month")]
TimeQ = Annotated[AwareDatetime | None, Query(description="UTC instant, for window=custom")]


@router.get("", response_model=AvailabilityPublic, summary="Availability of an area over a window")
def area_availability(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    level: Annotated[Level, Query(description="nation, province, district, agency or site")] = Level.NATION,
    key: Annotated[str | None, Query(pattern=_KEY, description="Province/district code, agency name or site id")] = None,
    window: WindowQ = WindowKind.LAST_24H, month: MonthQ = None, start: TimeQ = None, end: TimeQ = None,
) -> AvailabilityPublic:  # fmt: skip
    """Exact availability from transition times: whole days from daily totals, partial days from
    transitions. Scoped tokens may ask their provinces, districts and sites only."""
    if level is Level.NATION:
        key = None
    elif key is None:
        raise HTTPException(422, f"key is required for level {level.value}")
    if level in (Level.NATION, Level.AGENCY) and caller.provinces:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token is limited to some provinces")
    if level is Level.PROVINCE:
        check_province(ctx, key)
        province = key
    elif level is Level.DISTRICT:
        check_district(ctx, key)
        province = ctx.geography.districts[str(key)].province
    elif level is Level.SITE:
        row = db.execute("SELECT province FROM sites WHERE site_id = ?", [key]).fetchone()
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"site {key} not found")
        province = row[0]
    else:
        province = None
    if province is not None and not caller.sees(province):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{level.value} {key} not found")
    now = datetime.now(UTC)
    w = _window(window, month, start, end, now)
    totals = rollup_totals(db, level, key, w, live=ctx.store, now_ms=to_ms(now))
    return AvailabilityPublic.of(level.value, key, from_ms(w.start_ms), from_ms(w.end_ms), totals)


@router.get("/cameras/{site_id}/{camera_id}", response_model=AvailabilityPublic, summary="Availability of one camera")
def camera_availability(
    site_id: SiteIdPath, camera_id: CameraIdPath, db: DbDep, caller: CallerDep,
    window: WindowQ = WindowKind.LAST_24H, month: MonthQ = None, start: TimeQ = None, end: TimeQ = None,
) -> AvailabilityPublic:  # fmt: skip
    """Exact availability of one camera from its own transitions; 404 outside the token's provinces.
    A window reaching before the first kept day of camera history is measured from that day
    (``history_from`` in the answer)."""
    row = db.execute(
        "SELECT c.id, s.province FROM camera_inventory c JOIN sites s ON s.id = c.site "
        "WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]).fetchone()  # fmt: skip
    if row is None or not caller.sees(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {site_id}/{camera_id} not found")
    w = _window(window, month, start, end, datetime.now(UTC))
    totals = camera_totals(db, int(row[0]), w)
    return AvailabilityPublic.of("camera", f"{site_id}/{camera_id}", from_ms(w.start_ms), from_ms(w.end_ms), totals,
                                 history_from=kept_from(db, w.start_ms))  # fmt: skip
