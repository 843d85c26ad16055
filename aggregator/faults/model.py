"""Fault records, changes and rule settings shared by the engine, the store and the notifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from protocol import NATIONAL_SCOPE, CameraState, Reason

__all__ = [
    "NATIONAL",
    "Fault",
    "FaultAction",
    "FaultChange",
    "FaultKind",
    "FaultRules",
    "FaultStatus",
    "RepairNote",
    "Resolution",
    "TransitionLike",
]


class FaultKind(StrEnum):
    """What a fault is about; the values match ``protocol.Alert.fault_kind``."""

    CAMERA = "camera"
    FLAPPING = "flapping"
    SITE = "site"
    DISTRICT = "district"
    PROVINCE = "province"
    LINK = "link"  # a province's bridge to the national broker is down (aggregator.faults.links)
    RECORDER = "recorder"  # a site's recorder stopped recording all its cameras (aggregator.faults.recorders)
    BROKER = "broker"  # a national broker the aggregator uses is unreachable (aggregator.faults.brokers)


# The province of a fault that is no province's: a national broker down. "00" is no DOPA code,
# so no token's scope can name it: only national callers (scope: every province) see it.
NATIONAL = NATIONAL_SCOPE


class FaultStatus(StrEnum):
    """Where a fault is in its lifecycle."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    WONT_FIX = "wont_fix"

    @property
    def active(self) -> bool:
        """Whether the fault still needs someone (open or acknowledged)."""
        return self in (FaultStatus.OPEN, FaultStatus.ACKNOWLEDGED)


class Resolution(StrEnum):
    """How a fault ended."""

    AUTO = "auto"
    TECHNICIAN = "technician"
    WONT_FIX = "wont_fix"


class FaultAction(StrEnum):
    """One step of a fault's history."""

    OPENED = "opened"
    REOPENED = "reopened"
    FLAPPING = "flapping"  # a camera fault became a flapping fault
    UPDATED = "updated"  # state or reason changed while open
    HELD = "held"  # placed under a wider (site/district/province) fault
    RELEASED = "released"  # the wider fault ended; this one stands alone now
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"  # won't fix
    ALERTED = "alerted"  # the first live notification was handed to the channels
    ASSIGNED = "assigned"  # an acknowledged fault handed to another technician


class TransitionLike(Protocol):
    """What the engine reads from a state transition (aggregator.store.state.Transition)."""

    @property
    def site(self) -> str: ...
    @property
    def province(self) -> str: ...
    @property
    def district(self) -> str: ...
    @property
    def camera_id(self) -> str | None: ...
    @property
    def old_state(self) -> CameraState | None: ...
    @property
    def new_state(self) -> CameraState: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def at(self) -> datetime: ...
    @property
    def historical(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RepairNote:
    """What a technician did to fix (or decide not to fix) a fault."""

    done: str
    parts: str = ""
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault as it stands now (a row of the ``faults`` table)."""

    id: int
    kind: FaultKind
    status: FaultStatus
    province: str
    district: str | None
    site: str | None
    camera_id: str | None
    state: CameraState
    reason: Reason
    opened_at: datetime
    first_opened_at: datetime
    agency: str = ""
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: Resolution | None = None
    note: str = ""
    parts: str = ""
    cost: float | None = None
    parent_id: int | None = None
    reopen_count: int = 0
    escalation_level: int = 0
    alerted_at: datetime | None = None
    historical: bool = False
    affected: int = 1  # sites under an area fault, else 1
    broker: str | None = None  # a broker fault's broker, "host:port" (never credentials)

    @property
    def key(self) -> tuple[str, str]:
        """Identity of what is failing: a flapping camera keeps its camera fault's key."""
        if self.kind in (FaultKind.CAMERA, FaultKind.FLAPPING):
            return ("camera", self.camera_id or "")
        if self.kind is FaultKind.SITE:
            return ("site", self.site or "")
        if self.kind is FaultKind.DISTRICT:
            return ("district", self.district or "")
        if self.kind is FaultKind.LINK:
            return ("link", self.province)
        if self.kind is FaultKind.RECORDER:
            return ("recorder", self.site or "")
        if self.kind is FaultKind.BROKER:
            return ("broker", self.broker or "")
        return ("province", self.province)

    @property
    def duration_s(self) -> float | None:
        """Seconds from (latest) opening to resolution, when resolved."""
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.opened_at).total_seconds()


@dataclass(frozen=True, slots=True)
class FaultChange:
    """One step of one fault; ``live`` is False for replayed (historical) input."""

    action: FaultAction
    fault: Fault
    at: datetime
    live: bool = True
    by: str = ""
    detail: str = ""


class FaultRules(BaseModel):
    """Tunable fault rules (part of the aggregator settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flap_changes: int = Field(
        default=4, ge=2, le=1000, description="More than this many changes in the window is flapping"
    )
    flap_window_s: float = Field(default=600, ge=10, le=86400, description="Flapping window")
    reopen_window_s: float = Field(
        default=86400, ge=0, le=30 * 86400,
        description="A failure this soon after resolution (or a won't-fix closure) reopens that fault",
    )  # fmt: skip
    area_window_s: float = Field(
        default=120, ge=1, le=3600, description="Sites lost within this are lost 'at once'"
    )
    area_fraction: float = Field(
        default=0.9, gt=0, le=1, description="Share of an area's sites lost at once for an area fault"
    )
    area_min_sites: int = Field(default=3, ge=2, le=100000, description="Smallest area with area faults")
    area_clear_fraction: float = Field(
        default=0.5, ge=0, lt=1, description="An area fault ends when fewer than this share stay lost"
    )
    escalate_after_s: tuple[float, ...] = Field(
        default=(1800.0, 7200.0),
        description="Unacknowledged this long after the alert: escalate to level 1, 2, ...",
    )
