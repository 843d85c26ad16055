"""Recording figures in API answers (issue 16): a camera's recording line and its recorder's storage."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from aggregator.api.schemas.base import Out

__all__ = ["RecorderPublic", "RecordingPublic"]


class RecorderPublic(Out):
    """A recorder's storage as its agent last reported it."""

    recorder: str
    status: str = Field(description="ok, fault or full")
    free_bytes: int | None
    total_bytes: int | None
    detail: str = Field(description="The maker's words, e.g. 'hdd2: error'")
    updated: datetime


class RecordingPublic(Out):
    """What the recorder holds for a camera (the agent's last recording check)."""

    recorder: str
    newest: datetime | None = Field(description="Newest recorded time")
    oldest: datetime | None = Field(description="Oldest footage still kept")
    required_days: float | None
    kept_days: float | None
    compliant: bool | None = Field(description="Kept at least the required days; null when unknown")
    updated: datetime
    storage: RecorderPublic | None = Field(default=None, description="Only in one camera's detail")
