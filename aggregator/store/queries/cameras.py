"""Camera reads for the API: a filtered, sorted page, one camera's detail, a camera's row id.

The current state comes from the writer's memory when the API runs in its process (the
``camera_state`` rows on disk may be up to a second behind), else from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from aggregator.days import to_ms
from aggregator.states import STATE_CODE, STATES
from aggregator.store.queries import in_provinces, like_prefix
from aggregator.store.state import StateStore
from protocol import CameraState

__all__ = [
    "CameraDetail",
    "CameraFilter",
    "CameraListing",
    "CameraRef",
    "CameraSort",
    "camera_ref",
    "find_cameras",
    "get_camera",
]


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
    "st.state, st.reason, st.since_ms, c.missing, c.last_seen_ms, s.last_seen_ms"
)
_DETAIL = _LIST + (
    ", c.serial, c.mac, c.address, c.video_source, c.stream_uri, c.width, c.height, c.fps, c.codec, "
    "c.first_seen_ms, c.lat, c.lon, c.id, st.tail_ms"
)


@dataclass(frozen=True, slots=True)
class CameraListing:
    """A camera as lists show it."""

    site_id: str
    camera_id: str
    province: str
    district: str
    name: str
    maker: str
    model: str
    firmware: str
    agency: str
    state: CameraState
    reason: str
    since_ms: int
    missing: bool
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class CameraDetail:
    """A camera with its inventory and row id."""

    listing: CameraListing
    serial: str
    mac: str
    address: str
    video_source: str
    stream_uri: str
    width: int | None
    height: int | None
    fps: float | None
    codec: str
    first_seen_ms: int
    lat: float | None
    lon: float | None
    row_id: int
    tail_ms: int | None

    @property
    def province(self) -> str:
        """The camera's province."""
        return self.listing.province


@dataclass(frozen=True, slots=True)
class CameraRef:
    """Where a camera is: its row id, province and the start of its open interval."""

    row_id: int
    province: str
    tail_ms: int | None


@dataclass(frozen=True, slots=True)
class CameraFilter:
    """What a camera list asks for; ``provinces`` None means every province."""

    provinces: Sequence[str] | None = None
    district: str | None = None
    site_id: str | None = None
    agency: str | None = None
    maker: str | None = None
    model: str | None = None
    firmware: str | None = None
    reason: str | None = None
    state: CameraState | None = None
    missing: bool | None = None
    q: str | None = None  # camera id, name or serial starts with
    sort: CameraSort = CameraSort.SITE_ID
    limit: int = 50
    offset: int = 0


def camera_last_seen(own_ms: int, missing: bool, site_ms: int | None) -> int:
    """The one definition of a camera's last_seen (lists, detail, site and feed agree): a present
    camera was in its site's latest birth, so it was last seen when its site was; a missing one
    when it went missing (its own row). ``site_ms`` is the writer's figure when it runs."""
    return own_ms if missing else max(own_ms, int(site_ms or 0))


def _listing(r: Sequence[Any], live: StateStore | None) -> CameraListing:
    state, reason, since = STATES[int(r[9])], str(r[10]), int(r[11])
    now = live.current(r[0], r[1]) if live is not None else None
    if now is not None:
        state, reason, since = now[0], now[1].value, to_ms(now[2])
    missing = bool(r[12])
    site_seen = live.site_last_seen_ms(r[0]) if live is not None else None
    last_seen = camera_last_seen(int(r[13]), missing, site_seen if site_seen is not None else r[14])
    return CameraListing(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], state, reason, since, missing, last_seen)


def _where(flt: CameraFilter) -> tuple[str, list[Any]]:
    scope, params = in_provinces("s.province", flt.provinces)
    where = [scope] if flt.provinces is not None else []
    args: list[Any] = list(params)
    filters = (("s.district", flt.district), ("s.site_id", flt.site_id), ("c.agency", flt.agency), ("c.maker", flt.maker),
               ("c.model", flt.model), ("c.firmware", flt.firmware), ("st.reason", flt.reason))  # fmt: skip
    # With an area filter, reach cameras through their sites (a province is ~1% of the country);
    # the unary + keeps SQLite from preferring the national maker index instead.
    local = flt.provinces is not None or flt.district is not None or flt.site_id is not None
    for column, value in filters:
        if value is not None:
            where.append(f"+{column} = ?" if local and column.startswith("c.") else f"{column} = ?")
            args.append(value)
    if flt.state is not None:
        where.append("st.state = ?")
        args.append(STATE_CODE[flt.state])
    if flt.missing is not None:
        where.append("c.missing = ?")
        args.append(int(flt.missing))
    if flt.q is not None:
        like = like_prefix(flt.q)
        where.append("(c.camera_id LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\' OR c.serial LIKE ? ESCAPE '\\')")
        args += [like, like, like]
    return ("WHERE " + " AND ".join(where)) if where else "", args


def find_cameras(db: Database, flt: CameraFilter, live: StateStore | None = None) -> tuple[int, list[CameraListing]]:
    """The total matching ``flt`` and one page of them."""
    clause, args = _where(flt)
    total = int(db.execute(f"SELECT COUNT(*) {_FROM} {clause}", args).fetchone()[0])
    rows = db.execute(
        f"SELECT {_LIST} {_FROM} {clause} ORDER BY {_ORDER[flt.sort]} LIMIT ? OFFSET ?", [*args, flt.limit, flt.offset]
    ).fetchall()
    return total, [_listing(r, live) for r in rows]


def get_camera(db: Database, site_id: str, camera_id: str, live: StateStore | None = None) -> CameraDetail | None:
    """One camera with its inventory, or None."""
    r = db.execute(f"SELECT {_DETAIL} {_FROM} WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]).fetchone()
    if r is None:
        return None
    return CameraDetail(_listing(r, live), serial=r[15], mac=r[16], address=r[17], video_source=r[18], stream_uri=r[19],
                        width=r[20], height=r[21], fps=r[22], codec=r[23], first_seen_ms=r[24], lat=r[25], lon=r[26],
                        row_id=int(r[27]), tail_ms=r[28])  # fmt: skip


def camera_ref(db: Database, site_id: str, camera_id: str) -> CameraRef | None:
    """A camera's row id, province and open-interval start, or None when there is no such camera."""
    row = db.execute(
        "SELECT c.id, s.province, st.tail_ms FROM camera_inventory c JOIN sites s ON s.id = c.site "
        "LEFT JOIN camera_state st ON st.camera = c.id WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]
    ).fetchone()  # fmt: skip
    return None if row is None else CameraRef(int(row[0]), str(row[1]), row[2])
