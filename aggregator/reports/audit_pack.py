"""The register audit in the committee pack: reconciliation per area, and the uncovered risk points.

Both sections read the latest reconciliation and risk coverage (:mod:`aggregator.audit`)
through :func:`aggregator.reports.audit_section.audit_section`, once per pack. A database
without the audit tables gives empty sections rather than no pack.
"""

from __future__ import annotations

import sqlite3

from aggregator.audit.reconcile import Class
from aggregator.reports.audit_section import AuditSection, audit_section, class_counts_by_area
from aggregator.reports.section import PackContext, PackSection

__all__ = ["RISK_LIST", "audit_pack_section", "risk_pack_section"]

# How many uncovered risk points the pack lists (worst first); the count of all is printed too.
RISK_LIST = 30
CLASSES = tuple(k.value for k in Class)


def _audit(ctx: PackContext) -> AuditSection | None:
    cached = ctx.memo.get("audit")
    if isinstance(cached, AuditSection):
        return cached
    try:
        section = audit_section(ctx.db, ctx.province, now_ms=ctx.window.end_ms, top=RISK_LIST)
    except sqlite3.OperationalError:  # the audit tables are not migrated in this database
        return None
    ctx.memo["audit"] = section
    return section


def audit_pack_section(ctx: PackContext) -> PackSection:
    """Reconciliation counts per class and area, with the share of declared cameras seen working."""
    summary = _audit(ctx)
    try:
        by_area = class_counts_by_area(ctx.db, ctx.province)
    except sqlite3.OperationalError:
        by_area = {}
    rows = []
    for a in ctx.areas:
        counts = {k: by_area.get(a.code, {}).get(k, 0) for k in CLASSES}
        declared = sum(n for k, n in counts.items() if k != Class.UNREGISTERED.value)
        rows.append({"code": a.code, "name_th": a.name_th, "name_en": a.name_en, "classes": counts,
                     "declared": declared,
                     "verified_share": counts[Class.VERIFIED.value] / declared if declared else None})  # fmt: skip
    return PackSection("audit", {
        "classes": list(CLASSES), "rows": rows,
        "total": summary.as_dict() if summary else {"classes": dict.fromkeys(CLASSES, 0), "declared": 0,
                                                    "seen_working_share": None, "hygiene": {}},
    })  # fmt: skip


def risk_pack_section(ctx: PackContext) -> PackSection:
    """The risk points no usable camera covers now, worst first (cameras usable over 30 days)."""
    summary = _audit(ctx)
    names = {str(c): (str(th), str(en)) for c, th, en in ctx.db.execute("SELECT code, name_th, name_en FROM provinces")}
    uncovered = [{**p, "name_th": names.get(str(p["province"]), ("", ""))[0],
                  "name_en": names.get(str(p["province"]), ("", ""))[1]}
                 for p in (summary.uncovered if summary else [])]  # fmt: skip
    return PackSection("risk", {
        "risk_points": summary.risk_points if summary else 0,
        "uncovered_total": summary.uncovered_total if summary else 0,
        "uncovered": uncovered,
    })  # fmt: skip
