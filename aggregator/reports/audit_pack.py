"""The register audit in the committee pack: reconciliation per area, and the uncovered risk points.

Both sections read the latest reconciliation (:mod:`aggregator.audit.store`) and the risk
points' coverage by usable cameras (:mod:`aggregator.audit.risk_store`), once per pack. Unlike
the monthly report's audit summary (:mod:`aggregator.reports.audit_section`) the pack leaves out
camera hygiene, which reads every camera's inventory (seconds at national scale) for figures
the committee pack does not print. A database without the audit tables gives empty sections.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from aggregator.audit.reconcile import Class
from aggregator.audit.risk import Coverage, coverage, rank_uncovered
from aggregator.audit.risk_store import load_coverage_cameras, load_risk_points
from aggregator.reports.audit_section import class_counts_by_area
from aggregator.reports.section import PackContext, PackSection

__all__ = ["RISK_LIST", "audit_pack_section", "risk_pack_section"]

# How many uncovered risk points the pack lists (worst first); the count of all is printed too.
RISK_LIST = 30
CLASSES = tuple(k.value for k in Class)


@dataclass(frozen=True, slots=True)
class _Audit:
    by_area: dict[str, dict[str, int]]
    points: int
    uncovered: list[Coverage]


def _audit(ctx: PackContext) -> _Audit:
    cached = ctx.memo.get("audit")
    if isinstance(cached, _Audit):
        return cached
    try:
        by_area = class_counts_by_area(ctx.db, ctx.province)
        points = load_risk_points(ctx.db, ctx.province)
    except sqlite3.OperationalError:  # the audit tables are not migrated in this database
        by_area, points = {}, []
    covered = coverage(points, load_coverage_cameras(ctx.db, points, ctx.window.end_ms)) if points else []
    worst = [c for items in rank_uncovered(covered).values() for c in items]
    worst.sort(key=lambda c: (c.usable_30d, c.best_30d if c.best_30d is not None else -1.0,
                              c.cameras, c.point.province, c.point.name))  # fmt: skip
    section = _Audit(by_area, len(points), worst)
    ctx.memo["audit"] = section
    return section


def _declared(counts: dict[str, int]) -> int:
    return sum(n for k, n in counts.items() if k != Class.UNREGISTERED.value)


def audit_pack_section(ctx: PackContext) -> PackSection:
    """Reconciliation counts per class and area, with the share of declared cameras seen working."""
    audit = _audit(ctx)
    rows = []
    totals = dict.fromkeys(CLASSES, 0)
    for a in ctx.areas:
        counts = {k: audit.by_area.get(a.code, {}).get(k, 0) for k in CLASSES}
        for k, n in counts.items():
            totals[k] += n
        declared = _declared(counts)
        rows.append({"code": a.code, "name_th": a.name_th, "name_en": a.name_en, "classes": counts,
                     "declared": declared,
                     "verified_share": counts[Class.VERIFIED.value] / declared if declared else None})  # fmt: skip
    declared = _declared(totals)
    return PackSection("audit", {
        "classes": list(CLASSES), "rows": rows,
        "total": {"classes": totals, "declared": declared,
                  "seen_working_share": totals[Class.VERIFIED.value] / declared if declared else None},
    })  # fmt: skip


def risk_pack_section(ctx: PackContext) -> PackSection:
    """The risk points no usable camera covers now, worst first (cameras usable over 30 days)."""
    audit = _audit(ctx)
    names = {str(c): (str(th), str(en)) for c, th, en in ctx.db.execute("SELECT code, name_th, name_en FROM provinces")}
    uncovered = [{"province": c.point.province, "name": c.point.name, "kind": c.point.kind, "cameras": c.cameras,
                  "usable_now": c.usable_now, "usable_30d": c.usable_30d,
                  "name_th": names.get(c.point.province, ("", ""))[0], "name_en": names.get(c.point.province, ("", ""))[1]}
                 for c in audit.uncovered[:RISK_LIST]]  # fmt: skip
    return PackSection("risk", {"risk_points": audit.points, "uncovered_total": len(audit.uncovered),
                                "uncovered": uncovered})  # fmt: skip
