"""Every province's availability over one window in one pass (issue 15: the console's period
picker asked 77 times, one province at a time).

The figures are exactly :func:`aggregator.store.rollups.rollup_totals` at province level: the
same window plan, the same choice of segment walk and the same integer maths, but each read is
one query grouped by province (whole days from ``province_day``, transitions joined to their
site's province), so a nation's transitions in a partial day are scanned once, not once per
province. Maintenance windows are then applied per province (they are few; a province no
window touches costs nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database

from aggregator.availability import (
    Totals,
    Window,
    advance_counts,
    plan_window,
    segment_totals,
    segment_totals_backward,
)
from aggregator.days import day_start
from aggregator.states import COUNT_COLUMNS, MS_COLUMNS
from aggregator.store.maintenance import load_windows
from aggregator.store.rollups import Level, checkpoint_ms, planned_totals

__all__ = ["province_totals"]

_MS = ", ".join(f"SUM({c})" for c in MS_COLUMNS)
_N = ", ".join(f"SUM({c})" for c in COUNT_COLUMNS)
Changes = dict[str, list[tuple[int, int, int, int]]]


def _day_sums(db: Database, cols: str, first: int, last: int, provinces: Sequence[str]) -> dict[str, list[int]]:
    """Per province, the summed ``cols`` of ``province_day`` over days ``first..last``."""
    out = {p: [0] * len(cols.split(",")) for p in provinces}
    for row in db.execute(f"SELECT province, {cols} FROM province_day WHERE day BETWEEN ? AND ? GROUP BY province",
                          [first, last]).fetchall():  # fmt: skip
        if row[0] in out:
            out[row[0]] = [int(v or 0) for v in row[1:]]
    return out


def _changes(db: Database, lo: int, hi: int, provinces: Sequence[str]) -> Changes:
    """Per province, transitions in ``[lo, hi)`` as ``(old, new, how_many, sum_of_at_ms)``."""
    out: Changes = {p: [] for p in provinces}
    if hi <= lo:
        return out
    rows = db.execute(
        "SELECT s.province, t.old_state, t.new_state, COUNT(*), SUM(t.at_ms) FROM transitions t "
        "JOIN sites s ON s.id = t.site WHERE t.at_ms >= ? AND t.at_ms < ? "
        "GROUP BY s.province, t.old_state, t.new_state", [lo, hi]).fetchall()  # fmt: skip
    for province, o, n, c, t in rows:
        if province in out:
            out[province].append((int(o), int(n), int(c), int(t)))
    return out


def _undo(counts: list[int], changes: list[tuple[int, int, int, int]]) -> list[int]:
    return advance_counts(counts, [(new, old, n) for old, new, n, _ in changes])


def _segments(
    db: Database, day: int, a: int, b: int, checkpoint: int, provinces: Sequence[str]
) -> dict[str, Totals]:
    """Per province, exact totals over ``[a, b)`` inside Bangkok ``day`` (forward from the day's
    start counts, or backward from the next day's when that is nearer, as rollups._segment)."""
    d0, d1 = day_start(day), day_start(day + 1)
    backward = d1 <= checkpoint and d1 - a < b - d0
    inside = _changes(db, a, b, provinces)
    if backward:
        ends = _day_sums(db, _N, day + 1, day + 1, provinces)
        after = _changes(db, b, d1 + 1, provinces)
        return {p: segment_totals_backward(_undo(ends[p], after[p]), a, b, inside[p]) for p in provinces}
    starts = _day_sums(db, _N, day, day, provinces)
    if a > d0:
        before = _changes(db, d0 + 1, a, provinces)
        counts = {p: advance_counts(starts[p], [c[:3] for c in before[p]]) for p in provinces}
    else:
        at_midnight = _changes(db, d0, d0 + 1, provinces)
        counts = {p: _undo(starts[p], at_midnight[p]) for p in provinces}
    return {p: segment_totals(counts[p], a, b, inside[p]) for p in provinces}


def province_totals(db: Database, provinces: Sequence[str], window: Window) -> dict[str, Totals]:
    """Exact totals of every camera of each of ``provinces`` over ``window`` (equal to
    ``rollup_totals(db, Level.PROVINCE, code, window)`` for each code), read from one snapshot."""
    checkpoint = checkpoint_ms(db)
    plan = plan_window(window, checkpoint)
    totals = {p: Totals() for p in provinces}
    if plan.first_day is not None and plan.last_day is not None:
        for p, sums in _day_sums(db, _MS, plan.first_day, plan.last_day, provinces).items():
            totals[p] = totals[p] + Totals.of(sums)
    for day, a, b in plan.segments:
        for p, part in _segments(db, day, a, b, checkpoint, provinces).items():
            totals[p] = totals[p] + part
    windows = load_windows(db)
    if windows:
        totals = {p: planned_totals(db, Level.PROVINCE, p, window, windows, t, checkpoint) for p, t in totals.items()}
    return totals
