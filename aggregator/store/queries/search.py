"""The header's global search: cameras by id, serial or IP, sites by id or name, and the
places a fault card shows (a site's name, address and position) for a page of faults.

Cameras are matched by prefix on indexed columns (``camera_id``, and ``serial`` and
``address`` through :func:`migrate_search`'s indexes), so a search over a million cameras
reads a few index pages, not the table. Sites (tens of thousands) are matched by prefix of
id or name, districts by name in memory (the geography), by the route.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from aggregator.store.queries import in_provinces, like_prefix

__all__ = ["CameraHit", "SiteHit", "SitePlace", "find_cameras", "find_sites", "migrate_search", "site_places"]

# Above every character a serial, IP or id may hold: "q <= value < q + _TOP" is "starts with q".
_TOP = "\U0010ffff"


def migrate_search(db: Database) -> None:
    """Index the camera columns the header search matches by prefix, and the open faults the
    queue reads (a partial index: only open and acknowledged faults, in the queue's order, with
    ``parent_id`` so the queue's count reads the index alone, however many closed faults the
    table keeps)."""
    db.execute("CREATE INDEX IF NOT EXISTS cameras_serial ON camera_inventory(serial COLLATE NOCASE) WHERE serial != ''")
    db.execute(
        "CREATE INDEX IF NOT EXISTS cameras_address ON camera_inventory(address COLLATE NOCASE) WHERE address != ''"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS faults_queue ON faults(opened_at, id, parent_id) "
        "WHERE status IN ('open', 'acknowledged')"
    )


@dataclass(frozen=True, slots=True)
class CameraHit:
    """A camera the search found, and which of its fields matched."""

    site_id: str
    camera_id: str
    name: str
    serial: str
    ip: str
    province: str
    district: str
    matched: str  # "camera_id", "serial" or "ip"


@dataclass(frozen=True, slots=True)
class SiteHit:
    """A site the search found."""

    site_id: str
    name: str
    province: str
    district: str
    address: str


@dataclass(frozen=True, slots=True)
class SitePlace:
    """What a fault card shows about where its site is."""

    name: str
    address: str
    lat: float | None
    lon: float | None
    phone: str


def _variants(q: str) -> list[str]:
    return list(dict.fromkeys([q, q.upper(), q.lower()]))


def find_cameras(db: Database, q: str, provinces: Sequence[str] | None, limit: int) -> list[CameraHit]:
    """Cameras whose id (as typed, upper or lower case), serial or IP address (any case) starts
    with ``q``."""
    scope, scope_params = in_provinces("s.province", provinces)
    hits: dict[tuple[str, str], CameraHit] = {}
    searches = [("camera_id", "camera_id", "", variant) for variant in _variants(q)]
    searches += [("serial", "serial", " COLLATE NOCASE", q), ("address", "ip", " COLLATE NOCASE", q)]
    for column, label, collate, variant in searches:
        extra = f" AND c.{column} != ''" if column != "camera_id" else ""
        sql = (
            "SELECT s.site_id, c.camera_id, c.name, c.serial, c.address, s.province, s.district "
            "FROM camera_inventory c JOIN sites s ON s.id = c.site "
            f"WHERE c.{column} >= ?{collate} AND c.{column} < ?{collate}{extra} AND {scope} "
            f"ORDER BY c.{column}{collate} LIMIT ?"
        )
        for r in db.execute(sql, [variant, variant + _TOP, *scope_params, limit]).fetchall():
            key = (str(r[0]), str(r[1]))
            if key not in hits:
                hits[key] = CameraHit(str(r[0]), str(r[1]), r[2] or "", r[3] or "", r[4] or "", str(r[5]),
                                      str(r[6]), label)  # fmt: skip
        if len(hits) >= limit:
            return list(hits.values())[:limit]
    return list(hits.values())


def find_sites(db: Database, q: str, provinces: Sequence[str] | None, limit: int) -> list[SiteHit]:
    """Sites whose id or name starts with ``q``, or whose name contains it."""
    scope, scope_params = in_provinces("province", provinces)
    pattern = like_prefix(q)
    sql = (
        "SELECT site_id, name, province, district, address FROM sites "
        f"WHERE (site_id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\') AND {scope} "
        "ORDER BY site_id LIMIT ?"
    )
    rows = db.execute(sql, [pattern, pattern, "%" + pattern, *scope_params, limit]).fetchall()
    return [SiteHit(str(r[0]), r[1] or "", str(r[2]), str(r[3]), r[4] or "") for r in rows]


def site_places(db: Database, site_ids: Iterable[str | None]) -> dict[str, SitePlace]:
    """The place of each named site (for a page of fault cards), by site id."""
    ids = sorted({s for s in site_ids if s})
    if not ids:
        return {}
    sql = f"SELECT site_id, name, address, lat, lon, phone FROM sites WHERE site_id IN ({','.join('?' * len(ids))})"
    return {str(r[0]): SitePlace(r[1] or "", r[2] or "", r[3], r[4], r[5] or "") for r in db.execute(sql, ids).fetchall()}
