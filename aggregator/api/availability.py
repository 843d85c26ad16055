"""Availability for any level (nation to camera) and any window."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import AwareDatetime

from aggregator.api.common import CameraIdPath, SiteIdPath, check_district, check_province
from aggregator.api.deps import (
    CallerDep,
    ContextDep,
    DbDep,
    ensure_visible,
    require_national,
    scope_of,
    visible,
)
from aggregator.api.schemas import AvailabilityPublic
from aggregator.api.schemas.availability import ProvincesAvailabilityPublic
from aggregator.availability import Window, WindowKind, resolve_window
from aggregator.days import from_ms, to_ms
from aggregator.store.queries.availability import province_totals
from aggregator.store.queries.cameras import camera_ref
from aggregator.store.queries.sites import site_province
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


def _province_of(ctx: ContextDep, db: DbDep, level: Level, key: str) -> str | None:
    """The province of a province, district or site key (422 for an unknown code, None for an unknown site)."""
    if level is Level.PROVINCE:
        check_province(ctx, key)
        return key
    if level is Level.DISTRICT:
        check_district(ctx, key)
        return ctx.geography.districts[key].province
    return site_province(db, key)


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
    if level in (Level.NATION, Level.AGENCY):
        require_national(caller)
    else:
        ensure_visible(caller, _province_of(ctx, db, level, str(key)), f"{level.value} {key}")
    now = ctx.clock()
    w = _window(window, month, start, end, now)
    totals = rollup_totals(db, level, key, w, now_ms=to_ms(now))
    return AvailabilityPublic.of(level.value, key, from_ms(w.start_ms), from_ms(w.end_ms), totals)


@router.get("/provinces", response_model=ProvincesAvailabilityPublic,
            summary="Availability of every province in scope over one window")
def provinces_availability(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    window: WindowQ = WindowKind.LAST_24H, month: MonthQ = None, start: TimeQ = None, end: TimeQ = None,
) -> ProvincesAvailabilityPublic:  # fmt: skip
    """Every province the token may see (all of them for a national token), each with exactly
    the figures of ``level=province``, and the nation's for a national token: the console's
    period picker in one request instead of one per province."""
    now = ctx.clock()
    w = _window(window, month, start, end, now)
    scope = scope_of(caller)
    codes = sorted(ctx.geography.provinces) if scope is None else sorted(scope)
    totals = province_totals(db, codes, w)
    a, b = from_ms(w.start_ms), from_ms(w.end_ms)
    nation = None
    if scope is None:
        nation = AvailabilityPublic.of("nation", None, a, b, rollup_totals(db, Level.NATION, None, w, now_ms=to_ms(now)))
    return ProvincesAvailabilityPublic(start=a, end=b, nation=nation,
                                       provinces={c: AvailabilityPublic.of("province", c, a, b, t) for c, t in totals.items()})


@router.get("/cameras/{site_id}/{camera_id}", response_model=AvailabilityPublic, summary="Availability of one camera")
def camera_availability(
    site_id: SiteIdPath, camera_id: CameraIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep,
    window: WindowQ = WindowKind.LAST_24H, month: MonthQ = None, start: TimeQ = None, end: TimeQ = None,
) -> AvailabilityPublic:  # fmt: skip
    """Exact availability of one camera from its own transitions; 404 outside the token's provinces.
    A window reaching before the first kept day of camera history is measured from that day
    (``history_from`` in the answer)."""
    ref = visible(caller, camera_ref(db, site_id, camera_id), f"camera {site_id}/{camera_id}")
    w = _window(window, month, start, end, ctx.clock())
    totals = camera_totals(db, ref.row_id, w)
    return AvailabilityPublic.of("camera", f"{site_id}/{camera_id}", from_ms(w.start_ms), from_ms(w.end_ms), totals,
                                 history_from=kept_from(db, w.start_ms))  # fmt: skip
