"""The one interface every recorder backend implements, and what it returns.

A backend answers two questions for the agent: per camera, the newest recorded time and
the oldest kept one; per recorder, the storage state. It never decides a reason (that is
:mod:`agent.recording.assess`), so adding a maker is one module with one ``read`` method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from protocol import StorageStatus

__all__ = ["ChannelRecording", "RecorderReading", "RecordingError", "RecordingSource", "StorageReading"]


class RecordingError(Exception):
    """The recorder could not be read: unreachable, refused, timed out or answered nonsense.

    The message names the recorder and what failed, never a password.
    """


@dataclass(frozen=True, slots=True)
class ChannelRecording:
    """What a recorder holds for one camera."""

    newest: datetime | None = None  # newest recorded time (UTC)
    oldest: datetime | None = None  # oldest recording still kept (UTC)
    largest_gap_s: float | None = None  # longest hole in the recent footage, when the backend sees it
    status: str = ""  # the maker's word for it ("Recording", "Stopped", ...), informative only


@dataclass(frozen=True, slots=True)
class StorageReading:
    """Storage state of one recorder."""

    status: StorageStatus = StorageStatus.OK
    free_bytes: int | None = None
    total_bytes: int | None = None
    detail: str = ""  # the maker's words: "hdd2: error", "SMART overall-health failed"


@dataclass(frozen=True, slots=True)
class RecorderReading:
    """One read of one recorder: its storage and every configured camera it records.

    A camera missing from ``channels`` is one the recorder holds nothing for.
    """

    storage: StorageReading | None = None
    channels: Mapping[str, ChannelRecording] = field(default_factory=dict)


class RecordingSource(Protocol):
    """A recorder the agent can ask about recordings (NVR, camera SD card, local directory)."""

    @property
    def recorder_id(self) -> str:
        """The recorder's id from the agent config."""

    async def read(self, now: datetime) -> RecorderReading:
        """Read storage and per-camera recording figures; raise RecordingError when it cannot.

        Every network call inside has its own timeout; ``now`` is the agent's clock.
        """
