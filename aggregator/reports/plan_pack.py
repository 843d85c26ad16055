"""The repair plan in the committee pack: each province's plan in figures, and the money spent in the month.

The figures are :func:`aggregator.audit.plan.plan_totals`, the same the national completeness
table and ``GET /api/v1/audit/plans/{code}/repair`` answer: lines in the plan (open and done),
lines the province filled and their estimated cost, lines done. The plan keeps no history, so
these are the plan as it stands when the pack is made; only the money spent is the month's
(camera faults resolved in the month's window with a recorded cost).

This measures the *plan*, not the fault book: the pack's repair-progress section
(:mod:`aggregator.reports.repairs`) counts every top-level fault opened and resolved in the
month, of any kind; the plan counts broken declared cameras and open camera faults (kinds
camera and flapping, held ones included), and its spend is summed over those camera faults.
A province pack has one row, the province: a plan is a province's.
"""

from __future__ import annotations

import sqlite3

from aggregator.audit.plan import PlanTotals, plan_totals
from aggregator.days import from_ms, to_ms
from aggregator.reports.section import PackContext, PackSection
from aggregator.timetext import iso

__all__ = ["PLAN_FIGURES", "plan_pack_section"]

# The figures of a province's plan, as PlanTotals names them (and the API answers them).
PLAN_FIGURES = ("rows", "open", "planned", "planned_cost_baht", "done", "spent_baht", "resolved_with_cost")


def _figures(totals: PlanTotals | None) -> dict[str, object]:
    values: dict[str, object] = {k: 0.0 if k.endswith("_baht") else 0 for k in PLAN_FIGURES}
    if totals is not None:
        values.update({k: getattr(totals, k) for k in PLAN_FIGURES})
    planned, done = int(str(values["planned"])), int(str(values["done"]))
    values["done_share"] = done / planned if planned else None  # how far the filled lines have come
    return values


def plan_pack_section(ctx: PackContext) -> PackSection:
    """Per province: plan lines, open, planned and planned cost, done, progress, and the month's spend."""
    since, until = iso(from_ms(ctx.window.start_ms)), iso(from_ms(ctx.window.end_ms))
    areas = ([(a.code, a.name_th, a.name_en) for a in ctx.areas] if ctx.province is None
             else [(ctx.report.total.code, ctx.report.total.name_th, ctx.report.total.name_en)])  # fmt: skip
    try:
        totals = plan_totals(ctx.db, None if ctx.province is None else [ctx.province],
                             now_ms=to_ms(ctx.now), since=since, until=until)  # fmt: skip
    except sqlite3.OperationalError:  # the audit or fault tables are not migrated in this database
        totals = {}
    rows = [{"code": code, "name_th": th, "name_en": en, **_figures(totals.get(code))} for code, th, en in areas]
    total: dict[str, object] = {k: sum(float(str(r[k])) for r in rows) for k in PLAN_FIGURES}
    for k in PLAN_FIGURES:
        total[k] = round(float(str(total[k])), 2) if k.endswith("_baht") else int(float(str(total[k])))
    planned, done = int(str(total["planned"])), int(str(total["done"]))
    total["done_share"] = done / planned if planned else None
    return PackSection("plan", {"since": since, "until": until, "at": ctx.now.isoformat(timespec="seconds"),
                                "rows": rows, "total": total})  # fmt: skip
