"""Import risk points from CSV/XLSX and compute their coverage from the stored fleet."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from aggregator.audit_store import utcnow_text
from aggregator.register import Rejection, file_sha256
from aggregator.risk import (
    RISK_ALIASES,
    RISK_REQUIRED,
    Coverage,
    CoverageCamera,
    RiskPoint,
    coverage,
    parse_risk_row,
)
from aggregator.tablefile import TableLimits, open_table

__all__ = [
    "RiskImportReport",
    "WINDOW_DAYS",
    "import_risk_points",
    "load_coverage_cameras",
    "load_risk_points",
    "province_coverage",
]

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
_DAY_MS = 86_400_000
# Bangkok is UTC+7 all year; core's camera_day rows are Bangkok days (aggregator/days.py).
_BANGKOK_MS = 7 * 3_600_000
_UP, _DEGRADED, _DOWN = 0, 1, 2
# Classes whose declared position is the camera's own (better than its site's).
_PLACED = ("verified", "declared_but_broken", "unconfirmed", "replaced")


@dataclass(frozen=True)
class RiskImportReport:
    """What one risk-point import did."""

    import_id: int
    rows: int
    inserted: int
    updated: int
    rejected: int
    rejections: tuple[Rejection, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain data for JSON."""
        return {"import_id": self.import_id, "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated, "rejected": self.rejected,
                "rejections": [r.as_dict() for r in self.rejections]}


def import_risk_points(db: Database, path: Path, *, limits: TableLimits | None = None,
                       source: str | None = None, by: str = "",
                       allowed_provinces: frozenset[str] | None = None) -> RiskImportReport:
    """Import a risk-point file in one transaction (whole-file errors import nothing)."""
    table = open_table(path, RISK_ALIASES, RISK_REQUIRED, limits=limits)
    sha = file_sha256(path)
    now = utcnow_text()
    rows = inserted = updated = 0
    rejections: list[Rejection] = []
    seen: dict[str, int] = {}
    conn = db.conn
    try:
        conn.execute("SAVEPOINT risk_import")
        cursor = conn.execute(
            "INSERT INTO audit_imports (kind, at, source, sha256, format, encoding, rows, inserted, "
            "updated, unchanged, rejected, rejections, by_user) "
            "VALUES ('risk', ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, '[]', ?)",
            (now, source or path.name, sha, table.format, table.encoding, by))
        import_id = int(cursor.lastrowid or 0)
        for line, raw in table.rows:
            rows += 1
            point, reasons = parse_risk_row(raw)
            if point is not None and point.key in seen:
                reasons = [f"duplicate of line {seen[point.key]} (same province, kind and name)"]
            elif point is not None and allowed_provinces is not None \
                    and point.province not in allowed_provinces:
                reasons = [f"province {point.province} is outside the importer's provinces"]
            if point is None or reasons:
                rejections.append(Rejection(line, tuple(reasons)))
                continue
            seen[point.key] = line
            exists = conn.execute("SELECT 1 FROM audit_risk_points WHERE key = ?",
                                  (point.key,)).fetchone()
            inserted += exists is None
            updated += exists is not None
            conn.execute(
                "INSERT INTO audit_risk_points (key, name, kind, province, lat, lon, radius_m, "
                "required, import_id, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET name=excluded.name, lat=excluded.lat, "
                "lon=excluded.lon, radius_m=excluded.radius_m, required=excluded.required, "
                "import_id=excluded.import_id, imported_at=excluded.imported_at",
                (point.key, point.name, point.kind.value, point.province, point.lat, point.lon,
                 point.radius_m, point.required, import_id, now))
        conn.execute(
            "UPDATE audit_imports SET rows=?, inserted=?, updated=?, rejected=?, rejections=? "
            "WHERE id=?", (rows, inserted, updated, len(rejections),
                           json.dumps([r.as_dict() for r in rejections[:1000]],
                                      ensure_ascii=False), import_id))
        conn.execute("RELEASE risk_import")
    except BaseException:
        conn.execute("ROLLBACK TO risk_import")
        conn.execute("RELEASE risk_import")
        raise
    finally:
        table.close()
    logger.info("%s: risk points imported: %d rows, %d new, %d updated, %d rejected",
                source or path.name, rows, inserted, updated, len(rejections))
    return RiskImportReport(import_id, rows, inserted, updated, len(rejections),
                            tuple(rejections[:1000]))


def load_risk_points(db: Database, province: str | None = None) -> list[RiskPoint]:
    """Read stored risk points (of one province, or all)."""
    sql = "SELECT key, name, kind, province, lat, lon, radius_m, required FROM audit_risk_points"
    params: list[Any] = []
    if province:
        sql += " WHERE province = ?"
        params.append(province)
    return [RiskPoint(*row) for row in db.conn.execute(sql + " ORDER BY key", params)]


def _usable_fractions(db: Database, now_ms: int) -> dict[int, float]:
    """Usable fraction (up / known time) per camera id over the last WINDOW_DAYS Bangkok days."""
    first_day = (now_ms - WINDOW_DAYS * _DAY_MS + _BANGKOK_MS) // _DAY_MS
    window_start = first_day * _DAY_MS - _BANGKOK_MS
    up: dict[int, int] = {}
    known: dict[int, int] = {}
    for cam, up_ms, known_ms in db.conn.execute(
            "SELECT camera, sum(up_ms), sum(up_ms + degraded_ms + down_ms) FROM camera_day "
            "WHERE day >= ? GROUP BY camera", (first_day,)):
        up[cam], known[cam] = int(up_ms), int(known_ms)
    # The state a camera is in now is an open interval not yet in camera_day.
    for cam, state, since_ms in db.conn.execute("SELECT id, state, since_ms FROM cameras"):
        open_ms = max(0, now_ms - max(int(since_ms), window_start))
        if state in (_UP, _DEGRADED, _DOWN):
            known[cam] = known.get(cam, 0) + open_ms
            if state == _UP:
                up[cam] = up.get(cam, 0) + open_ms
    return {cam: up.get(cam, 0) / k for cam, k in known.items() if k > 0}


def load_coverage_cameras(db: Database, now_ms: int | None = None) -> list[CoverageCamera]:
    """Read every present camera with a position: its own, else its register entry's, else its site's."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    fractions = _usable_fractions(db, now_ms)
    marks = ",".join("?" * len(_PLACED))
    sql = (
        "SELECT c.id, s.site_id || '/' || c.camera_id, "
        "coalesce(c.lat, d.lat, s.lat), coalesce(c.lon, d.lon, s.lon), c.state "
        "FROM cameras c JOIN sites s ON s.id = c.site "
        f"LEFT JOIN audit_matches m ON m.discovered_key = s.site_id || '/' || c.camera_id "
        f"AND m.klass IN ({marks}) "
        "LEFT JOIN audit_declared d ON d.key = m.declared_key WHERE c.missing = 0"
    )
    return [
        CoverageCamera(key, lat, lon, state == _UP, fractions.get(cam))
        for cam, key, lat, lon, state in db.conn.execute(sql, _PLACED)
        if lat is not None and lon is not None
    ]


def province_coverage(db: Database, province: str | None = None, *,
                      now_ms: int | None = None, usable_30d_min: float = 0.9) -> list[Coverage]:
    """Coverage of the stored risk points (of one province, or all) by the stored fleet."""
    return coverage(load_risk_points(db, province), load_coverage_cameras(db, now_ms),
                    usable_30d_min=usable_30d_min)
