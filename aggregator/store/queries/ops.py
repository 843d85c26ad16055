"""Operations reads for the API: stored totals and the quarantine of refused payloads.

A quarantined payload's topic names the province it came from
(``camwatch/v1/{province}/...``), so a province-scoped caller sees only its provinces'
refusals; payloads whose topic names no province are shown to unscoped callers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from aggregator.store.queries import like_prefix
from protocol.topics import ROOT

__all__ = ["QuarantinedRow", "StoredTotals", "database_answers", "quarantine_counts", "quarantined", "stored_totals"]


@dataclass(frozen=True, slots=True)
class StoredTotals:
    """What the store holds: cameras, sites and the highest transition id."""

    cameras: int
    sites: int
    transitions: int


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    """One refused payload (its first bytes are left out: they may be anything)."""

    at_ms: int
    topic: str
    reason: str
    detail: str
    size: int


def database_answers(db: Database) -> bool:
    """Whether the database answers a trivial query (liveness)."""
    return bool(db.execute("SELECT 1").fetchone() == (1,))


def stored_totals(db: Database) -> StoredTotals:
    """Cameras, sites and transitions stored."""
    row = db.execute(
        "SELECT (SELECT COUNT(*) FROM camera_inventory), (SELECT COUNT(*) FROM sites), "
        "(SELECT COALESCE(MAX(id), 0) FROM transitions)"
    ).fetchone()
    return StoredTotals(int(row[0]), int(row[1]), int(row[2]))


def quarantine_counts(db: Database) -> dict[str, int]:
    """Refused payloads per reason (empty when the transport's table does not exist yet)."""
    if not db["quarantine_counts"].exists():
        return {}
    return {str(r): int(n) for r, n in db.execute("SELECT reason, count FROM quarantine_counts")}


def quarantined(
    db: Database, *, provinces: Sequence[str] | None, reason: str | None = None, limit: int = 100
) -> list[QuarantinedRow]:
    """Refused payloads, newest first: of ``provinces`` (by their topic), or all when None."""
    if not db["quarantine"].exists():
        return []
    where: list[str] = []
    args: list[Any] = []
    if provinces is not None:
        prefixes = [like_prefix(f"{ROOT}/{p}/") for p in provinces]
        where.append("(" + (" OR ".join("topic LIKE ? ESCAPE '\\'" for _ in prefixes) or "0") + ")")
        args += prefixes
    if reason is not None:
        where.append("reason = ?")
        args.append(reason)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = db.execute(
        f"SELECT at_ms, topic, reason, detail, size FROM quarantine {clause} ORDER BY id DESC LIMIT ?", [*args, limit]
    ).fetchall()
    return [QuarantinedRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]
