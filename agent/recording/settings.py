"""The ``recording:`` section of the agent YAML (validated with the rest of agent/config.py).

Kept here, beside the backends that read it; it depends on pydantic only, so agent.config
can import it without an import cycle. Credentials are *names* in the camera secrets file,
as a camera's ``credential`` is: a password is never written in the config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RecordedCamera", "RecorderConfig", "RecordingConfig", "RecorderKind"]

RecorderKind = Literal["directory", "onvif", "hikvision", "dahua"]
# Default HTTP port per kind (the directory recorder has none).
DEFAULT_PORTS: dict[str, int] = {"onvif": 80, "hikvision": 80, "dahua": 80}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordedCamera(_Settings):
    """Where one camera's footage is on its recorder."""

    channel: str = Field(
        default="", max_length=256,
        description=(
            "directory: glob under the recorder path ('' = '<camera id>/**/*'); onvif: recording token; "
            "hikvision: track id (101 = channel 1 main); dahua: channel number from 1"
        ),
    )
    retention_days: float | None = Field(
        default=None, ge=0, le=3650, description="Required retention for this camera (None = the section's)"
    )


class RecorderConfig(_Settings):
    """One recorder: an NVR, a camera's SD card, or a directory a local recorder writes."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Recorder id, shown at the centre")
    kind: RecorderKind
    address: str = Field(default="", max_length=253, description="Host of an NVR or camera")
    port: int | None = Field(default=None, ge=1, le=65535, description="HTTP/ONVIF port (None = 80)")
    https: bool = Field(default=False, description="Talk HTTPS to a maker API")
    verify_tls: bool = Field(default=False, description="Verify the device certificate (most are self-signed)")
    credential: str | None = Field(default=None, max_length=64, description="Name in the camera secrets file")
    path: Path | None = Field(default=None, description="directory: the recording root")
    smartctl_device: str | None = Field(
        default=None, max_length=128, description="directory: disk for 'smartctl --json -H' (used when installed)"
    )
    device_utc_offset_h: float | None = Field(
        default=None, ge=-14, le=14,
        description="Hours the device's clock is ahead of UTC when it answers in local time (Thailand: 7); None = UTC",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=120, description="Each network call or smartctl run")
    min_free_bytes: int | None = Field(
        default=0, ge=0,
        description=(
            "Free bytes at or below = storage_full; None = never. Default 0 for a directory, None for "
            "NVRs and cameras, which overwrite their oldest footage (retention_short catches a disk too small)"
        ),
    )
    cameras: dict[str, RecordedCamera] = Field(
        default_factory=dict, max_length=4096, description="Camera id -> where its footage is"
    )

    @model_validator(mode="before")
    @classmethod
    def _full_check_default(cls, data: object) -> object:
        # An overwriting NVR reports no free space for ever: "full" is its normal state.
        if isinstance(data, dict) and data.get("kind") != "directory" and "min_free_bytes" not in data:
            return {**data, "min_free_bytes": None}
        return data

    @model_validator(mode="after")
    def _where(self) -> RecorderConfig:
        if self.kind == "directory" and self.path is None:
            raise ValueError(f"recorder {self.id}: a directory recorder needs a path")
        if self.kind != "directory" and not self.address:
            raise ValueError(f"recorder {self.id}: a {self.kind} recorder needs an address")
        if self.kind == "onvif" and any(not cam.channel for cam in self.cameras.values()):
            raise ValueError(f"recorder {self.id}: give each camera's ONVIF recording token as its channel")
        return self

    def http_port(self) -> int:
        """The port to talk to (the kind's default when not set)."""
        return self.port or DEFAULT_PORTS.get(self.kind, 80)


class RecordingConfig(_Settings):
    """Recording health: how often, and what counts as recorded and kept."""

    interval_s: float = Field(
        default=300.0, ge=1, le=86400, description="Read every recorder this often (slower than live checks)"
    )
    not_recording_after_s: float = Field(
        default=900.0, ge=1, le=86400 * 7, description="Newest footage older than this = not_recording"
    )
    gap_after_s: float | None = Field(
        default=1800.0, ge=1, le=86400 * 7,
        description="A hole longer than this in the last day's footage = recording_gap (None = off)",
    )
    retention_days: float = Field(
        default=30.0, ge=0, le=3650, description="Required retention (Thai agencies commonly require 30)"
    )
    recorders: list[RecorderConfig] = Field(default_factory=list, max_length=256)

    @model_validator(mode="after")
    def _unique(self) -> RecordingConfig:
        seen: dict[str, str] = {}
        ids: set[str] = set()
        for rec in self.recorders:
            if rec.id in ids:
                raise ValueError(f"recorder id {rec.id!r} appears twice")
            ids.add(rec.id)
            for cam in rec.cameras:
                if cam in seen:
                    raise ValueError(f"camera {cam!r} is under recorders {seen[cam]!r} and {rec.id!r}")
                seen[cam] = rec.id
        return self

    def recorder_of(self) -> dict[str, str]:
        """Camera id -> id of the recorder that records it."""
        return {cam: rec.id for rec in self.recorders for cam in rec.cameras}
