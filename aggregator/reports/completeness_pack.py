"""Register completeness and certification in the committee pack, per province.

Per province, ranked as the national completeness table ranks them
(:func:`aggregator.audit.completeness.completeness`: most complete first, provinces that sent no
register last): the shares of declared cameras with a position, a serial, an owning agency and a
known status, the share verified by an agent (the latest reconciliation: seen and up), the
ghosts and the unregistered cameras, and the latest certification (the officer, when, and
whether the register or the operators' decisions changed since: :func:`changed_since`).

The figures are read on the pack's own snapshot rather than taken from the API's cached national
table: that cache is kept on another connection and may be a minute old, and it also sums every
province's repair plan, which this section does not print. Completeness is one grouped read of
the register and the runs' stored class counts (under a second at 400,000 declared cameras); the
"changed since" check hashes the register of each certified province only.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from aggregator.audit.certify import changed_since
from aggregator.audit.completeness import Completeness, completeness
from aggregator.audit.plan_store import certifications
from aggregator.reports.section import PackContext, PackSection

__all__ = ["completeness_pack_section"]

_COUNTS = ("declared", "with_position", "with_serial", "with_agency", "with_status", "seen", "verified", "ghosts",
           "unregistered")  # fmt: skip


def _total(rows: list[Completeness], code: str, name_th: str, name_en: str) -> dict[str, Any]:
    summed = {k: sum(int(getattr(r, k)) for r in rows) for k in _COUNTS}
    whole = Completeness(province=code, name_th=name_th, name_en=name_en, reconciled=any(r.reconciled for r in rows),
                         **summed)  # fmt: skip
    return whole.as_dict()


def completeness_pack_section(ctx: PackContext) -> PackSection:
    """Every province in the pack: completeness shares, share verified, ghosts, unregistered, certification."""
    provinces = None if ctx.province is None else [ctx.province]
    try:
        found = completeness(ctx.db, provinces)
        certified = certifications(ctx.db, provinces)
    except sqlite3.OperationalError:  # the audit tables are not migrated in this database
        found, certified = [], {}
    rows = []
    for rank, c in enumerate(found, start=1):
        cert = certified.get(c.province)
        rows.append({**c.as_dict(), "code": c.province, "rank": rank,
                     "certified_by": cert.officer if cert else None, "certified_at": cert.at if cert else None,
                     "changed_since_certification": changed_since(ctx.db, cert) if cert else None})  # fmt: skip
    total = ctx.report.total
    return PackSection("completeness", {
        "rows": rows, "total": _total(found, total.code, total.name_th, total.name_en),
        "certified": sum(1 for r in rows if r["certified_by"] is not None),
        "changed": sum(1 for r in rows if r["changed_since_certification"] is True),
        "registers": sum(1 for r in rows if r["declared"]),
    })  # fmt: skip
