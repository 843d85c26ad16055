"""Audit reads for the API: the import log, reconciliation classes and lines, the declared
register and operators' overrides, each limited to a province scope (None = every province)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from aggregator.audit.history import visible_import
from aggregator.audit.store import current_counts
from aggregator.store.queries import in_provinces

__all__ = [
    "IMPORT_FIELDS",
    "class_summary",
    "declared_cameras",
    "declared_exists",
    "import_log",
    "match_lines",
    "overrides",
]

IMPORT_FIELDS = ("id", "kind", "at", "source", "format", "encoding", "rows", "inserted", "updated", "unchanged",
                 "rejected", "by")  # fmt: skip
_MATCH_FIELDS = ("class", "declared_key", "discovered_key", "rule", "confidence", "distance_m", "province", "district",
                 "state", "lat", "lon", "note", "location", "agency")  # fmt: skip
_DECLARED_FIELDS = ("key", "register_id", "province", "district", "agency", "location", "lat", "lon", "maker", "model",
                    "ip", "mac", "serial", "installed", "status", "site", "line")  # fmt: skip
_OVERRIDE_FIELDS = ("declared_key", "discovered_key", "action", "note", "by", "at")


def _named(names: Sequence[str], rows: Any) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


def import_log(db: Database, limit: int, provinces: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Recent imports with their counts, newest first: those a caller limited to ``provinces``
    may see (None = every import; see :func:`aggregator.audit.history.visible_import`)."""
    rows = db.execute(
        "SELECT id, kind, at, source, format, encoding, rows, inserted, updated, unchanged, rejected, by_user, "
        "scope FROM audit_imports ORDER BY id DESC")  # fmt: skip
    out: list[dict[str, Any]] = []
    for row in rows:
        if visible_import(row[-1], provinces):
            out.append(dict(zip(IMPORT_FIELDS, row[:-1], strict=True)))
            if len(out) >= limit:
                break
    return out


def class_summary(db: Database, provinces: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """Cameras per class of the latest reconciliation, per province."""
    where, params = in_provinces("province", provinces)
    return current_counts(db, provinces)


def match_lines(
    db: Database, provinces: Sequence[str] | None, klass: str | None, limit: int | None, offset: int
) -> list[dict[str, Any]]:
    """Reconciliation lines (declared and discovered cameras with their class), by province and
    class; ``limit`` None = all."""
    where, params = in_provinces("m.province", provinces)
    args: list[Any] = list(params)
    if klass is not None:
        where += " AND m.klass = ?"
        args.append(klass)
    rows = db.execute(
        "SELECT m.klass, m.declared_key, m.discovered_key, m.rule, m.confidence, m.distance_m, "
        "m.province, m.district, m.state, m.lat, m.lon, m.note, d.location, d.agency "
        "FROM audit_current_matches m LEFT JOIN audit_declared d ON d.key = m.declared_key "
        f"WHERE {where} ORDER BY m.province, m.klass, m.declared_key, m.discovered_key "
        "LIMIT ? OFFSET ?", [*args, -1 if limit is None else limit, offset])  # fmt: skip
    return _named(_MATCH_FIELDS, rows)


def declared_cameras(
    db: Database, provinces: Sequence[str] | None, district: str | None, q: str, limit: int, offset: int,
    klass: str | None = None,
) -> list[dict[str, Any]]:
    """The register's cameras with the class of their latest match; ``q`` searches location,
    agency, serial, register id and IP; ``klass`` keeps one class."""
    where, params = in_provinces("d.province", provinces)
    args: list[Any] = list(params)
    if district is not None:
        where += " AND d.district = ?"
        args.append(district)
    if q:
        where += " AND (d.location LIKE ? OR d.serial LIKE ? OR d.register_id LIKE ? OR d.ip = ? OR d.agency LIKE ?)"
        like = "%" + q.replace("%", "").replace("_", "") + "%"
        args.extend([like, like.upper(), like, q, like])
    if klass is not None:
        where += " AND m.klass = ?"
        args.append(klass)
    # The current line of each camera, looked up by its key (not through the view, which SQLite
    # would materialise whole: 1.6 s at 400,000 declared cameras, against milliseconds).
    rows = db.execute(
        f"SELECT {', '.join('d.' + n for n in _DECLARED_FIELDS)}, m.klass, m.discovered_key, m.rule, m.state, "
        "d.version "
        "FROM audit_declared d LEFT JOIN audit_matches m ON m.declared_key = d.key "
        "AND m.run_id = (SELECT c.run_id FROM audit_current c WHERE c.province = m.province) "
        f"WHERE {where} ORDER BY d.key LIMIT ? OFFSET ?", [*args, limit, offset])  # fmt: skip
    return _named((*_DECLARED_FIELDS, "class", "discovered_key", "rule", "state", "version"), rows)


def declared_exists(db: Database, declared_key: str) -> bool:
    """Whether the register holds ``declared_key``."""
    return db.execute("SELECT 1 FROM audit_declared WHERE key = ?", [declared_key]).fetchone() is not None


def overrides(db: Database, provinces: Sequence[str] | None) -> list[dict[str, Any]]:
    """Operators' decisions, newest first, whose declared camera is in ``provinces`` (None = all)."""
    rows = db.execute(
        "SELECT declared_key, discovered_key, action, note, by_user, at FROM audit_overrides ORDER BY at DESC")
    keep = None if provinces is None else set(provinces)
    return [r for r in _named(_OVERRIDE_FIELDS, rows) if keep is None or str(r["declared_key"]).split("|", 1)[0] in keep]
