"""The figures of a committee report: one row per area, the worst sites, the report itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from aggregator.availability import Totals, Window

__all__ = ["WORST_SITES", "AreaFigures", "Lang", "MonthlyReport", "SiteFigures"]

Lang = Literal["th", "en"]
# How many sites the "worst sites" table lists: a committee page, not a data dump.
WORST_SITES = 10


@dataclass(frozen=True, slots=True)
class AreaFigures:
    """One row of a report: a province, a district, or the total."""

    code: str
    name_th: str
    name_en: str
    cameras: int = 0
    never_seen: int | None = 0  # None: the month reaches before the kept camera history
    totals: Totals = field(default_factory=Totals)
    faults_opened: int = 0
    faults_closed: int = 0
    mttr_h: float | None = None


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """A site in the worst-sites table."""

    site_id: str
    name: str
    province: str
    district: str
    district_th: str
    district_en: str
    cameras: int
    totals: Totals


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """A month's report for the nation (``province`` None) or one province."""

    month: str
    province: str | None
    province_th: str
    province_en: str
    generated_at: datetime
    window: Window
    rows: tuple[AreaFigures, ...]
    total: AreaFigures
    worst_sites: tuple[SiteFigures, ...]
    audit: dict[str, Any] | None = None  # the audit helper's register section, when available
    # Set when the month reaches before the kept camera history: "never seen" is then empty.
    camera_history_from: date | None = None
    # Issue 16: retention compliance per province at report time (aggregator/reports/recording.py).
    recording: dict[str, Any] | None = None
