"""Ranking against target: each area's usable (or available) share beside its target, worst gap first.

The targets are operator settings (``report.target_pct``, ``report.province_targets``,
``report.target_figure``): a province is held to its own target, else the national one; the
districts of a province are held to their province's target. An area with no known time in
the month has no figure: it is listed last, neither met nor missed.
"""

from __future__ import annotations

from aggregator.availability import Totals
from aggregator.reports.figures import AreaFigures
from aggregator.reports.section import PackContext, PackSection
from aggregator.settings.report import ReportSettings

__all__ = ["figure_of", "ranking_section", "target_for"]


def target_for(settings: ReportSettings, province: str | None) -> float:
    """The target (a fraction of 1) of ``province``, or the national one for None."""
    pct = settings.targets().get(province, settings.target_pct) if province else settings.target_pct
    return pct / 100.0


def figure_of(totals: Totals, figure: str) -> float | None:
    """The share a target is set on (``usable`` or ``available``)."""
    return totals.usable if figure == "usable" else totals.available


def _row(area: AreaFigures, target: float, figure: str) -> dict[str, object]:
    value = figure_of(area.totals, figure)
    return {
        "code": area.code, "name_th": area.name_th, "name_en": area.name_en, "cameras": area.cameras,
        "value": value, "target": target,
        "gap_pts": None if value is None else round((value - target) * 100, 4),
        "meets": None if value is None else value >= target,
    }  # fmt: skip


def ranking_section(ctx: PackContext) -> PackSection:
    """Every area against its target, ranked from the widest shortfall to the widest margin."""
    figure = ctx.settings.target_figure
    rows = [_row(a, target_for(ctx.settings, a.code if ctx.province is None else ctx.province), figure)
            for a in ctx.areas]  # fmt: skip
    rows.sort(key=lambda r: (r["gap_pts"] is None, r["gap_pts"] if isinstance(r["gap_pts"], float) else 0.0,
                             str(r["code"])))  # fmt: skip
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank if r["value"] is not None else None
    total = _row(ctx.report.total, target_for(ctx.settings, ctx.province), figure)
    return PackSection("ranking", {
        "figure": figure, "rows": rows, "total": total,
        "met": sum(1 for r in rows if r["meets"] is True),
        "missed": sum(1 for r in rows if r["meets"] is False),
        "no_data": sum(1 for r in rows if r["meets"] is None),
    })  # fmt: skip
