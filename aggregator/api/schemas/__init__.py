"""API response models (separate from the wire messages in protocol/): areas, sites, cameras,
availability and operations here; faults, audit and reports in their own modules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from aggregator.api.schemas.base import Out
from aggregator.api.schemas.faults import FaultPublic
from aggregator.api.schemas.recording import RecordingPublic
from aggregator.availability import Totals
from protocol import CameraState, Reason

__all__ = [
    "AreaPublic",
    "AvailabilityPublic",
    "CameraDetail",
    "CameraPublic",
    "DayPublic",
    "Health",
    "IngestCounters",
    "MePublic",
    "NationSummary",
    "Out",
    "Page",
    "QuarantinedPublic",
    "SitePlaceIn",
    "SitePublic",
    "SnapshotRequested",
    "StateCounts",
    "TokenPublic",
    "TransitionPublic",
]

T = TypeVar("T")


class AvailabilityPublic(Out):
    """Availability over a window: two figures, and the time nobody saw or that was planned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "level": "province", "key": "10", "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z",
            "available": 0.981, "usable": 0.962, "up_s": 80000.0, "degraded_s": 1500.0, "down_s": 1600.0,
            "unknown_s": 3300.0, "maintenance_s": 0.0,
        }]},
    )  # fmt: skip

    level: str = Field(description="camera, site, district, province, agency or nation")
    key: str | None = Field(description="The code or id at that level (None for the nation)")
    start: datetime
    end: datetime
    available: float | None = Field(description="(up + degraded) / known time; null when nothing was known")
    usable: float | None = Field(description="up / known time; null when nothing was known")
    up_s: float
    degraded_s: float
    down_s: float
    unknown_s: float = Field(description="Time nobody could see (site silent): never counted as down")
    maintenance_s: float = Field(description="Planned maintenance: never counted as down")
    history_from: date | None = Field(
        default=None,
        description="Camera level, when the window starts before it: the first day (Bangkok) of the camera "
        "history still kept (CAMWATCH_HISTORY_KEEP_DAYS); the figures cover the time from then on",
    )

    @classmethod
    def of(
        cls, level: str, key: str | None, start: datetime, end: datetime, t: Totals, *, history_from: date | None = None
    ) -> AvailabilityPublic:  # fmt: skip
        return cls(
            level=level, key=key, start=start, end=end, available=t.available, usable=t.usable,
            up_s=t.up_ms / 1000, degraded_s=t.degraded_ms / 1000, down_s=t.down_ms / 1000,
            unknown_s=t.unknown_ms / 1000, maintenance_s=t.maint_ms / 1000, history_from=history_from,
        )  # fmt: skip


class StateCounts(Out):
    """Cameras in each state right now."""

    up: int = 0
    degraded: int = 0
    down: int = 0
    unknown: int = 0
    maintenance: int = 0


class NationSummary(Out):
    """The country at a glance."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "cameras": 312000, "sites": 4870, "sites_online": 4861,
        "states": {"up": 301000, "degraded": 4000, "down": 5000, "unknown": 2000, "maintenance": 0},
        "last_24h": {"level": "nation", "key": None, "start": "2026-11-01T03:00:00Z", "end": "2026-11-02T03:00:00Z",
                     "available": 0.987, "usable": 0.971, "up_s": 25900000000.0, "degraded_s": 420000000.0,
                     "down_s": 340000000.0, "unknown_s": 120000000.0, "maintenance_s": 0.0},
        "provinces": 77}]})  # fmt: skip

    cameras: int
    sites: int
    sites_online: int
    sites_never_connected: int = Field(default=0, description="Sites enrolled that have never sent a message")
    provinces: int
    states: StateCounts
    last_24h: AvailabilityPublic


class AreaPublic(Out):
    """A province or district with its cameras now."""

    code: str = Field(examples=["10"])
    name_th: str
    name_en: str
    province: str
    sites: int
    cameras: int
    states: StateCounts


class SitePublic(Out):
    """A site (gateway/NVR location)."""

    site_id: str
    province: str
    district: str
    name: str
    agency: str
    lat: float | None
    lon: float | None
    agent_version: str
    online: bool
    last_seen: datetime | None = Field(description="Last message; null while the site has never connected")
    cameras: int
    address: str = ""
    phone: str = ""
    enrolled: datetime | None = Field(default=None, description="When the site was enrolled")
    first_seen: datetime | None = Field(default=None, description="Its first message; null: never connected")
    never_connected: bool = Field(default=False, description="Enrolled and has never sent a message")
    place_by: str = Field(default="", description="Who last set the place (enrol-site or an admin token's name)")
    place_at: datetime | None = Field(default=None, description="When the place was last set")
    clock_skew: bool = Field(default=False, description="The site's clock is off by more than the tolerance")
    clock_offset_s: float | None = Field(default=None, description="Its last measured offset (positive: ahead)")
    clock_hint: str | None = Field(default=None, description="What a technician does about a skewed clock")


class SitePlaceIn(BaseModel):
    """A site's registered place, as an administrator sets it (every field; lat and lon together)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="", max_length=200)
    agency: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+() -]*$")


class CameraPublic(Out):
    """A camera in a list."""

    site_id: str
    camera_id: str
    province: str
    district: str
    name: str
    maker: str
    model: str
    firmware: str
    agency: str
    state: CameraState
    reason: Reason | str
    since: datetime
    missing: bool
    last_seen: datetime
    recording: RecordingPublic | None = Field(default=None, description="Recording figures, when its agent sends them")


class TransitionPublic(Out):
    """One state change, at its edge time."""

    at: datetime
    old_state: CameraState | None
    new_state: CameraState
    reason: str
    historical: bool


class CameraDetail(CameraPublic):
    """A camera with its inventory, recent transitions and current fault."""

    serial: str
    mac: str
    address: str
    video_source: str
    stream_uri: str = Field(description="Never carries credentials")
    width: int | None
    height: int | None
    fps: float | None
    codec: str
    first_seen: datetime
    lat: float | None
    lon: float | None
    transitions: list[TransitionPublic]
    fault: FaultPublic | None = Field(default=None, description="The open fault, when the faults service runs")


class Page(Out, Generic[T]):
    """One page of a list."""

    total: int = Field(description="Items matching the filters")
    limit: int
    offset: int
    items: list[T]


class IngestCounters(Out):
    """What ingest has done and refused."""

    cameras: int
    sites: int
    transitions: int
    quarantined: dict[str, int] = Field(description="Refused payloads per reason")
    ingest: dict[str, float] = Field(default_factory=dict, description="Live counters of the MQTT ingest, when running")


class DayPublic(Out):
    """One Bangkok day of a camera."""

    date: date
    up_s: float
    degraded_s: float
    down_s: float
    unknown_s: float
    maintenance_s: float


class SnapshotRequested(Out):
    """A snapshot command was published; the answer will carry ``cmd_id``."""

    site_id: str
    camera_id: str
    cmd_id: str


class Health(Out):
    """Liveness and the parts that are running."""

    status: str
    database: bool
    ingest_connected: bool | None
    feed_clients: int
    reasons: list[str] = Field(default_factory=list, description="Why it is not healthy, one line each")


class QuarantinedPublic(Out):
    """One refused payload (its first bytes are not shown: they may be anything)."""

    at: datetime
    topic: str
    reason: str
    detail: str
    size: int


class TokenPublic(Out):
    """An API token's metadata (never the token)."""

    id: int
    name: str
    role: str
    provinces: list[str]
    created: datetime
    revoked: datetime | None
    expires: datetime | None = Field(default=None, description="When the token stops working (null: never)")


class MePublic(Out):
    """The caller's token: name, role, provinces (empty = all) and when it expires (null = never)."""

    name: str
    role: str
    provinces: list[str]
    expires: datetime | None = None
