"""What a section of the committee pack is: a builder reading a shared context, its data, its template.

A section is one module with a builder (``PackContext -> PackSection``) and one template
include, ``templates/pack/<key>.html``; :data:`aggregator.reports.pack.SECTIONS` lists the
builders in page order. Section data is plain JSON-ready data (numbers as fractions of 1 for
shares, hours as floats, codes rather than words), so the same data answers the API and
fills the page; the template chooses the words for the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from aggregator.availability import Window
from aggregator.reports.figures import AreaFigures, MonthlyReport
from aggregator.settings.report import ReportSettings

__all__ = ["PackContext", "PackSection", "SectionBuilder", "area_key"]


@dataclass(frozen=True, slots=True)
class PackContext:
    """What every section reads: the month's report, last month's, the targets, the clock."""

    db: Database
    report: MonthlyReport  # this month, with the audit section when the tables exist
    previous: MonthlyReport | None  # last month (None when it reaches before the database)
    settings: ReportSettings
    now: datetime
    # What several sections read once (the fault book's rows): filled by the first who needs it.
    memo: dict[str, object] = field(default_factory=dict)

    @property
    def province(self) -> str | None:
        """The province of a provincial pack (None: the nation's)."""
        return self.report.province

    @property
    def window(self) -> Window:
        """The month as far as it has gone (up to ``now``)."""
        return self.report.window

    @property
    def areas(self) -> tuple[AreaFigures, ...]:
        """The pack's rows: provinces of the nation, or districts of a province."""
        return self.report.rows


@dataclass(frozen=True, slots=True)
class PackSection:
    """One section: its key (template ``pack/<key>.html``, title label ``section.<key>``) and data."""

    key: str
    data: Mapping[str, object]


SectionBuilder = Callable[[PackContext], PackSection | None]


def area_key(province: str | None, prov: str, district: str | None) -> str:
    """The row a record belongs to: its province in the nation's pack, its district in a province's."""
    return prov if province is None else (district or "")
