"""Cameras: list with filters, sorting and pages; one camera with its transitions and fault."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from aggregator.api.common import AgencyQ, TextQ, check_district, check_province, like_prefix, when
from aggregator.api.deps import CallerDep, ContextDep, DbDep, visible_provinces
from aggregator.api.schemas import CameraDetail, CameraPublic, Page, TransitionPublic
from aggregator.availability import Window
from aggregator.days import day_of, day_start, day_to_date, from_ms, to_ms
from aggregator.states import STATE_CODE, STATES
from aggregator.store import camera_log
from aggregator.store.rollups import camera_totals
from protocol import CameraState, Reason

__all__ = ["CameraSort", "router"]

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])

SiteIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Site id")]
CameraIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="Stable camera id")]


class CameraSort(StrEnum):
    """Allowed sort keys (prefix '-' for descending)."""

    CAMERA_ID = "camera_id"
    SITE_ID = "site_id"
    PROVINCE = "province"
    STATE = "state"
    SINCE = "since"
    SINCE_DESC = "-since"
    MAKER = "maker"
    FIRMWARE = "firmware"


_ORDER = {
    CameraSort.CAMERA_ID: "c.camera_id, s.site_id", CameraSort.SITE_ID: "s.site_id, c.camera_id",
    CameraSort.PROVINCE: "s.province, s.district, s.site_id, c.camera_id", CameraSort.STATE: "st.state DESC, c.id",
    CameraSort.SINCE: "st.since_ms, c.id", CameraSort.SINCE_DESC: "st.since_ms DESC, c.id",
    CameraSort.MAKER: "c.maker, c.model, c.id", CameraSort.FIRMWARE: "c.firmware, c.id",
}  # fmt: skip
_FROM = "FROM camera_inventory c JOIN camera_state st ON st.camera = c.id JOIN sites s ON s.id = c.site"
_LIST = (
    "s.site_id, c.camera_id, s.province, s.district, c.name, c.maker, c.model, c.firmware, c.agency, "
    "st.state, st.reason, st.since_ms, c.missing, c.last_seen_ms"
)
_DETAIL = _LIST + (
    ", c.serial, c.mac, c.address, c.video_source, c.stream_uri, c.width, c.height, c.fps, c.codec, "
    "c.first_seen_ms, c.lat, c.lon, c.id, s.last_seen_ms, st.tail_ms"
)


def _fields(r: Any, store: Any = None) -> dict[str, Any]:
    missing = bool(r[12])
    # the writer's memory is the current state; camera_state on disk may be up to a second behind
    now = store.current(r[0], r[1]) if store is not None else None
    if now is not None:
        r = (*r[:9], STATE_CODE[now[0]], now[1].value, to_ms(now[2]), *r[12:])
    return {
        "site_id": r[0], "camera_id": r[1], "province": r[2], "district": r[3], "name": r[4], "maker": r[5], "model": r[6],
        "firmware": r[7], "agency": r[8], "state": STATES[int(r[9])], "reason": r[10], "since": when(r[11]), "missing": missing,
        # a present camera was in its site's latest birth: it was last seen when the site was
        "last_seen": when(r[13] if missing else max(int(r[13]), int(r[-1] or 0))),
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
    where: list[str] = []
    params: list[Any] = []
    scope = visible_provinces(caller, province)
    if scope is not None:
        where.append(f"s.province IN ({','.join('?' * len(scope))})")
        params += scope
    filters = (("s.district", district), ("s.site_id", site_id), ("c.agency", agency), ("c.maker", maker),
               ("c.model", model), ("c.firmware", firmware), ("st.reason", reason.value if reason else None))  # fmt: skip
    # With an area filter, reach cameras through their sites (a province is ~1% of the country);
    # the unary + keeps SQLite from preferring the national maker index instead.
    local = scope is not None or district is not None or site_id is not None
    for column, value in filters:
        if value is not None:
            where.append(f"+{column} = ?" if local and column.startswith("c.") else f"{column} = ?")
            params.append(value)
    if state is not None:
        where.append("st.state = ?")
        params.append(STATE_CODE[state])
    if missing is not None:
        where.append("c.missing = ?")
        params.append(int(missing))
    if q is not None:
        like = like_prefix(q)
        where.append("(c.camera_id LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\' OR c.serial LIKE ? ESCAPE '\\')")
        params += [like, like, like]
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    total = db.execute(f"SELECT COUNT(*) {_FROM} {clause}", params).fetchone()[0]
    rows = db.execute(
        f"SELECT {_LIST}, s.last_seen_ms {_FROM} {clause} ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return Page[CameraPublic](total=total, limit=limit, offset=offset, items=[CameraPublic(**_fields(r, ctx.store)) for r in rows])


@router.get("/{site_id}/{camera_id}", response_model=CameraDetail, summary="One camera with its history")
def get_camera(
    site_id: SiteIdPath, camera_id: CameraIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep,
    transitions: Annotated[int, Query(ge=0, le=500, description="How many recent transitions")] = 50,
) -> CameraDetail:  # fmt: skip
    """A camera's inventory, current state, recent transitions and open fault; 404 when unknown or
    outside the token's provinces (the same answer, so a scope cannot be probed)."""
    r = db.execute(f"SELECT {_DETAIL} {_FROM} WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]).fetchone()
    if r is None or not caller.sees(r[2]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {site_id}/{camera_id} not found")
    rows = camera_log.latest(db, r[26], transitions, tail=r[28])
    history = [
        TransitionPublic(at=from_ms(t[0]), old_state=STATES[t[1]] if t[1] >= 0 else None, new_state=STATES[t[2]],
                         reason=t[3], historical=t[5])  # fmt: skip
        for t in rows
    ]
    fault = ctx.current_fault(site_id, camera_id) if ctx.current_fault else None
    return CameraDetail(
        **_fields(r, ctx.store), serial=r[14], mac=r[15], address=r[16], video_source=r[17], stream_uri=r[18], width=r[19],
        height=r[20], fps=r[21], codec=r[22], first_seen=when(r[23]), lat=r[24], lon=r[25], transitions=history,
        fault=fault,
    )  # fmt: skip


class DayPublic(BaseModel):
    """One Bangkok day of a camera."""

    date: date
    up_s: float
    degraded_s: float
    down_s: float
    unknown_s: float
    maintenance_s: float


@router.get("/{site_id}/{camera_id}/days", response_model=list[DayPublic], summary="A camera's last days, one bar each")
def camera_days(
    site_id: SiteIdPath, camera_id: CameraIdPath, db: DbDep, caller: CallerDep,
    days: Annotated[int, Query(ge=1, le=92, description="How many Bangkok days, ending today")] = 30,
) -> list[DayPublic]:  # fmt: skip
    """Seconds in each state per Bangkok day (today so far), oldest first."""
    row = db.execute(
        "SELECT c.id, s.province FROM camera_inventory c JOIN sites s ON s.id = c.site "
        "WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]).fetchone()  # fmt: skip
    if row is None or not caller.sees(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {site_id}/{camera_id} not found")
    now = to_ms(datetime.now(UTC))
    today = day_of(now)
    out = []
    for day in range(today - days + 1, today + 1):
        t = camera_totals(db, int(row[0]), Window(day_start(day), min(day_start(day + 1), now)))
        out.append(DayPublic(date=day_to_date(day), up_s=t.up_ms / 1000, degraded_s=t.degraded_ms / 1000,
                             down_s=t.down_ms / 1000, unknown_s=t.unknown_ms / 1000, maintenance_s=t.maint_ms / 1000))  # fmt: skip
    return out
