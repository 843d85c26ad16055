"""Site reads for the API: a filtered, sorted page of sites, one site, a site's province."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from aggregator.store.places import NEVER_CONNECTED
from aggregator.store.queries import in_provinces, like_prefix
from aggregator.store.state import StateStore

__all__ = ["SiteFilter", "SiteListing", "SiteSort", "find_sites", "get_site", "never_connected_count", "site_province",
           "site_totals"]


class SiteSort(StrEnum):
    """Allowed sort keys (prefix '-' for descending)."""

    SITE_ID = "site_id"
    SITE_ID_DESC = "-site_id"
    PROVINCE = "province"
    DISTRICT = "district"
    LAST_SEEN = "last_seen"
    LAST_SEEN_DESC = "-last_seen"
    NAME = "name"


_ORDER = {
    SiteSort.SITE_ID: "s.site_id", SiteSort.SITE_ID_DESC: "s.site_id DESC", SiteSort.PROVINCE: "s.province, s.site_id",
    SiteSort.DISTRICT: "s.district, s.site_id", SiteSort.LAST_SEEN: "s.last_seen_ms, s.site_id",
    SiteSort.LAST_SEEN_DESC: "s.last_seen_ms DESC, s.site_id", SiteSort.NAME: "s.name, s.site_id",
}  # fmt: skip
_COLUMNS = (
    "s.site_id, s.province, s.district, s.name, s.agency, s.lat, s.lon, s.agent_version, s.online, s.last_seen_ms, "
    "(SELECT COUNT(*) FROM camera_inventory c WHERE c.site = s.id), "
    "s.address, s.phone, s.enrolled_ms, s.first_seen_ms, s.place_by, s.place_ms, s.clock_skew, s.clock_offset_ms"
)


@dataclass(frozen=True, slots=True)
class SiteListing:
    """A site as lists show it, with its camera count."""

    site_id: str
    province: str
    district: str
    name: str
    agency: str
    lat: float | None
    lon: float | None
    agent_version: str
    online: bool
    last_seen_ms: int | None
    cameras: int
    address: str = ""
    phone: str = ""
    enrolled_ms: int | None = None
    first_seen_ms: int | None = None
    place_by: str = ""
    place_ms: int | None = None
    clock_skew: bool = False  # its clock is off by more than the tolerance (aggregator.store.clocks)
    clock_offset_ms: int | None = None  # the last measured offset (positive: the site is ahead)

    @property
    def never_connected(self) -> bool:
        """Enrolled and never sent a message (:mod:`aggregator.store.places`)."""
        return self.first_seen_ms is None


@dataclass(frozen=True, slots=True)
class SiteFilter:
    """What a site list asks for; ``provinces`` None means every province."""

    provinces: Sequence[str] | None = None
    district: str | None = None
    agency: str | None = None
    online: bool | None = None
    never_connected: bool | None = None
    q: str | None = None  # site id or name starts with
    sort: SiteSort = SiteSort.SITE_ID
    limit: int = 50
    offset: int = 0


def _listing(r: Sequence[Any], live: StateStore | None = None) -> SiteListing:
    # last_seen as the writer knows it now, the figure camera lists and the feed show too
    seen = live.site_last_seen_ms(r[0]) if live is not None else None
    return SiteListing(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9] if seen is None else seen,
                       int(r[10]), r[11], r[12], r[13], r[14], r[15], r[16],
                       bool(r[17]), r[18])  # fmt: skip


def find_sites(db: Database, flt: SiteFilter, live: StateStore | None = None) -> tuple[int, list[SiteListing]]:
    """The total matching ``flt`` and one page of them."""
    scope, params = in_provinces("s.province", flt.provinces)
    where: list[str] = [scope]
    args: list[Any] = list(params)
    for column, value in (("s.district", flt.district), ("s.agency", flt.agency)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if flt.online is not None:
        where.append("s.online = ?")
        args.append(int(flt.online))
    if flt.never_connected is not None:
        where.append(NEVER_CONNECTED if flt.never_connected else f"NOT ({NEVER_CONNECTED})")
    if flt.q is not None:
        where.append("(s.site_id LIKE ? ESCAPE '\\' OR s.name LIKE ? ESCAPE '\\')")
        args += [like_prefix(flt.q), like_prefix(flt.q)]
    clause = " AND ".join(where)
    total = int(db.execute(f"SELECT COUNT(*) FROM sites s WHERE {clause}", args).fetchone()[0])
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM sites s WHERE {clause} ORDER BY {_ORDER[flt.sort]} LIMIT ? OFFSET ?",
        [*args, flt.limit, flt.offset],
    ).fetchall()
    return total, [_listing(r, live) for r in rows]


def get_site(db: Database, site_id: str, live: StateStore | None = None) -> SiteListing | None:
    """One site, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM sites s WHERE s.site_id = ?", [site_id]).fetchone()
    return None if row is None else _listing(row, live)


def site_province(db: Database, site_id: str) -> str | None:
    """The province of a site, or None when there is no such site."""
    row = db.execute("SELECT province FROM sites WHERE site_id = ?", [site_id]).fetchone()
    return None if row is None else str(row[0])


def site_totals(db: Database) -> tuple[int, int]:
    """How many sites there are and how many are online."""
    sites, online = db.execute("SELECT COUNT(*), COALESCE(SUM(online), 0) FROM sites").fetchone()
    return int(sites), int(online)


def never_connected_count(db: Database, provinces: Sequence[str] | None = None) -> int:
    """How many sites (in ``provinces``, None: all) were enrolled and never connected."""
    scope, params = in_provinces("s.province", provinces)
    row = db.execute(f"SELECT COUNT(*) FROM sites s WHERE {scope} AND {NEVER_CONNECTED}", params).fetchone()
    return int(row[0])
