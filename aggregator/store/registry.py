"""Registry of sites and cameras: the SQL that writes and reads the ``sites`` and ``cameras`` tables.

Births and events keep it current (through :class:`~aggregator.store.state.StateStore`, the one
writer); a camera absent from its site's birth is marked ``missing``, never deleted. Other
helpers (ingest, audit) read it with :func:`get_site` and :func:`get_camera`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from protocol import CameraInventory

__all__ = [
    "INVENTORY_COLUMNS",
    "CameraRow",
    "SiteRow",
    "get_camera",
    "get_site",
    "insert_cameras",
    "insert_site",
    "inventory_values",
    "iter_cameras",
    "iter_sites",
    "set_missing",
    "update_inventory",
    "update_site",
]

# Inventory fields of a camera, in the order of :func:`inventory_values`.
INVENTORY_COLUMNS = (
    "name", "maker", "model", "firmware", "serial", "hardware_id", "mac", "address",
    "onvif_port", "video_source", "stream_uri", "snapshot_uri", "width", "height", "fps",
    "codec", "clock_offset_s", "default_password",
)  # fmt: skip

SITE_COLUMNS = (
    "id", "site_id", "province", "district", "name", "lat", "lon", "agency", "agent_version",
    "bd_seq", "last_event_id", "first_seen_ms", "last_seen_ms", "heartbeat_interval_s", "online",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SiteRow:
    """One site as stored."""

    id: int
    site_id: str
    province: str
    district: str
    name: str
    lat: float | None
    lon: float | None
    agency: str
    agent_version: str
    bd_seq: int | None
    last_event_id: int
    first_seen_ms: int | None
    last_seen_ms: int | None
    heartbeat_interval_s: int
    online: bool


@dataclass(frozen=True, slots=True)
class CameraRow:
    """One camera as stored (inventory plus current state)."""

    id: int
    site: int
    camera_id: str
    inventory: dict[str, Any]
    first_seen_ms: int
    last_seen_ms: int
    missing: bool
    state: int
    reason: str
    since_ms: int


def inventory_values(name: str, inv: CameraInventory) -> tuple[Any, ...]:
    """The camera's inventory as column values in :data:`INVENTORY_COLUMNS` order."""
    return (
        name, inv.maker, inv.model, inv.firmware, inv.serial, inv.hardware_id, inv.mac,
        inv.address, inv.onvif_port, inv.video_source, inv.stream_uri, inv.snapshot_uri,
        inv.width, inv.height, inv.fps, inv.codec, inv.clock_offset_s,
        None if inv.default_password is None else int(inv.default_password),
    )  # fmt: skip


def _site(row: Sequence[Any]) -> SiteRow:
    values = list(row)
    values[-1] = bool(values[-1])
    return SiteRow(*values)


def get_site(db: Database, site_id: str) -> SiteRow | None:
    """The site called ``site_id`` (with its province and district), or None if unknown."""
    row = db.execute(
        f"SELECT {', '.join(SITE_COLUMNS)} FROM sites WHERE site_id = ?", [site_id]
    ).fetchone()
    return _site(row) if row else None


def iter_sites(db: Database) -> Iterator[SiteRow]:
    """Every site, by id."""
    for row in db.execute(f"SELECT {', '.join(SITE_COLUMNS)} FROM sites ORDER BY id"):
        yield _site(row)


def insert_site(db: Database, site_id: str, province: str, district: str, *, now_ms: int, seen: bool = True) -> int:
    """Register a site (province and district already validated); return its row id.

    ``seen`` False (enrolment): the site has sent nothing yet, so first and last seen stay NULL
    until its first message (:mod:`aggregator.store.places`)."""
    seen_ms = now_ms if seen else None
    cur = db.execute(
        "INSERT INTO sites(site_id, province, district, first_seen_ms, last_seen_ms, enrolled_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [site_id, province, district, seen_ms, seen_ms, now_ms],
    )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def update_site(db: Database, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write site rows ``(name, lat, lon, agency, agent_version, bd_seq, last_event_id,
    last_seen_ms, heartbeat_interval_s, online, id)``; the one batched site write.

    The place is the centre's (:mod:`aggregator.store.places`): the agent's name, position and
    agency only fill what the centre left blank. The first message sets ``first_seen_ms``."""
    db.conn.executemany(
        "UPDATE sites SET name = CASE WHEN name = '' THEN ?1 ELSE name END, "
        "lat = CASE WHEN lat IS NULL AND lon IS NULL THEN ?2 ELSE lat END, "
        "lon = CASE WHEN lat IS NULL AND lon IS NULL THEN ?3 ELSE lon END, "
        "agency = CASE WHEN agency = '' THEN ?4 ELSE agency END, agent_version=?5, bd_seq=?6, "
        "last_event_id=?7, last_seen_ms=NULLIF(?8, 0), first_seen_ms = COALESCE(first_seen_ms, NULLIF(?8, 0)), "
        "heartbeat_interval_s=?9, online=?10 WHERE id=?11",
        rows,
    )


def insert_cameras(db: Database, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert new cameras: ``(id, site, camera_id, agency, first_seen_ms, last_seen_ms,
    state, reason, since_ms, tail_ms, *inventory_values)``."""
    cols = ("id", "site", "camera_id", "agency", "first_seen_ms", "last_seen_ms", *INVENTORY_COLUMNS)
    db.conn.executemany(
        f"INSERT INTO camera_inventory({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [r[:6] + r[10:] for r in rows],
    )
    db.conn.executemany(
        "INSERT INTO camera_state(camera, state, reason, since_ms, tail_ms) VALUES (?, ?, ?, ?, ?)",
        [(r[0], *r[6:10]) for r in rows],
    )


def update_inventory(db: Database, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rewrite inventories: rows of ``(*inventory_values, id)``."""
    sets = ", ".join(f"{c}=?" for c in INVENTORY_COLUMNS)
    db.conn.executemany(f"UPDATE camera_inventory SET {sets} WHERE id=?", rows)


def set_missing(db: Database, rows: Sequence[tuple[int, int, int]]) -> None:
    """Mark cameras missing or present again: rows of ``(missing, last_seen_ms, id)``."""
    db.conn.executemany("UPDATE camera_inventory SET missing=?, last_seen_ms=? WHERE id=?", rows)


_CAMERA_SELECT = (
    "SELECT id, site, camera_id, first_seen_ms, last_seen_ms, missing, state, reason, since_ms, "
    + ", ".join(INVENTORY_COLUMNS)
    + " FROM cameras"
)


def _camera(row: Sequence[Any]) -> CameraRow:
    inventory = dict(zip(INVENTORY_COLUMNS, row[9:], strict=True))
    return CameraRow(
        id=row[0], site=row[1], camera_id=row[2], inventory=inventory, first_seen_ms=row[3],
        last_seen_ms=row[4], missing=bool(row[5]), state=row[6], reason=row[7], since_ms=row[8],
    )  # fmt: skip


def get_camera(db: Database, site: int, camera_id: str) -> CameraRow | None:
    """The camera ``camera_id`` of site row ``site``, or None."""
    row = db.execute(f"{_CAMERA_SELECT} WHERE site = ? AND camera_id = ?", [site, camera_id]).fetchone()
    return _camera(row) if row else None


def iter_cameras(db: Database) -> Iterator[CameraRow]:
    """Every camera, by id (used once at start-up to load current state)."""
    for row in db.execute(f"{_CAMERA_SELECT} ORDER BY id"):
        yield _camera(row)
