"""Change events of cameras an auditor needs: replaced (serial), firmware, rebooted, moved.

The agents report what a camera *is* (its ONVIF inventory, in every birth); a change of
serial number at the same camera key means the unit at that address was swapped, a change
of firmware string an upgrade (or a downgrade), and ``rebooted_at`` a reboot the agent saw
(the camera's clock jumped, agent/runner.py). These are kept here, one row per change, by
the store's flush (the one writer) when an inventory it writes differs from the one it
replaces. "Moved" is not stored twice: it is every transition to ``scene_changed``, read
from the timeline (:func:`camera_changes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from aggregator.store.registry import INVENTORY_COLUMNS

__all__ = ["Change", "camera_changes", "migrate_changes", "record_changes", "record_reboots"]

_SERIAL = INVENTORY_COLUMNS.index("serial")
_FIRMWARE = INVENTORY_COLUMNS.index("firmware")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS camera_changes (
    id INTEGER PRIMARY KEY,
    camera INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    before TEXT NOT NULL DEFAULT '',
    after TEXT NOT NULL DEFAULT '',
    UNIQUE (camera, kind, at_ms)
);
CREATE INDEX IF NOT EXISTS camera_changes_kind ON camera_changes (kind, at_ms)
"""
KINDS = ("serial", "firmware", "rebooted", "moved")


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one camera."""

    at_ms: int
    kind: str  # serial (replaced), firmware, rebooted, moved
    before: str = ""
    after: str = ""


def migrate_changes(db: Database) -> None:
    """The camera_changes table (listed in aggregator/schema.py as changes_v1)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def record_changes(db: Database, new: Mapping[int, Sequence[object]], at_ms: Mapping[int, int]) -> int:
    """Before ``new`` inventories (camera -> inventory values) are written: keep each serial or
    firmware that changes from one non-empty value to another. Returns how many were kept."""
    if not new:
        return 0
    ids = sorted(new)
    rows: list[tuple[int, int, str, str, str]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for cam, serial, firmware in db.conn.execute(
                f"SELECT id, serial, firmware FROM camera_inventory WHERE id IN ({marks})", chunk):
            values = new[cam]
            for kind, old, index in (("serial", serial, _SERIAL), ("firmware", firmware, _FIRMWARE)):
                now = str(values[index] or "")
                if old and now and old.strip().upper() != now.strip().upper():
                    rows.append((cam, at_ms.get(cam, 0), kind, old, now))
    db.conn.executemany(
        "INSERT OR IGNORE INTO camera_changes (camera, at_ms, kind, before, after) VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


def record_reboots(db: Database, reboots: Mapping[int, int]) -> None:
    """Keep each reboot an agent reported (camera -> when); a birth repeating it adds nothing."""
    db.conn.executemany("INSERT OR IGNORE INTO camera_changes (camera, at_ms, kind) VALUES (?, ?, 'rebooted')",
                        sorted(reboots.items()))


def camera_changes(db: Database, camera: int, *, since_ms: int = 0, limit: int = 200) -> list[Change]:
    """A camera's changes, newest first: stored ones plus every move (transition to scene_changed)."""
    rows = db.conn.execute(
        "SELECT at_ms, kind, before, after FROM camera_changes WHERE camera = ? AND at_ms >= ? "
        "UNION ALL SELECT at_ms, 'moved', '', '' FROM transitions WHERE camera = ? AND at_ms >= ? "
        "AND reason = 'scene_changed' ORDER BY 1 DESC LIMIT ?",
        [camera, since_ms, camera, since_ms, limit]).fetchall()
    return [Change(*row) for row in rows]
