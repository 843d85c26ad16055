"""Select the rows availability needs: daily totals, day-start counts, transitions.

The maths is in :mod:`aggregator.availability`; this module only reads. It works on any
connection (API readers open their own), never on the writer's memory.
"""

from __future__ import annotations

from enum import StrEnum

from sqlite_utils import Database

from .availability import (
    Totals,
    Window,
    advance_counts,
    integrate_timeline,
    plan_window,
    segment_totals,
)
from .days import day_start

__all__ = ["Level", "camera_totals", "checkpoint_ms", "rollup_totals"]

_MS = "SUM(up_ms), SUM(degraded_ms), SUM(down_ms), SUM(unknown_ms), SUM(maint_ms)"
_N = "SUM(up_n), SUM(degraded_n), SUM(down_n), SUM(unknown_n), SUM(maint_n)"


class Level(StrEnum):
    """Where a rollup is taken."""

    NATION = "nation"
    PROVINCE = "province"
    DISTRICT = "district"
    AGENCY = "agency"
    SITE = "site"


def checkpoint_ms(db: Database) -> int:
    """The last Bangkok midnight the writer rolled into the daily totals."""
    row = db.execute("SELECT value FROM store_meta WHERE key = 'checkpoint_ms'").fetchone()
    return int(row[0]) if row else 0


def _sites_clause(level: Level, key: str | None) -> tuple[str, list[object]]:
    """SQL restricting ``site`` columns to the level's sites (empty for the nation)."""
    if level is Level.NATION:
        return "", []
    if level is Level.SITE:
        return " AND site = (SELECT id FROM sites WHERE site_id = ?)", [key]
    column = {Level.PROVINCE: "province", Level.DISTRICT: "district", Level.AGENCY: "agency"}[level]
    return f" AND site IN (SELECT id FROM sites WHERE {column} = ?)", [key]


def _day_sums(db: Database, level: Level, key: str | None, cols: str, first: int, last: int) -> list[int]:
    where: str
    params: list[object]
    if level in (Level.NATION, Level.PROVINCE):
        where, params = ("", []) if level is Level.NATION else (" AND province = ?", [key])
        sql = f"SELECT {cols} FROM province_day WHERE day BETWEEN ? AND ?{where}"
    else:
        where, params = _sites_clause(level, key)
        sql = f"SELECT {cols} FROM site_day WHERE day BETWEEN ? AND ?{where}"
    row = db.execute(sql, [first, last, *params]).fetchone()
    return [int(v or 0) for v in row]


def rollup_totals(db: Database, level: Level, key: str | None, window: Window) -> Totals:
    """Exact totals of every camera of one nation/province/district/agency/site over ``window``."""
    plan = plan_window(window, checkpoint_ms(db))
    total = Totals()
    if plan.first_day is not None and plan.last_day is not None:
        total = total + Totals.of(_day_sums(db, level, key, _MS, plan.first_day, plan.last_day))
    where, params = _sites_clause(level, key)
    for day, a, b in plan.segments:
        counts = _day_sums(db, level, key, _N, day, day)
        d0 = day_start(day)
        if a > d0:
            before = db.execute(
                "SELECT old_state, new_state, COUNT(*) FROM transitions WHERE at_ms >= ? AND at_ms < ?"
                f"{where} GROUP BY old_state, new_state", [d0, a, *params]).fetchall()  # fmt: skip
            counts = advance_counts(counts, before)
        inside = db.execute(
            "SELECT old_state, new_state, COUNT(*), SUM(at_ms) FROM transitions WHERE at_ms >= ? AND at_ms < ?"
            f"{where} GROUP BY old_state, new_state", [a, b, *params]).fetchall()  # fmt: skip
        total = total + segment_totals(counts, a, b, inside)
    return total


def camera_totals(db: Database, camera: int, window: Window) -> Totals:
    """Exact totals of one camera (by row id) over ``window``, from its own transitions."""
    first = db.execute(
        "SELECT at_ms, new_state FROM transitions WHERE camera = ? AND at_ms <= ? ORDER BY at_ms DESC, id DESC LIMIT 1",
        [camera, window.start_ms],
    ).fetchall()
    rest = db.execute(
        "SELECT at_ms, new_state FROM transitions WHERE camera = ? AND at_ms > ? AND at_ms < ? ORDER BY at_ms, id",
        [camera, window.start_ms, window.end_ms],
    ).fetchall()
    return integrate_timeline([(int(a), int(s)) for a, s in first + rest], window)
