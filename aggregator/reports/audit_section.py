"""The audit's section of the committee report: classes, uncovered risk points, hygiene per province.

Cameras per class come from each province's current reconciliation run as the run counted them
(:func:`aggregator.audit.store.current_counts`: 77 x 7 stored numbers), not from counting the
run's lines again (400,000 at national scale): the figures are the same, since the run writes
its counts with its lines and both become current in one transaction. A province's districts
are not in those counts, so a province's pack still counts its own lines per district.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from aggregator.audit.hygiene import hygiene_flags, load_fleet, rollup
from aggregator.audit.reconcile import Class
from aggregator.audit.risk import rank_uncovered
from aggregator.audit.risk_store import province_coverage
from aggregator.audit.store import current_counts

__all__ = ["AuditSection", "audit_section", "class_counts_by_area"]


@dataclass(frozen=True)
class AuditSection:
    """What the report shows for one province (or the nation when ``province`` is None)."""

    province: str | None
    classes: dict[str, int]
    declared: int
    seen_working_share: float | None
    uncovered: list[dict[str, Any]] = field(default_factory=list)
    risk_points: int = 0
    hygiene: dict[str, int] = field(default_factory=dict)
    uncovered_total: int = 0  # every uncovered point, of which ``uncovered`` lists the worst

    def as_dict(self) -> dict[str, Any]:
        """Return the section as plain data for JSON, CSV or a template."""
        return {"province": self.province, "classes": self.classes, "declared": self.declared,
                "seen_working_share": self.seen_working_share, "risk_points": self.risk_points,
                "uncovered": self.uncovered, "uncovered_total": self.uncovered_total, "hygiene": self.hygiene}


def audit_section(db: Database, province: str | None = None, *, now_ms: int | None = None,
                  top: int = 10) -> AuditSection:
    """Summarise the latest reconciliation, risk coverage and hygiene for the report."""
    classes = {k.value: 0 for k in Class}
    for counts in current_counts(db, [province] if province else None).values():
        for klass, n in counts.items():
            classes[klass] = classes.get(klass, 0) + n
    declared = sum(n for k, n in classes.items() if k != Class.UNREGISTERED.value)
    coverage = province_coverage(db, province, now_ms=now_ms)
    worst = [c for items in rank_uncovered(coverage).values() for c in items]
    worst.sort(key=lambda c: (c.usable_30d, c.best_30d if c.best_30d is not None else -1.0,
                              c.cameras, c.point.province, c.point.name))
    fleet = load_fleet(db)
    flags = [f for f in hygiene_flags(fleet) if province is None or f.province == province]
    totals: dict[str, int] = {"cameras": 0, "default_password": 0, "old_firmware": 0,
                              "clock_skew": 0, "flagged": 0}
    for row in rollup([c for c in fleet if province is None or c.province == province], flags):
        for name in totals:
            totals[name] += getattr(row, name)
    return AuditSection(
        province=province, classes=classes, declared=declared,
        seen_working_share=(classes[Class.VERIFIED.value] / declared) if declared else None,
        uncovered=[{"province": c.point.province, "name": c.point.name, "kind": c.point.kind,
                    "cameras": c.cameras, "usable_now": c.usable_now, "usable_30d": c.usable_30d}
                   for c in worst[:top]],
        risk_points=len(coverage), hygiene=totals, uncovered_total=len(worst),
    )


def class_counts_by_area(db: Database, province: str | None = None) -> dict[str, dict[str, int]]:
    """Cameras per reconciliation class of the latest run: per province (nation, from the runs'
    counts) or per district of ``province`` (its current lines counted)."""
    if province is None:
        return current_counts(db, None)
    out: dict[str, dict[str, int]] = {}
    for area, klass, n in db.conn.execute(
            "SELECT district, klass, count(*) FROM audit_current_matches WHERE province = ? "
            "GROUP BY district, klass", [province]):  # fmt: skip
        out.setdefault(str(area), {})[str(klass)] = int(n)
    return out
