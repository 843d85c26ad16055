"""Audit API models: what the operator sends (overrides, runs) and what the register audit answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aggregator.api.schemas.base import Out

__all__ = [
    "CameraInRadius",
    "DeclaredEditIn",
    "DeclaredOne",
    "DeclaredPublic",
    "EditOut",
    "HistoryEntry",
    "HygieneCamera",
    "HygieneSite",
    "HygienePublic",
    "ImportLogEntry",
    "MatchPublic",
    "OverrideIn",
    "OverridePublic",
    "ProvinceHygienePublic",
    "ReconcileIn",
    "ReconcileRun",
    "RegisterImport",
    "RejectionPublic",
    "RiskCoveragePublic",
    "RiskImport",
    "StatusOut",
]


class OverrideIn(BaseModel):
    """An operator's decision about one declared/discovered pair."""

    model_config = ConfigDict(extra="forbid")

    declared_key: str = Field(min_length=1, max_length=300)
    discovered_key: str = Field(min_length=1, max_length=200)
    action: Literal["match", "reject"]
    note: str = Field(default="", max_length=1000)


class ReconcileIn(BaseModel):
    """Options of a reconciliation run."""

    model_config = ConfigDict(extra="forbid")

    province: str | None = Field(default=None, pattern=r"^[1-9][0-9]$")
    position_m: float = Field(default=30.0, gt=0, le=1000)
    moved_m: float = Field(default=150.0, gt=0, le=100000)


class RejectionPublic(Out):
    """One refused row: its line in the file, every reason (in the caller's language) and the
    row's cells as the user wrote them (file header -> value)."""

    line: int
    reasons: list[str]
    values: dict[str, str] = Field(default_factory=dict)


class RegisterImport(Out):
    """What a register import did; ``rejections`` lists the first refused rows."""

    import_id: int
    source: str
    format: str
    encoding: str
    header_line: int
    columns: dict[str, str] = Field(description="Field -> the file's header it was read from")
    ignored_columns: list[str]
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    absent: int
    rejections: list[RejectionPublic]


class RiskImport(Out):
    """What a risk-point import did."""

    import_id: int
    rows: int
    inserted: int
    updated: int
    rejected: int
    rejections: list[RejectionPublic]


class ImportLogEntry(Out):
    """One import with its counts."""

    id: int
    kind: str
    at: str
    source: str
    format: str
    encoding: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    by: str


class ReconcileRun(Out):
    """A finished reconciliation run: cameras per class."""

    run_id: int
    province: str | None
    counts: dict[str, int]


class MatchPublic(Out):
    """A declared or discovered camera with its class, rule and confidence."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    klass: str = Field(alias="class", serialization_alias="class")
    declared_key: str | None
    discovered_key: str | None
    rule: str | None
    confidence: float | None
    distance_m: float | None
    province: str
    district: str | None
    state: str | None
    lat: float | None
    lon: float | None
    note: str | None
    location: str | None
    agency: str | None


class DeclaredPublic(Out):
    """A camera of the register with the class of its latest match."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    key: str
    register_id: str | None
    province: str
    district: str | None
    agency: str | None
    location: str | None
    lat: float | None
    lon: float | None
    maker: str | None
    model: str | None
    ip: str | None
    mac: str | None
    serial: str | None
    installed: str | None
    status: str | None
    site: str | None
    line: int | None
    klass: str | None = Field(alias="class", serialization_alias="class")
    discovered_key: str | None
    rule: str | None
    state: str | None = Field(default=None, description="Live state of the paired camera at the latest run")
    version: int = Field(default=1, description="Send in If-Match to edit")


class OverridePublic(Out):
    """An operator's decision."""

    declared_key: str
    discovered_key: str
    action: str
    note: str
    by: str
    at: str


class StatusOut(Out):
    """What a change did."""

    status: str
    applies: str | None = None


class CameraInRadius(Out):
    """A camera within a risk point's radius: where, how far, usable now."""

    camera: str
    lat: float
    lon: float
    distance_m: float
    usable_now: bool


class RiskCoveragePublic(Out):
    """Cameras around one risk point: within its radius, usable now and over 30 days."""

    province: str
    name: str
    kind: str
    lat: float
    lon: float
    radius_m: float
    required: int
    cameras: int
    usable_now: int
    usable_30d: int
    best_30d: float | None
    nearest_usable_m: float | None
    covered: bool
    inside: list[CameraInRadius] = Field(default_factory=list, description="The cameras within the radius")


class ProvinceHygienePublic(Out):
    """Security hygiene counts of one province."""

    province: str
    cameras: int
    default_password: int
    old_firmware: int
    clock_skew: int
    flagged: int
    advisory: int = 0
    replaced: int = 0
    rebooting: int = 0


class HygieneCamera(Out):
    """A flagged camera."""

    camera: str
    province: str
    flags: list[str]
    firmware: str
    newest_firmware: str
    clock_offset_s: float | None
    cves: list[str] = []


class HygieneSite(Out):
    """A site whose gateway clock is off by more than the tolerance."""

    site_id: str
    province: str
    flags: list[str]
    clock_offset_s: float | None
    hint: str


class HygienePublic(Out):
    """Hygiene per province, the flagged cameras and the sites whose clock is off."""

    provinces: list[ProvinceHygienePublic]
    cameras: list[HygieneCamera]
    sites: list[HygieneSite] = []


# A cell as the officer types it in the edit form (text, or a number for a coordinate).
Cell = Annotated[str, StringConstraints(max_length=300)] | float | None


class DeclaredEditIn(BaseModel):
    """Changes to one declared camera, values as typed (checked exactly as an import row).

    Only the fields sent change. The province and the register id make the camera's key and
    cannot be edited."""

    model_config = ConfigDict(extra="forbid")

    district: Cell = None
    agency: Cell = None
    location: Cell = None
    lat: Cell = None
    lon: Cell = None
    maker: Cell = None
    model: Cell = None
    ip: Cell = None
    mac: Cell = None
    serial: Cell = None
    installed: Cell = None
    status: Cell = None
    site: Cell = None


class DeclaredOne(Out):
    """One declared camera with its version (send it back in ``If-Match`` to edit)."""

    key: str
    register_id: str
    province: str
    district: str
    agency: str
    location: str
    lat: float
    lon: float
    maker: str
    model: str
    ip: str
    mac: str
    serial: str
    installed: str | None
    status: str
    site: str
    version: int
    line: int
    import_id: int
    last_imported: str


class EditOut(Out):
    """What an edit did: the camera's new version and each changed field (before, after)."""

    key: str
    version: int
    changed: dict[str, list[str | float | None]]


class HistoryEntry(Out):
    """One line of a declared camera's audit trail."""

    at: str
    by: str
    action: str = Field(description="edit, override_match, override_reject or override_delete")
    version: int | None
    before: dict[str, str | float | None]
    after: dict[str, str | float | None]
