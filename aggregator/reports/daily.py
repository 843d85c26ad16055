"""Availability day by day over the month: one point per Bangkok day, for the pack's line chart.

Each day is an exact rollup of the nation or the province (daily totals for whole days,
transitions for the day still running, maintenance windows counted as maintenance), the same
figures ``/api/v1/availability`` gives for that day. A day that has not begun yet is left out.
"""

from __future__ import annotations

from aggregator.availability import Window
from aggregator.days import day_of, day_start, day_to_date
from aggregator.reports.section import PackContext, PackSection
from aggregator.reports.targets import target_for
from aggregator.store.rollups import Level, rollup_totals

__all__ = ["daily_section"]


def daily_section(ctx: PackContext) -> PackSection:
    """The month's available and usable shares per Bangkok day (today up to now)."""
    window = ctx.window
    level, key = (Level.NATION, None) if ctx.province is None else (Level.PROVINCE, ctx.province)
    days: list[dict[str, object]] = []
    for day in range(day_of(window.start_ms), day_of(window.end_ms - 1) + 1):
        part = Window(max(window.start_ms, day_start(day)), min(window.end_ms, day_start(day + 1)))
        totals = rollup_totals(ctx.db, level, key, part)
        days.append({"date": day_to_date(day).isoformat(), "available": totals.available, "usable": totals.usable})
    return PackSection("daily", {"days": days, "figure": ctx.settings.target_figure,
                                 "target": target_for(ctx.settings, ctx.province)})
