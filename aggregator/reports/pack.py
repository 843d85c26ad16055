"""The committee pack: a month's report as a committee signs it, for the nation or one province.

The pack is the monthly report (:mod:`aggregator.reports.monthly`: the area table, worst
sites) followed by the sections of :data:`SECTIONS`, in page order: ranking against target,
month on month, availability by day, fault ageing, time to repair, repair progress and spend,
the provinces' repair plans, the register audit per area, register completeness and
certification, the uncovered risk points, recording and retention, firmware advisories, and
the sign-off block. Each
section is a builder (:data:`aggregator.reports.section.SectionBuilder`) and a template include
(``templates/pack/<key>.html``): a new section is one module, one line here and one template.

:mod:`aggregator.reports.pack_render` turns a pack into HTML (charts as inline SVG, no
script) and JSON; :mod:`aggregator.reports.pdf` prints the HTML with headless Chromium.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from aggregator.reports.advisories_pack import advisories_pack_section
from aggregator.reports.audit_pack import audit_pack_section, risk_pack_section
from aggregator.reports.comparison import comparison_section
from aggregator.reports.completeness_pack import completeness_pack_section
from aggregator.reports.daily import daily_section
from aggregator.reports.figures import MonthlyReport
from aggregator.reports.monthly import build_report
from aggregator.reports.plan_pack import plan_pack_section
from aggregator.reports.recording_pack import recording_pack_section
from aggregator.reports.repairs import ageing_section, mttr_section, repairs_section
from aggregator.reports.section import PackContext, PackSection, SectionBuilder
from aggregator.reports.targets import ranking_section
from aggregator.settings.report import ReportSettings
from aggregator.thaidate import previous_month

__all__ = ["SECTIONS", "CommitteePack", "build_pack", "signoff_section"]

logger = logging.getLogger(__name__)


def signoff_section(ctx: PackContext) -> PackSection:
    """The block the committee signs: prepared by, checked by, approved by (names written by hand)."""
    return PackSection("signoff", {"roles": ["prepared", "checked", "approved"]})


SECTIONS: tuple[SectionBuilder, ...] = (
    ranking_section,
    comparison_section,
    daily_section,
    ageing_section,
    mttr_section,
    repairs_section,
    plan_pack_section,
    audit_pack_section,
    completeness_pack_section,
    risk_pack_section,
    recording_pack_section,
    advisories_pack_section,
    signoff_section,
)


@dataclass(frozen=True, slots=True)
class CommitteePack:
    """A month's pack: the report and its sections, in page order."""

    report: MonthlyReport
    previous: MonthlyReport | None
    sections: tuple[PackSection, ...]

    def section(self, key: str) -> PackSection:
        """The section called ``key`` (KeyError when the pack has none)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


def build_pack(
    db: Database, month: str, province: str | None, settings: ReportSettings, *, now: datetime,
    sections: tuple[SectionBuilder, ...] = SECTIONS,
) -> CommitteePack:  # fmt: skip
    """Build the pack for ``month`` (``YYYY-MM``, Bangkok) of the nation or ``province``.

    Raises ValueError for a month not begun or an unknown province (as the report does)."""
    report = build_report(db, month, province, now=now, with_audit=False)
    try:
        previous: MonthlyReport | None = build_report(db, previous_month(month), province, now=now, with_audit=False)
    except ValueError:  # cannot happen for a real month before ``month``; kept for a clock set back
        logger.warning("committee pack %s: no report for the month before", month)
        previous = None
    ctx = PackContext(db=db, report=report, previous=previous, settings=settings, now=now)
    built = tuple(s for s in (builder(ctx) for builder in sections) if s is not None)
    return CommitteePack(report, previous, built)
