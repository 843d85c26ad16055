"""Turn what a recorder holds into a recording reason for one camera (pure: time comes in).

Order, most fundamental first (one camera carries one reason): a failed disk
(``storage_fault``) explains everything after it; a full disk (``storage_full``) explains a
stop; then ``not_recording`` (newest footage older than the window, or none at all), then
``recording_gap`` (a hole in the last day), then ``retention_short`` (the oldest kept
footage is younger than the required days: a disk too small, or footage deleted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol import Reason, StorageStatus

from .base import ChannelRecording, StorageReading

__all__ = ["Limits", "Verdict", "assess", "kept_days"]

DAY_S = 86400.0
# Before this a recorder's time stamp is an unset clock, not footage (protocol refuses it too).
CLOCK_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Limits:
    """Thresholds for one camera (from the recording settings)."""

    not_recording_after_s: float
    retention_days: float
    gap_after_s: float | None = None
    min_free_bytes: int | None = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """A recording reason and the sentence a technician acts on."""

    reason: Reason
    message: str


def kept_days(channel: ChannelRecording | None, now: datetime) -> float | None:
    """Days of footage kept (now minus the oldest recording), None when unknown."""
    if channel is None or channel.oldest is None:
        return None
    return max(0.0, (now - channel.oldest).total_seconds() / DAY_S)


def assess(
    recorder: str, channel: ChannelRecording | None, storage: StorageReading | None, limits: Limits, now: datetime
) -> Verdict | None:
    """The camera's recording reason, or None when it is recorded and kept as required."""
    if storage is not None:
        if storage.status is StorageStatus.FAULT:
            return Verdict(Reason.STORAGE_FAULT, f"recorder {recorder}: storage failed ({storage.detail or 'fault'})")
        full = storage.status is StorageStatus.FULL or (
            limits.min_free_bytes is not None and storage.free_bytes is not None
            and storage.free_bytes <= limits.min_free_bytes
        )
        if full:
            free = "?" if storage.free_bytes is None else f"{storage.free_bytes / 2**20:.1f} MiB"
            return Verdict(Reason.STORAGE_FULL, f"recorder {recorder}: storage full ({free} free)")
    if channel is None or channel.newest is None:
        return Verdict(Reason.NOT_RECORDING, f"recorder {recorder} holds no footage of this camera")
    age = (now - channel.newest).total_seconds()
    if age > limits.not_recording_after_s:
        return Verdict(
            Reason.NOT_RECORDING,
            f"recorder {recorder}: newest footage is {_span(age)} old (limit {_span(limits.not_recording_after_s)})",
        )
    gap = channel.largest_gap_s
    if limits.gap_after_s is not None and gap is not None and gap > limits.gap_after_s:
        return Verdict(Reason.RECORDING_GAP, f"recorder {recorder}: {_span(gap)} missing in the last day")
    if channel.oldest is not None and channel.oldest < CLOCK_FLOOR:
        # Footage stamped 1970 (a real Profile G reply shows it): the recorder's clock was unset
        # when it recorded, so nobody can tell how far back the usable footage goes.
        return Verdict(Reason.RETENTION_SHORT, f"recorder {recorder}: oldest footage is dated "
                                               f"{channel.oldest.date().isoformat()} (its clock was unset): set NTP")
    kept = kept_days(channel, now)
    if kept is None or kept < limits.retention_days:
        # Rounded down: 29.96 days is not "30.0 days" against a 30-day rule.
        have = "unknown" if kept is None else f"{math.floor(kept * 10) / 10:.1f} days"
        return Verdict(
            Reason.RETENTION_SHORT,
            f"recorder {recorder} keeps {have} of footage, {limits.retention_days:g} required",
        )
    return None


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY_S:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY_S:.1f} days"
