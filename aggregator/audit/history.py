"""The audit trail of declared cameras, the stored rejected lines of imports, and their tables.

Every edit of a declared camera and every operator decision about one of its pairs is kept
(who, when, what before, what after), so a province can show the committee who changed
its register. An import keeps every line it refused with the user's own cells, so the officer
can download them, fix them and upload them again (:mod:`aggregator.audit.rejected_file`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from aggregator.audit.messages import Lang, Problem, render

__all__ = [
    "history",
    "import_scope",
    "migrate_audit_v3",
    "record",
    "rejected_lines",
    "visible_import",
]

_SCHEMA_V3 = """
ALTER TABLE audit_declared ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_imports ADD COLUMN scope TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS audit_rejected (
    import_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    cells TEXT NOT NULL,
    problems TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_rejected_import ON audit_rejected (import_id, line);
CREATE TABLE IF NOT EXISTS audit_history (
    id INTEGER PRIMARY KEY,
    declared_key TEXT NOT NULL,
    province TEXT NOT NULL,
    at TEXT NOT NULL,
    by_user TEXT NOT NULL,
    action TEXT NOT NULL,
    version INTEGER,
    before TEXT NOT NULL,
    after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_history_key ON audit_history (declared_key, id)
"""


def migrate_audit_v3(db: Database) -> None:
    """Versions of declared cameras, the importer's scope, rejected lines and the audit trail
    (listed in aggregator/schema.py as audit_v3)."""
    for statement in _SCHEMA_V3.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def record(conn: sqlite3.Connection, key: str, *, at: str, by: str, action: str,
           before: Mapping[str, Any], after: Mapping[str, Any], version: int | None = None) -> None:
    """Write one line of a camera's audit trail (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO audit_history (declared_key, province, at, by_user, action, version, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (key, key.split("|", 1)[0], at, by, action, version,
         json.dumps(dict(before), ensure_ascii=False, default=str),
         json.dumps(dict(after), ensure_ascii=False, default=str)))


def history(db: Database, key: str, limit: int = 200) -> list[dict[str, Any]]:
    """A camera's audit trail, newest first."""
    rows = db.execute(
        "SELECT at, by_user, action, version, before, after FROM audit_history "
        "WHERE declared_key = ? ORDER BY id DESC LIMIT ?", [key, limit])
    return [{"at": at, "by": by, "action": action, "version": version,
             "before": json.loads(before), "after": json.loads(after)}
            for at, by, action, version, before, after in rows]


def import_scope(db: Database, import_id: int) -> tuple[str, str] | None:
    """(kind, importer's provinces "" = national) of an import, or None when unknown."""
    row = db.execute("SELECT kind, scope FROM audit_imports WHERE id = ?", [import_id]).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def visible_import(scope: str, provinces: Sequence[str] | None) -> bool:
    """Whether a caller limited to ``provinces`` (None = all) may see an import of ``scope``:
    a national import only nationally, a scoped one by callers holding all its provinces."""
    if provinces is None:
        return True
    return bool(scope) and set(scope.split(",")) <= set(provinces)


def rejected_lines(db: Database, import_id: int, lang: Lang) -> list[tuple[int, dict[str, str], list[str]]]:
    """Every line an import refused: (line, the user's cells, reasons in ``lang``)."""
    rows = db.execute("SELECT line, cells, problems FROM audit_rejected WHERE import_id = ? "
                      "ORDER BY line", [import_id])
    return [(int(line), json.loads(cells),
             [render(Problem.from_dict(p), lang) for p in json.loads(problems)])
            for line, cells, problems in rows]
