"""Tables of the province's plans: what a province fills for each plan line, and certifications.

A plan line is found by camwatch (a broken declared camera, an open camera fault, an uncovered
risk point, a declared camera no agent watches); the province adds what it will do about it
(action, responsible agency, target date, estimated cost in baht, priority, note). Those fields
are kept here by plan and item key, so they survive the line leaving the plan (which is how a
line counts as done). A certification freezes the province's audit figures at one moment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlite_utils import Database

__all__ = [
    "PLAN_KINDS",
    "Certification",
    "PlanEntry",
    "PlanKind",
    "certifications",
    "entries",
    "latest_certification",
    "migrate_audit_plans",
    "save_certification",
    "save_entry",
]

PlanKind = Literal["repair", "install", "link"]
PLAN_KINDS: tuple[PlanKind, ...] = ("repair", "install", "link")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_plan_entries (
    plan TEXT NOT NULL CHECK (plan IN ('repair', 'install', 'link')),
    item TEXT NOT NULL,
    province TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT '',
    agency TEXT NOT NULL DEFAULT '',
    target_date TEXT,
    cost_baht REAL,
    priority INTEGER,
    note TEXT NOT NULL DEFAULT '',
    by_user TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (plan, item)
);
CREATE INDEX IF NOT EXISTS audit_plan_entries_province ON audit_plan_entries (province, plan);
CREATE TABLE IF NOT EXISTS audit_certifications (
    id INTEGER PRIMARY KEY,
    province TEXT NOT NULL,
    officer TEXT NOT NULL,
    by_user TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_certifications_province ON audit_certifications (province, id);
CREATE INDEX IF NOT EXISTS audit_matches_current ON audit_matches (province, run_id, klass);
CREATE INDEX IF NOT EXISTS audit_declared_broken ON audit_declared (province) WHERE status = 'broken';
"""


def migrate_audit_plans(db: Database) -> None:
    """Create the plan and certification tables (listed in aggregator/schema.py as audit_plans_v1),
    and the two indexes the national table reads through at 400,000 declared cameras: classes per
    province counted from the index alone, and the declared cameras the register calls broken."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.conn.execute(statement)


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """What a province filled for one plan line."""

    plan: str
    item: str
    province: str
    action: str = ""
    agency: str = ""
    target_date: str | None = None
    cost_baht: float | None = None
    priority: int | None = None
    note: str = ""
    by: str = ""
    at: str = ""

    def fields(self) -> dict[str, Any]:
        """The province's fields only (what a plan line shows beside camwatch's own)."""
        return {k: v for k, v in asdict(self).items() if k not in ("plan", "item", "province")}


_ENTRY_COLUMNS = "plan, item, province, action, agency, target_date, cost_baht, priority, note, by_user, at"


def entries(db: Database, plan: PlanKind, provinces: Sequence[str] | None) -> dict[str, PlanEntry]:
    """The filled lines of one plan, by item key, in ``provinces`` (None = every province)."""
    sql = f"SELECT {_ENTRY_COLUMNS} FROM audit_plan_entries WHERE plan = ?"
    params: list[Any] = [plan]
    if provinces is not None:
        sql += f" AND province IN ({','.join('?' * len(provinces)) or 'NULL'})"
        params.extend(provinces)
    return {row[1]: PlanEntry(*row) for row in db.conn.execute(sql, params)}


def save_entry(db: Database, entry: PlanEntry) -> None:
    """Record (or replace) what the province fills for one plan line."""
    with db.conn:
        db.conn.execute(
            f"INSERT INTO audit_plan_entries ({_ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (plan, item) DO UPDATE SET action=excluded.action, agency=excluded.agency, "
            "target_date=excluded.target_date, cost_baht=excluded.cost_baht, priority=excluded.priority, "
            "note=excluded.note, by_user=excluded.by_user, at=excluded.at",
            (entry.plan, entry.item, entry.province, entry.action, entry.agency, entry.target_date,
             entry.cost_baht, entry.priority, entry.note, entry.by, entry.at))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Certification:
    """A province's audit certified complete: who, when, and the figures frozen at that moment."""

    id: int
    province: str
    officer: str
    by: str
    at: str
    note: str
    digest: str
    snapshot: dict[str, Any]


def save_certification(db: Database, province: str, officer: str, *, by: str, at: str, note: str,
                       digest: str, snapshot: dict[str, Any]) -> int:  # fmt: skip
    """Store a certification (never updated afterwards); answer its id."""
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO audit_certifications (province, officer, by_user, at, note, digest, snapshot) "
            "VALUES (?,?,?,?,?,?,?)",
            (province, officer, by, at, note, digest, json.dumps(snapshot, ensure_ascii=False, sort_keys=True)))
    return int(cursor.lastrowid or 0)


def _certification(row: Sequence[Any]) -> Certification:
    return Certification(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))


def latest_certification(db: Database, province: str) -> Certification | None:
    """The province's newest certification, if any."""
    row = db.conn.execute(
        "SELECT id, province, officer, by_user, at, note, digest, snapshot FROM audit_certifications "
        "WHERE province = ? ORDER BY id DESC LIMIT 1", (province,)).fetchone()  # fmt: skip
    return _certification(row) if row else None


def certifications(db: Database, provinces: Sequence[str] | None) -> dict[str, Certification]:
    """The newest certification of each province in ``provinces`` (None = all)."""
    sql = ("SELECT id, province, officer, by_user, at, note, digest, snapshot FROM audit_certifications "
           "WHERE id IN (SELECT max(id) FROM audit_certifications GROUP BY province)")
    rows = [_certification(r) for r in db.conn.execute(sql)]
    keep = None if provinces is None else set(provinces)
    return {c.province: c for c in rows if keep is None or c.province in keep}
