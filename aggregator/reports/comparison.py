"""Month on month: each area's available and usable shares this month beside last month's.

Last month is the calendar month before, in Bangkok time (January compares with the previous
year's December); the change is in percentage points. This month may still be running: its
figures run up to the moment the pack was made, last month's are whole.
"""

from __future__ import annotations

from aggregator.reports.figures import AreaFigures
from aggregator.reports.section import PackContext, PackSection

__all__ = ["comparison_section", "points"]


def points(now: float | None, before: float | None) -> float | None:
    """The change from ``before`` to ``now`` in percentage points (None when either is unknown)."""
    if now is None or before is None:
        return None
    return round((now - before) * 100, 4)


def _pair(code: str, name_th: str, name_en: str, now: AreaFigures | None, before: AreaFigures | None) -> dict[str, object]:
    a_now = now.totals.available if now else None
    a_before = before.totals.available if before else None
    u_now = now.totals.usable if now else None
    u_before = before.totals.usable if before else None
    return {
        "code": code, "name_th": name_th, "name_en": name_en,
        "available": a_now, "available_before": a_before, "available_change_pts": points(a_now, a_before),
        "usable": u_now, "usable_before": u_before, "usable_change_pts": points(u_now, u_before),
        "faults_opened": now.faults_opened if now else 0,
        "faults_opened_before": before.faults_opened if before else 0,
        "mttr_h": now.mttr_h if now else None, "mttr_h_before": before.mttr_h if before else None,
    }  # fmt: skip


def comparison_section(ctx: PackContext) -> PackSection:
    """This month against last month, per area and in total."""
    before_rows = {r.code: r for r in ctx.previous.rows} if ctx.previous else {}
    rows = [_pair(a.code, a.name_th, a.name_en, a, before_rows.get(a.code)) for a in ctx.areas]
    t = ctx.report.total
    total = _pair(t.code, t.name_th, t.name_en, t, ctx.previous.total if ctx.previous else None)
    return PackSection("comparison", {
        "month": ctx.report.month, "previous_month": ctx.previous.month if ctx.previous else None,
        "rows": rows, "total": total,
    })  # fmt: skip
