"""Models of the province's plans: completeness table, repair, installation and linking plans,
the fields a province fills per line, and certification."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.api.schemas.base import Out

__all__ = [
    "CertificationOut",
    "CertificationStateOut",
    "CertifyIn",
    "CompletenessRow",
    "EntryOut",
    "InstallPlanOut",
    "LinkCamera",
    "LinkGroupOut",
    "LinkPlanOut",
    "PlanEntryIn",
    "PlanLineOut",
    "PlanTotalsOut",
    "ProposalOut",
    "RepairPlanOut",
]


class PlanEntryIn(BaseModel):
    """What a province fills for one line of one of its plans (every field replaces the stored one)."""

    model_config = ConfigDict(extra="forbid")

    plan: Literal["repair", "install", "link"]
    item: str = Field(min_length=3, max_length=400, description="The line's item: camera:<key>, fault:<id> or risk:<key>")
    action: str = Field(default="", max_length=500, description="Action (repair), purpose (install) or step (link)")
    agency: str = Field(default="", max_length=200, description="Responsible (or owner) agency")
    target_date: date | None = None
    cost_baht: float | None = Field(default=None, ge=0, le=1e10, description="Estimated cost in baht")
    priority: int | None = Field(default=None, ge=1, le=9)
    note: str = Field(default="", max_length=1000)


class EntryOut(Out):
    """What the province filled for a line (empty when nothing yet)."""

    action: str = ""
    agency: str = ""
    target_date: str | None = None
    cost_baht: float | None = None
    priority: int | None = None
    note: str = ""
    by: str = ""
    at: str = ""


class PlanLineOut(Out):
    """One line of the repair plan, with its risk figures and the province's fields."""

    item: str
    kind: Literal["declared", "fault"]
    province: str
    district: str
    location: str
    owner: str
    camera: str | None
    declared_key: str | None
    lat: float | None
    lon: float | None
    register_status: str | None
    klass: str | None = Field(description="Reconciliation class of the declared camera")
    fault_id: int | None
    fault_state: str | None
    fault_opened_at: str | None
    age_days: float | None
    uncovered_points: list[str] = Field(description="Uncovered risk points the camera lies within")
    importance: int = Field(description="Risk points (covered or not) the camera lies within")
    status: Literal["open", "done"]
    parts: str
    spent_baht: float | None
    entry: EntryOut


class PlanTotalsOut(Out):
    """A province's repair plan in figures."""

    province: str
    rows: int
    open: int
    planned: int
    planned_cost_baht: float
    done: int
    spent_baht: float
    resolved_with_cost: int


class RepairPlanOut(Out):
    """The province's repair plan, most urgent first, then the done lines."""

    province: str
    totals: PlanTotalsOut
    rows: list[PlanLineOut]


class ProposalOut(Out):
    """Cameras proposed at one uncovered risk point and the points they would cover."""

    item: str
    point: str
    kind: str
    lat: float
    lon: float
    radius_m: float
    required: int
    usable_now: int
    cameras_needed: int
    adds: list[str]
    entry: EntryOut


class InstallPlanOut(Out):
    """The province's installation plan and the coverage it would bring."""

    province: str
    risk_points: int
    uncovered_now: int
    uncovered_after: int
    cameras_proposed: int
    proposals: list[ProposalOut]


class LinkCamera(Out):
    """A declared camera no agent watches."""

    item: str
    key: str
    register_id: str
    district: str
    location: str
    lat: float
    lon: float
    ip: str
    serial: str
    status: str
    entry: EntryOut


class LinkGroupOut(Out):
    """Unwatched declared cameras of one site and agency."""

    site: str
    agency: str
    cameras: list[LinkCamera]


class LinkPlanOut(Out):
    """The province's linking plan."""

    province: str
    cameras: int
    groups: list[LinkGroupOut]


class CompletenessRow(Out):
    """One province in the national completeness table (with its plan and certification)."""

    rank: int
    province: str
    name_th: str
    name_en: str
    declared: int
    with_position: int
    with_serial: int
    with_agency: int
    with_status: int
    seen: int
    verified: int
    ghosts: int
    unregistered: int
    reconciled: bool
    position_share: float | None
    serial_share: float | None
    agency_share: float | None
    status_share: float | None
    seen_share: float | None
    verified_share: float | None
    score: float | None
    plan: PlanTotalsOut | None
    certified_at: str | None
    certified_by: str | None


class CertifyIn(BaseModel):
    """A province certifies its audit: the officer who signs, and a note."""

    model_config = ConfigDict(extra="forbid")

    officer: str = Field(min_length=1, max_length=200, description="Name and position of the signing officer")
    note: str = Field(default="", max_length=2000)


class CertificationOut(Out):
    """A certification as stored: never changed after it was made."""

    id: int
    province: str
    officer: str
    by: str
    at: str
    note: str
    snapshot: dict[str, Any]


class CertificationStateOut(Out):
    """The province's latest certification, whether its register changed since, and the figures now."""

    province: str
    certification: CertificationOut | None
    changed_since_certification: bool
    changes: list[dict[str, Any]]
    current: dict[str, Any]
