"""Import risk points from CSV/XLSX and compute their coverage from the stored fleet."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from aggregator.audit.messages import Lang, Problem
from aggregator.audit.register import Rejection, file_sha256, user_cells
from aggregator.audit.risk import (
    BOUNDARY_TOLERANCE_M,
    RISK_ALIASES,
    RISK_REQUIRED,
    Coverage,
    CoverageCamera,
    RiskPoint,
    coverage,
    parse_risk_row,
)
from aggregator.audit.spatial import GridIndex
from aggregator.audit.store import utcnow_text
from aggregator.audit.tablefile import TableLimits, open_table
from aggregator.availability import Window
from aggregator.states import STATE_CODE
from aggregator.store.rollups import camera_totals
from protocol import CameraState

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
_UP = STATE_CODE[CameraState.UP]  # core's cameras.state code for up
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

    def as_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """Return the report as plain data for JSON (reasons in ``lang``)."""
        return {"import_id": self.import_id, "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated, "rejected": self.rejected,
                "rejections": [r.as_dict(lang) for r in self.rejections]}


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
            "updated, unchanged, rejected, rejections, by_user, scope) "
            "VALUES ('risk', ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, '[]', ?, ?)",
            (now, source or path.name, sha, table.format, table.encoding, by,
             ",".join(sorted(allowed_provinces)) if allowed_provinces is not None else ""))
        import_id = int(cursor.lastrowid or 0)
        for line, raw in table.rows:
            rows += 1
            point, reasons = parse_risk_row(raw)
            problems = [Problem.plain(r) for r in reasons]
            if point is not None and point.key in seen:
                problems = [Problem("risk_duplicate", {"line": seen[point.key]})]
            elif point is not None and allowed_provinces is not None \
                    and point.province not in allowed_provinces:
                problems = [Problem("out_of_scope", {"province": point.province})]
            if point is None or problems:
                rejections.append(Rejection(line, tuple(problems), user_cells(raw, table.columns)))
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
                           json.dumps([{"line": r.line, "reasons": list(r.reasons)}
                                       for r in rejections[:1000]],
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


def _camera_rows(db: Database) -> list[tuple[int, str, float, float, int]]:
    """Every present camera with a position: its own, else its register entry's, else its site's."""
    marks = ",".join("?" * len(_PLACED))
    sql = (
        "SELECT c.id, s.site_id || '/' || c.camera_id, "
        "coalesce(c.lat, d.lat, s.lat), coalesce(c.lon, d.lon, s.lon), c.state "
        "FROM cameras c JOIN sites s ON s.id = c.site "
        "LEFT JOIN audit_current_matches m ON m.discovered_key = s.site_id || '/' || c.camera_id "
        f"AND m.klass IN ({marks}) "
        "LEFT JOIN audit_declared d ON d.key = m.declared_key WHERE c.missing = 0"
    )
    return [row for row in db.conn.execute(sql, _PLACED) if row[2] is not None and row[3] is not None]


def load_coverage_cameras(db: Database, points: Sequence[RiskPoint],
                          now_ms: int | None = None) -> list[CoverageCamera]:
    """Cameras near any of ``points``, with their exact usable fraction over the last 30 days.

    The fraction comes from core's per-camera totals (aggregator.store.rollups.camera_totals, the
    same maths as every availability figure), read only for cameras that can matter.
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    window = Window(now_ms - WINDOW_DAYS * _DAY_MS, now_ms)
    grid: GridIndex[tuple[int, str, float, float, int]] = GridIndex(cell_m=200.0)
    for row in _camera_rows(db):
        grid.add(row[2], row[3], row)
    near: dict[int, tuple[int, str, float, float, int]] = {}
    for p in points:
        for row, _ in grid.within(p.lat, p.lon, p.radius_m + BOUNDARY_TOLERANCE_M):
            near[row[0]] = row
    return [
        CoverageCamera(key, lat, lon, state == _UP, camera_totals(db, cam, window).usable)
        for cam, key, lat, lon, state in near.values()
    ]


def province_coverage(db: Database, province: str | None = None, *,
                      now_ms: int | None = None, usable_30d_min: float = 0.9) -> list[Coverage]:
    """Coverage of the stored risk points (of one province, or all) by the stored fleet."""
    points = load_risk_points(db, province)
    return coverage(points, load_coverage_cameras(db, points, now_ms),
                    usable_30d_min=usable_30d_min)
