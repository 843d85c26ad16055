"""Answers of the firmware advisories API (aggregator/api/advisories.py)."""

from __future__ import annotations

from pydantic import Field

from aggregator.api.schemas.base import Out

__all__ = ["AdvisoriesPublic", "AdvisoryImported", "AdvisoryPublic", "AdvisoryCamera"]


class AdvisoryPublic(Out):
    """One advisory row: which makers, models and firmware a CVE affects."""

    maker: str
    model_pattern: str
    affected_from: str
    affected_to: str
    built_before: str
    cve: str
    kev: bool = Field(description="On CISA's Known Exploited Vulnerabilities catalog")
    title: str
    source: str


class AdvisoryCamera(Out):
    """A camera whose maker, model and firmware match at least one advisory."""

    camera: str
    province: str
    maker: str
    model: str
    firmware: str
    cves: list[str]
    kev: bool


class AdvisoriesPublic(Out):
    """The list in force, where it came from, and the matched cameras in the caller's provinces."""

    origin: str = Field(description="'shipped' (the release's file) or 'imported' (an administrator's)")
    advisories: list[AdvisoryPublic]
    counts: dict[str, dict[str, int]] = Field(description="Per province: cameras, kev, and per CVE")
    cameras: list[AdvisoryCamera]


class AdvisoryImported(Out):
    """An accepted import."""

    rows: int
