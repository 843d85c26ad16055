"""Tables of the audit (declared register, imports, matches, overrides, risk points) and their SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from aggregator.audit.history import record
from aggregator.audit.reconcile import (
    Declared,
    Discovered,
    Match,
    Override,
    ReconcileOptions,
    reconcile,
)
from aggregator.states import STATES

__all__ = [
    "DECLARED_COLUMNS",
    "delete_override",
    "load_declared",
    "load_discovered",
    "load_overrides",
    "migrate_audit",
    "migrate_audit_v2",
    "run_reconcile",
    "save_matches",
    "set_override",
    "utcnow_text",
    "current_counts",
    "migrate_audit_counts",
]

# Columns of audit_declared filled from a RegisterRow (same names as its fields).
DECLARED_COLUMNS: tuple[str, ...] = (
    "register_id", "province", "district", "agency", "location", "lat", "lon", "maker", "model",
    "ip", "mac", "serial", "installed", "status", "site",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_declared (
    key TEXT PRIMARY KEY,
    register_id TEXT NOT NULL DEFAULT '',
    province TEXT NOT NULL,
    district TEXT NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    maker TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    installed TEXT,
    status TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '',
    row_hash TEXT NOT NULL,
    line INTEGER NOT NULL,
    import_id INTEGER NOT NULL,
    first_imported TEXT NOT NULL,
    last_imported TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_declared_province ON audit_declared (province, district);
CREATE TABLE IF NOT EXISTS audit_imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT NOT NULL,
    rows INTEGER NOT NULL,
    inserted INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    rejections TEXT NOT NULL,
    by_user TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS audit_overrides (
    declared_key TEXT NOT NULL,
    discovered_key TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('match', 'reject')),
    note TEXT NOT NULL DEFAULT '',
    by_user TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (declared_key, discovered_key)
);
CREATE TABLE IF NOT EXISTS audit_runs (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    province TEXT,
    counts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_matches (
    run_id INTEGER NOT NULL,
    klass TEXT NOT NULL,
    declared_key TEXT,
    discovered_key TEXT,
    rule TEXT NOT NULL,
    confidence REAL NOT NULL,
    distance_m REAL,
    province TEXT NOT NULL,
    district TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_matches_province ON audit_matches (province, klass);
CREATE INDEX IF NOT EXISTS audit_matches_declared ON audit_matches (declared_key);
CREATE TABLE IF NOT EXISTS audit_risk_points (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    province TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    radius_m REAL NOT NULL,
    required INTEGER NOT NULL DEFAULT 1,
    import_id INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_risk_points_province ON audit_risk_points (province);
"""


def migrate_audit(db: Database) -> None:
    """Create the audit tables (idempotent; listed in aggregator/schema.py as audit_v1)."""
    # Statement by statement: executescript() would COMMIT the migration's transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def utcnow_text() -> str:
    """Return the current UTC time as stored in audit tables."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _state_name(code: int, missing: int) -> str:
    """Name of core's integer state (cameras.state); "missing" when gone from the last birth."""
    if missing:
        return "missing"
    return STATES[code].value if 0 <= code < len(STATES) else "unknown"


def load_declared(db: Database, province: str | None = None) -> list[Declared]:
    """Read declared cameras (of one province, or all)."""
    sql = "SELECT key, province, district, lat, lon, serial, mac, ip, site, status FROM audit_declared"
    params: list[Any] = []
    if province:
        sql += " WHERE province = ?"
        params.append(province)
    return [Declared(*row) for row in db.conn.execute(sql, params)]


def load_discovered(db: Database, province: str | None = None) -> list[Discovered]:
    """Read the cameras the agents reported, placed at their own position or their site's."""
    sql = (
        "SELECT s.site_id || '/' || c.camera_id, s.site_id, s.province, s.district, "
        "coalesce(c.lat, s.lat), coalesce(c.lon, s.lon), c.state, c.missing, c.serial, c.mac, "
        "c.address, c.reason, (SELECT ch.before FROM camera_changes ch WHERE ch.camera = c.id "
        "AND ch.kind = 'serial' ORDER BY ch.at_ms LIMIT 1) FROM cameras c JOIN sites s ON s.id = c.site"
    )
    params: list[Any] = []
    if province:
        sql += " WHERE s.province = ?"
        params.append(province)
    return [
        Discovered(key, site, prov, dist, lat, lon, _state_name(state, missing),
                   serial, (mac or "").lower(), address, replaced_from or "", reason == "scene_changed")
        for key, site, prov, dist, lat, lon, state, missing, serial, mac, address, reason, replaced_from
        in db.conn.execute(sql, params)
    ]


def load_overrides(db: Database) -> list[Override]:
    """Read every operator override."""
    return [Override(*row) for row in db.conn.execute(
        "SELECT declared_key, discovered_key, action FROM audit_overrides")]


def set_override(db: Database, declared_key: str, discovered_key: str, action: str,
                 note: str = "", by: str = "") -> None:
    """Record (or replace) an operator's decision about a pair."""
    if action not in ("match", "reject"):
        raise ValueError(f"override action {action!r} is not 'match' or 'reject'")
    at = utcnow_text()
    with db.conn:
        before = db.conn.execute(
            "SELECT action, note FROM audit_overrides WHERE declared_key = ? AND discovered_key = ?",
            (declared_key, discovered_key)).fetchone()
        record(db.conn, declared_key, at=at, by=by, action=f"override_{action}",
               before={"discovered_key": discovered_key, "action": before[0], "note": before[1]}
               if before else {},
               after={"discovered_key": discovered_key, "action": action, "note": note})
        if action == "match":
            # A pinned pair replaces any earlier pin of either camera.
            db.conn.execute("DELETE FROM audit_overrides WHERE action = 'match' AND "
                            "(declared_key = ? OR discovered_key = ?)", (declared_key, discovered_key))
        db.conn.execute(
            "INSERT INTO audit_overrides (declared_key, discovered_key, action, note, by_user, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (declared_key, discovered_key) DO UPDATE SET "
            "action=excluded.action, note=excluded.note, by_user=excluded.by_user, at=excluded.at",
            (declared_key, discovered_key, action, note, by, at),
        )


def delete_override(db: Database, declared_key: str, discovered_key: str, by: str = "") -> bool:
    """Remove an override (kept in the camera's audit trail); return whether one existed."""
    with db.conn:
        before = db.conn.execute(
            "SELECT action, note FROM audit_overrides WHERE declared_key = ? AND discovered_key = ?",
            (declared_key, discovered_key)).fetchone()
        if before is None:
            return False
        db.conn.execute("DELETE FROM audit_overrides WHERE declared_key = ? AND discovered_key = ?",
                        (declared_key, discovered_key))
        record(db.conn, declared_key, at=utcnow_text(), by=by, action="override_delete",
               before={"discovered_key": discovered_key, "action": before[0], "note": before[1]},
               after={})
    return True


# Lines written (or deleted) per transaction while saving a run: each holds the write lock
# for a fraction of a second, so ingest never waits long behind a national run.
_SAVE_CHUNK = 20_000

_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS audit_current (
    province TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL
);
INSERT OR IGNORE INTO audit_current (province, run_id)
    SELECT province, max(run_id) FROM audit_matches GROUP BY province;
CREATE INDEX IF NOT EXISTS audit_matches_run ON audit_matches (run_id);
CREATE VIEW IF NOT EXISTS audit_current_matches AS
    SELECT m.* FROM audit_matches m
    JOIN audit_current c ON c.province = m.province AND c.run_id = m.run_id
"""


def migrate_audit_v2(db: Database) -> None:
    """Add the per-province pointer to the current run (listed in aggregator/schema.py as audit_v2).

    Readers use the view ``audit_current_matches``; a run writes its lines in short
    transactions, then moves the pointers in one, then deletes the older lines.
    """
    for statement in _SCHEMA_V2.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def save_matches(db: Database, matches: Sequence[Match], province: str | None) -> tuple[int, dict[str, int]]:
    """Make ``matches`` the current lines (of one province, or all); return run id and counts.

    Readers never see a half-saved run: the new lines become visible together when the
    provinces' pointers move to the new run, in one short transaction.
    """
    counts: dict[str, int] = {}
    for m in matches:
        counts[m.klass.value] = counts.get(m.klass.value, 0) + 1
    conn = db.conn
    with conn:
        cursor = conn.execute("INSERT INTO audit_runs (at, province, counts) VALUES (?, ?, ?)",
                              (utcnow_text(), province, json.dumps(counts)))
    run_id = int(cursor.lastrowid or 0)
    for start in range(0, len(matches), _SAVE_CHUNK):
        with conn:
            conn.executemany(
                "INSERT INTO audit_matches (run_id, klass, declared_key, discovered_key, rule, "
                "confidence, distance_m, province, district, state, lat, lon, note) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, m.klass.value, m.declared_key, m.discovered_key, m.rule.value,
                  m.confidence, m.distance_m, m.province, m.district, m.state, m.lat, m.lon, m.note)
                 for m in matches[start:start + _SAVE_CHUNK]],
            )
    per_province: dict[tuple[str, str], int] = {}
    for m in matches:
        per_province[(m.province, m.klass.value)] = per_province.get((m.province, m.klass.value), 0) + 1
    with conn:
        conn.executemany("INSERT INTO audit_class_counts (run_id, province, klass, n) VALUES (?, ?, ?, ?)",
                         [(run_id, p, k, n) for (p, k), n in sorted(per_province.items())])
        if province:
            touched = {province}
        else:  # a national run also empties provinces that have no line any more
            touched = {m.province for m in matches}
            touched.update(p for (p,) in conn.execute("SELECT province FROM audit_current"))
        conn.executemany(
            "INSERT INTO audit_current (province, run_id) VALUES (?, ?) ON CONFLICT (province) "
            "DO UPDATE SET run_id = excluded.run_id WHERE excluded.run_id > audit_current.run_id",
            [(p, run_id) for p in sorted(touched)])
        conn.execute("DELETE FROM audit_class_counts WHERE NOT EXISTS (SELECT 1 FROM audit_current c "
                     "WHERE c.run_id = audit_class_counts.run_id AND c.province = audit_class_counts.province)")
    while True:
        with conn:
            deleted = conn.execute(
                "DELETE FROM audit_matches WHERE rowid IN (SELECT m.rowid FROM audit_matches m "
                "JOIN audit_current c ON c.province = m.province WHERE m.run_id < c.run_id "
                "LIMIT ?)", (_SAVE_CHUNK,)).rowcount
        if deleted < _SAVE_CHUNK:
            break
    return run_id, counts


_SCHEMA_COUNTS = """
CREATE TABLE IF NOT EXISTS audit_class_counts (
    run_id INTEGER NOT NULL,
    province TEXT NOT NULL,
    klass TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (run_id, province, klass)
);
INSERT OR IGNORE INTO audit_class_counts (run_id, province, klass, n)
    SELECT run_id, province, klass, count(*) FROM audit_current_matches GROUP BY run_id, province, klass
"""


def migrate_audit_counts(db: Database) -> None:
    """Keep each run's cameras per province and class (listed in aggregator/schema.py as
    audit_counts_v1), written with the run's lines: the summary and the national completeness
    table read 77 x 7 numbers instead of counting 400,000 lines on every page load."""
    for statement in _SCHEMA_COUNTS.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def current_counts(db: Database, provinces: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """Cameras per class of each province's current reconciliation run (None = every province)."""
    marks = "1" if provinces is None else f"c.province IN ({','.join('?' * len(provinces)) or 'NULL'})"
    out: dict[str, dict[str, int]] = {}
    for province, klass, n in db.conn.execute(
        "SELECT c.province, k.klass, k.n FROM audit_current c JOIN audit_class_counts k "
        f"ON k.run_id = c.run_id AND k.province = c.province WHERE {marks} ORDER BY c.province, k.klass",
        list(provinces or [])):  # fmt: skip
        out.setdefault(province, {})[klass] = n
    return out


def run_reconcile(db: Database, province: str | None = None,
                  options: ReconcileOptions | None = None) -> tuple[int, dict[str, int]]:
    """Reconcile the stored register with the stored fleet and keep the result."""
    matches = reconcile(load_declared(db, province), load_discovered(db, province),
                        load_overrides(db), options)
    return save_matches(db, matches, province)
