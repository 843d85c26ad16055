"""Wire messages of camwatch protocol v1 (pydantic v2 models).

Rules every model follows:

* ``v`` carries the protocol version "MAJOR.MINOR". Within major 1 fields are only
  added; readers ignore fields they do not know (``extra="ignore"``) because a fleet of
  thousands of agents is never upgraded at once. Another major version is refused by
  :func:`protocol.codec.decode` before these models see the payload.
* Times are timezone-aware UTC datetimes, never before 2000-01-01; the codec also
  refuses times more than a day ahead of the reader's clock.
* No secret ever travels: stream URIs have their user-info removed on construction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_EVENT_ID",
    "MAX_SNAPSHOT_CHARS",
    "PROTOCOL_MAJOR",
    "PROTOCOL_VERSION",
    "Ack",
    "Alert",
    "AlertAction",
    "Birth",
    "BirthCamera",
    "CameraId",
    "CameraInventory",
    "CameraState",
    "Command",
    "CommandKind",
    "Death",
    "Event",
    "Events",
    "Heartbeat",
    "HostState",
    "Message",
    "Reason",
    "SiteId",
    "SiteInfo",
    "SiteMessage",
    "Snapshot",
    "Timestamp",
    "RECORDING_REASONS",
    "CameraRecording",
    "RecorderStorage",
    "StorageStatus",
    "redact_uri",
]

PROTOCOL_MAJOR = 1
PROTOCOL_VERSION = "1.1"  # 1.1: recording reasons and heartbeat recording figures (issue 16)
# (also 1.1: night and drift reasons, CameraInventory.bitrate_kbps and rebooted_at, issue 16)
# Event ids are positive signed 64-bit integers so SQLite stores them natively.
MAX_EVENT_ID = 2**63 - 1
_EPOCH_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
# Base64 characters of one snapshot: 240,000 (about 175 KiB of JPEG) keeps the whole
# message under the codec's 256 KiB limit with room for the other fields.
MAX_SNAPSHOT_CHARS = 240_000
# A clock may run ahead a little; a day ahead is a broken clock, not drift.
MAX_FUTURE = timedelta(days=1)


def _check_time(value: datetime, info: ValidationInfo) -> datetime:
    value = value.astimezone(UTC)
    if value < _EPOCH_FLOOR:
        raise ValueError("time is before 2000-01-01: the sender's clock is not set")
    now = (info.context or {}).get("now") if info.context else None
    if now is not None and value > now + MAX_FUTURE:
        raise ValueError(f"time {value.isoformat()} is more than a day ahead of {now.isoformat()}")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_check_time)]
SiteId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Site id, also its MQTT username")]
CameraId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description="Stable camera key: serial (or MAC) plus video-source token",
    ),
]
Seq = Annotated[int, Field(ge=0, le=255, description="Per-message sequence number, wraps 255 -> 0")]
BdSeq = Annotated[int, Field(ge=0, le=255, description="Birth/death sequence, +1 per connection, wraps")]
EventId = Annotated[int, Field(ge=1, le=MAX_EVENT_ID, description="Monotonic per-site event id")]
DetailValue = str | int | float | bool | None


def redact_uri(uri: str) -> str:
    """Return ``uri`` without any user name or password in it."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class CameraState(StrEnum):
    """Availability state of one camera (DESIGN.md, camera states)."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"
    MAINTENANCE = "maintenance"


class Reason(StrEnum):
    """Why a camera is not up."""

    NONE = "none"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    ONVIF_FAILED = "onvif_failed"
    STREAM_FAILED = "stream_failed"
    NO_VIDEO = "no_video"
    FROZEN = "frozen"
    BLURRED = "blurred"
    OBSTRUCTED = "obstructed"
    SCENE_CHANGED = "scene_changed"
    LOW_FPS = "low_fps"
    CLOCK_SKEW = "clock_skew"
    SITE_OFFLINE = "site_offline"
    MISSING = "missing"
    PLANNED = "planned"
    NEVER_CONNECTED = "never_connected"  # the centre's: a site enrolled and never heard from
    # Recording health (protocol 1.1, issue 16): the live picture is fine, the footage is not.
    NOT_RECORDING = "not_recording"
    RECORDING_GAP = "recording_gap"
    RETENTION_SHORT = "retention_short"
    STORAGE_FAULT = "storage_fault"
    STORAGE_FULL = "storage_full"

    # Night vision and stream drift (issue 16; agent/night.py, agent/drift.py).
    NIGHT_BLACK = "night_black"  # fine by day, black at night
    NIGHT_NO_IR = "night_no_ir"  # fine by day, only sensor noise at night (IR dead, IR-cut stuck)
    LOW_BITRATE = "low_bitrate"  # far below the bit rate its ONVIF profile is configured to send
    RESOLUTION_CHANGED = "resolution_changed"  # not the resolution its ONVIF profile says


# A camera carrying one of these is degraded (never up): live, but not recorded as required.
RECORDING_REASONS: frozenset[Reason] = frozenset({
    Reason.NOT_RECORDING, Reason.RECORDING_GAP, Reason.RETENTION_SHORT,
    Reason.STORAGE_FAULT, Reason.STORAGE_FULL,
})


class StorageStatus(StrEnum):
    """State of one recorder's storage (protocol 1.1)."""

    OK = "ok"
    FAULT = "fault"
    FULL = "full"


class CommandKind(StrEnum):
    """What the centre can ask an agent to do."""

    REBIRTH = "rebirth"
    CHECK_NOW = "check_now"
    SNAPSHOT = "snapshot"


class AlertAction(StrEnum):
    """What happened to a fault."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    REOPENED = "reopened"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Message(_Model):
    """Base of every top-level wire message."""

    v: str = Field(
        default=PROTOCOL_VERSION,
        pattern=r"^[0-9]{1,3}\.[0-9]{1,3}$",
        description="Protocol version MAJOR.MINOR",
    )


class SiteMessage(Message):
    """A message about one site, published on that site's topics."""

    site: SiteId
    ts: Timestamp = Field(description="When the sender built the message (UTC)")


class SiteInfo(_Model):
    """What the agent's config says about its site."""

    name: str = Field(default="", max_length=200)
    agency: str = Field(default="", max_length=200, description="Owning agency")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class CameraInventory(_Model):
    """What a camera is, as read over ONVIF. Every field is optional: devices vary."""

    maker: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=100)
    firmware: str = Field(default="", max_length=100)
    serial: str = Field(default="", max_length=100)
    hardware_id: str = Field(default="", max_length=100)
    mac: str = Field(default="", max_length=17, pattern=r"^([0-9a-f]{2}(:[0-9a-f]{2}){5})?$")
    address: str = Field(default="", max_length=64, description="IP address or host name")
    onvif_port: int | None = Field(default=None, ge=1, le=65535)
    video_source: str = Field(default="", max_length=64, description="ONVIF video-source token")
    stream_uri: str = Field(default="", max_length=512, description="RTSP URI, never with credentials")
    snapshot_uri: str = Field(default="", max_length=512)
    width: int | None = Field(default=None, ge=1, le=16384)
    height: int | None = Field(default=None, ge=1, le=16384)
    fps: float | None = Field(default=None, ge=0, le=1000)
    codec: str = Field(default="", max_length=32)
    bitrate_kbps: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Bit-rate limit of its ONVIF profile, kbit/s (protocol 1.1)")
    clock_offset_s: float | None = Field(default=None, description="Camera clock minus agent clock")
    default_password: bool | None = Field(
        default=None, description="A known default password works (the password itself never travels)"
    )
    rebooted_at: Timestamp | None = Field(
        default=None, description="Last reboot the agent saw (the camera's clock jumped; protocol 1.1)")

    @field_validator("stream_uri", "snapshot_uri")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        return redact_uri(value) if value else value


class BirthCamera(_Model):
    """One camera in a birth snapshot."""

    camera_id: CameraId
    name: str = Field(default="", max_length=200)
    inventory: CameraInventory = Field(default_factory=CameraInventory)
    state: CameraState
    reason: Reason = Reason.NONE
    since: Timestamp = Field(description="Edge time the current state began")


class Birth(SiteMessage):
    """Full site snapshot, published on every (re)connect before anything else."""

    bd_seq: BdSeq
    seq: Seq = 0
    agent_version: str = Field(default="", max_length=40)
    site_info: SiteInfo = Field(default_factory=SiteInfo)
    last_event_id: int = Field(default=0, ge=0, le=MAX_EVENT_ID, description="Highest event id issued")
    part: int = Field(default=1, ge=1, le=10000, description="Part number of a split birth")
    parts: int = Field(default=1, ge=1, le=10000, description="How many parts this birth has")
    cameras: list[BirthCamera] = Field(default_factory=list)

    @model_validator(mode="after")
    def _part_within_parts(self) -> Birth:
        if self.part > self.parts:
            raise ValueError(f"part {self.part} is beyond parts {self.parts}")
        return self


class Death(SiteMessage):
    """The MQTT will: the broker publishes it when the agent's connection is lost."""

    bd_seq: BdSeq


class Event(_Model):
    """One camera state change."""

    id: EventId
    camera_id: CameraId
    at: Timestamp = Field(description="Edge time of the first check that showed the new state")
    state: CameraState
    reason: Reason = Reason.NONE
    details: dict[str, DetailValue] = Field(default_factory=dict, max_length=32)
    historical: bool = Field(default=False, description="Replayed after an outage: never alert as live")


class Events(SiteMessage):
    """A batch of camera state changes, in event-id order."""

    seq: Seq
    events: list[Event] = Field(min_length=1, max_length=10000)


class CameraRecording(_Model):
    """What the recorder holds for one camera (protocol 1.1; every field optional)."""

    recorder: str = Field(default="", max_length=64, description="Recorder id from the agent config")
    newest: Timestamp | None = Field(default=None, description="Newest recorded time")
    oldest: Timestamp | None = Field(default=None, description="Oldest recording still kept")
    retention_required_days: float | None = Field(default=None, ge=0, le=3650)
    retention_kept_days: float | None = Field(default=None, ge=0, le=36500)


class RecorderStorage(_Model):
    """Storage state of one recorder (NVR, SD card or the agent's own recording disk)."""

    status: StorageStatus = StorageStatus.OK
    free_bytes: int | None = Field(default=None, ge=0)
    total_bytes: int | None = Field(default=None, ge=0)
    detail: str = Field(default="", max_length=200, description="Maker's words, e.g. 'hdd2: error'")


class Heartbeat(SiteMessage):
    """Periodic proof of life with compact per-camera states and agent health."""

    seq: Seq
    interval_s: int = Field(default=60, ge=1, le=86400, description="Next heartbeat due within this")
    uptime_s: float = Field(default=0, ge=0)
    outbox_depth: int = Field(default=0, ge=0)
    compacted: int = Field(default=0, ge=0, description="Events merged into intervals since last heartbeat")
    clock_offset_s: float | None = Field(default=None, description="Agent clock error, when known")
    free_disk_bytes: int | None = Field(default=None, ge=0)
    cameras: dict[CameraId, CameraState] = Field(default_factory=dict)
    recording: dict[CameraId, CameraRecording] = Field(
        default_factory=dict, description="Per-camera recording figures (1.1; absent from older agents)"
    )
    recorders: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")], RecorderStorage] = Field(
        default_factory=dict, description="Storage per recorder id (1.1; absent from older agents)"
    )


class Ack(SiteMessage):
    """Centre to agent: every event up to ``event_id`` is committed and may be deleted."""

    event_id: int = Field(ge=0, le=MAX_EVENT_ID)


class Command(SiteMessage):
    """Centre to agent: do something now."""

    cmd_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    command: CommandKind
    camera_id: CameraId | None = None


class Snapshot(SiteMessage):
    """Agent to centre: the answer to a ``snapshot`` command, one JPEG or the reason there is none.

    A reply, not history: it is not kept in the agent's outbox and the centre keeps only
    the latest per camera. Exactly one of ``data`` (with ``taken_at``, ``width``, ``height``)
    and ``error`` is given.
    """

    camera_id: CameraId
    cmd_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="The command this answers")
    taken_at: Timestamp | None = Field(default=None, description="Edge time the frame was grabbed")
    content_type: Literal["image/jpeg"] = "image/jpeg"
    width: int | None = Field(default=None, ge=1, le=4096)
    height: int | None = Field(default=None, ge=1, le=4096)
    data: str = Field(
        default="",
        max_length=MAX_SNAPSHOT_CHARS,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="The JPEG, base64 (standard alphabet, padded)",
    )
    error: str | None = Field(
        default=None,
        pattern=r"^[a-z_]{1,64}$",
        description="Why there is no picture: unknown_camera, rate_limited, stream_failed, ...",
    )

    @model_validator(mode="after")
    def _picture_or_error(self) -> Snapshot:
        if self.error is None:
            if not self.data or self.taken_at is None or self.width is None or self.height is None:
                raise ValueError("a snapshot without an error needs data, taken_at, width and height")
        elif self.data:
            raise ValueError("a snapshot has either data or an error, not both")
        return self


class HostState(Message):
    """Retained aggregator state; its will publishes ``online=false``."""

    online: bool
    ts: Timestamp
    host: str = Field(default="", max_length=100)


class Alert(Message):
    """A fault notification for technician apps."""

    ts: Timestamp
    fault_id: int = Field(ge=1)
    action: AlertAction
    fault_kind: Literal["camera", "site", "district", "province", "flapping", "link", "recorder", "broker"]
    # "00": a national fault of no province (a national broker down; the broker is extra["broker"])
    province: str = Field(pattern=r"^(00|[1-9][0-9])$")
    district: str | None = Field(default=None, pattern=r"^[1-9][0-9]{3}$")
    site: SiteId | None = None
    camera_id: CameraId | None = None
    state: CameraState
    reason: Reason
    since: Timestamp
    text_en: str = Field(default="", max_length=2000)
    text_th: str = Field(default="", max_length=2000)
    url: str = Field(default="", max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    extra: dict[str, Any] = Field(default_factory=dict)
