"""Faults API models: faults and their history, response figures, maintenance windows,
alert routes (never their secrets) and the delivery log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aggregator.api.schemas.base import Out

__all__ = [
    "AssignIn",
    "DeliveryPublic",
    "FaultDetail",
    "FaultPublic",
    "FaultStep",
    "FiguresPublic",
    "RepairIn",
    "RoutePublic",
    "WindowPublic",
]


class RepairIn(BaseModel):
    """A technician's repair note."""

    model_config = ConfigDict(extra="forbid")

    done: str = Field(min_length=1, max_length=2000, description="What was done")
    parts: str = Field(default="", max_length=1000, description="Parts used")
    cost: float | None = Field(default=None, ge=0, le=10_000_000, description="Cost in baht")
    wont_fix: bool = Field(default=False, description="Close as won't-fix instead of resolved")


class FaultPublic(Out):
    """A fault as the API shows it."""

    id: int
    kind: str
    status: str
    province: str
    district: str | None
    site: str | None
    camera_id: str | None
    state: str
    reason: str
    opened_at: str
    first_opened_at: str
    agency: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    resolution: str | None
    note: str
    parts: str
    cost: float | None
    parent_id: int | None
    reopen_count: int
    escalation_level: int
    alerted_at: str | None
    historical: bool
    affected: int
    broker: str | None = Field(default=None, description="A broker fault's broker, host:port (province \"00\": national)")
    assignee: str | None = Field(default=None, description="Who has the fault (who took it on or was given it)")
    site_name: str = Field(default="", description="The site's registered name (lists only)")
    address: str = Field(default="", description="The site's address (lists only)")
    lat: float | None = Field(default=None, description="The site's latitude (lists only)")
    lon: float | None = Field(default=None, description="The site's longitude (lists only)")
    phone: str = Field(default="", description="The site's contact phone (lists only)")
    distance_km: float | None = Field(default=None, description="From the near_lat/near_lon point, when asked")


class AssignIn(BaseModel):
    """Who gets a fault."""

    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(default=None, min_length=1, max_length=100,
                                 description="A technician's name; omitted or null: the caller")  # fmt: skip


class FaultStep(Out):
    """One step of a fault's history."""

    id: int
    fault_id: int
    action: str
    at: str
    by: str
    detail: str
    live: int
    kind: str
    status: str
    state: str
    reason: str


class FaultDetail(FaultPublic):
    """A fault with its full history, oldest step first."""

    history: list[FaultStep]


class FiguresPublic(Out):
    """How fast faults of one group were taken on and fixed."""

    group: str
    faults: int
    acknowledged: int
    resolved: int
    wont_fix: int
    mtta_s: float | None = Field(description="Mean seconds from opening to acknowledgement")
    mttr_s: float | None = Field(description="Mean seconds from opening to resolution")


class WindowPublic(Out):
    """A maintenance window."""

    id: int
    target_kind: str
    target_id: str
    starts_at: str | None
    ends_at: str | None
    weekday: int | None
    start_time: str | None
    duration_min: int | None
    note: str
    created_by: str


class RoutePublic(Out):
    """An alert routing rule (``has_secret`` says whether it signs; the secret is never shown)."""

    id: int
    name: str
    channel: str
    target: str
    province: str | None
    district: str | None
    agency: str | None
    fault_kind: str | None
    level: int
    enabled: bool
    has_secret: bool
    images: bool = Field(default=False, description="LINE: the camera's last snapshot goes with the alert")


class DeliveryPublic(Out):
    """One alert delivery (a webhook call, an e-mail or a LINE push), with its payload."""

    id: int
    idempotency_key: str
    channel: str
    route_id: int
    recipient: str
    province: str
    fault_ids: str
    payload: dict[str, Any] = Field(description="What was (or will be) sent")
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str
    sent_at: str | None
    last_error: str
