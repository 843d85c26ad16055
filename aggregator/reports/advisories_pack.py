"""Firmware advisories in the committee pack (issue 16): matched cameras per province, by CVE.

A fact for the committee, never an action: the figures are
:func:`aggregator.audit.advisories.advisory_counts` (the counts ``GET /api/v1/audit/advisories``
answers and the hygiene flag ``advisory`` counts), read when the pack is made: per province the
cameras whose maker, model and firmware match any advisory, those matching one on CISA's Known
Exploited Vulnerabilities catalog, and the cameras per CVE. Provinces without a matched camera
are left out; a province's pack has its own row only.
"""

from __future__ import annotations

import logging
import sqlite3

from aggregator.audit.advisories import Advisory, advisory_counts, current_advisories
from aggregator.reports.section import PackContext, PackSection

__all__ = ["advisories_pack_section"]

logger = logging.getLogger(__name__)


def _cves(listed: list[Advisory], totals: dict[str, int]) -> list[dict[str, object]]:
    """The matched CVEs, most cameras first: whether on KEV, the advisory's title and source."""
    first: dict[str, Advisory] = {}
    kev: dict[str, bool] = {}
    for a in listed:
        first.setdefault(a.cve, a)
        kev[a.cve] = kev.get(a.cve, False) or a.kev
    return [{"cve": cve, "kev": kev.get(cve, False), "title": first[cve].title if cve in first else "",
             "source": first[cve].source if cve in first else "", "cameras": n}
            for cve, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]  # fmt: skip


def advisories_pack_section(ctx: PackContext) -> PackSection:
    """Per province: cameras matched by an advisory, by a KEV one, and per CVE; the CVEs matched."""
    try:
        counts = advisory_counts(ctx.db, ctx.province)
        listed = current_advisories(ctx.db)
        imported = ctx.db.conn.execute("SELECT 1 FROM advisories LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # the advisories table is not migrated in this database
        logger.warning("committee pack: no advisories table; the advisories section is empty")
        counts, listed, imported = {}, [], False
    names = {a.code: (a.name_th, a.name_en) for a in ctx.areas} if ctx.province is None else {
        ctx.province: (ctx.report.total.name_th, ctx.report.total.name_en)}  # fmt: skip
    rows: list[dict[str, object]] = []
    per_cve: dict[str, int] = {}
    for code, figures in counts.items():
        th, en = names.get(code, (code, code))
        cves = {k: v for k, v in figures.items() if k.startswith("CVE-")}
        for cve, n in cves.items():
            per_cve[cve] = per_cve.get(cve, 0) + n
        rows.append({"code": code, "name_th": th, "name_en": en, "cameras": figures.get("cameras", 0),
                     "kev": figures.get("kev", 0), "cves": cves})  # fmt: skip
    total = {"cameras": sum(int(str(r["cameras"])) for r in rows), "kev": sum(int(str(r["kev"])) for r in rows),
             "cves": dict(sorted(per_cve.items()))}  # fmt: skip
    return PackSection("advisories", {
        "at": ctx.now.isoformat(timespec="seconds"), "origin": "imported" if imported else "shipped",
        "listed": len(listed), "rows": rows, "total": total, "cves": _cves(listed, per_cve)})  # fmt: skip
