"""Report API models: the monthly report as the dashboard draws it, and a camera's daily bars."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from aggregator.api.schemas.base import Out

__all__ = ["CameraDayBar", "CommitteePackPublic", "MonthlyReportPublic", "PackTotal", "ReportArea", "ReportColumn", "ReportSite", "ReportWindow"]


class ReportColumn(Out):
    """A column of the report's table: key, label in the asked language, and kind."""

    key: str
    label: str
    kind: Literal["text", "int", "pct", "hours"]


class ReportArea(Out):
    """A row of the report: a province, a district, or the total (code TH or the province)."""

    code: str
    name: str
    cameras: int
    available: float | None
    usable: float | None
    unknown_h: float
    maintenance_h: float
    never_seen: int | None = Field(description="Null when the month reaches before the kept camera history")
    faults_opened: int
    faults_closed: int
    mttr_h: float | None


class ReportSite(Out):
    """A site of the worst-sites table."""

    site_id: str
    name: str
    province: str
    district: str
    district_name: str
    cameras: int
    available: float | None
    usable: float | None
    down_h: float


class ReportWindow(Out):
    """The month as UTC instants."""

    start: str
    end: str


class MonthlyReportPublic(Out):
    """A month's availability report (format=json)."""

    title: str
    month: str
    province: str | None
    generated_at: str
    window: ReportWindow
    columns: list[ReportColumn]
    rows: list[ReportArea] = Field(description="One row per province or district, then the total")
    worst_sites: list[ReportSite]
    audit: dict[str, Any] | None = Field(description="The register audit's section, when asked for and present")
    camera_history_from: str | None
    recording: dict[str, Any] | None = Field(
        default=None, description="Retention compliance per province at report time (issue 16), when figures exist"
    )


class PackTotal(Out):
    """The pack's headline figures: the nation or the province over the month."""

    code: str
    cameras: int
    available: float | None
    usable: float | None


class CommitteePackPublic(Out):
    """A month's committee pack (format=json): headline figures and each section's data."""

    title: str
    month: str
    month_text: str = Field(description="The month in words: Thai month name and Buddhist-era year for lang=th")
    province: str | None
    generated_at: str
    window: ReportWindow
    total: PackTotal
    sections: dict[str, dict[str, Any]] = Field(
        description="Per section key (ranking, comparison, daily, ageing, mttr, repairs, plan, audit, completeness, "
        "risk, signoff), its data: shares as fractions of 1, changes and gaps in percentage points, hours, baht"
    )


class CameraDayBar(Out):
    """One Bangkok day of a camera: seconds per state and the two figures (null when nothing was known)."""

    date: str
    up_s: float
    degraded_s: float
    down_s: float
    unknown_s: float
    maintenance_s: float
    available: float | None
    usable: float | None
