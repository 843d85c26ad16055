"""Internal results of the agent's checks: probe outcomes, state changes, the event sink."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TextIO

from protocol import CameraState, Reason

__all__ = [
    "DetailValue",
    "EventSink",
    "PrintSink",
    "ProbeResult",
    "StateChange",
    "StepResult",
]

DetailValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of a camera check (tcp, onvif, rtsp, picture, snapshot)."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one check of one camera found.

    ``state`` is what this single check saw (UP, DEGRADED or DOWN); the health tracker
    decides whether it is confirmed. ``message`` is a sentence an installer can act on.
    """

    camera_id: str
    at: datetime  # edge time (UTC) the check started
    state: CameraState
    reason: Reason
    message: str
    steps: tuple[StepResult, ...] = ()
    details: Mapping[str, DetailValue] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    first_frame_s: float | None = None
    clock_offset_s: float | None = None
    codec: str = ""

    @property
    def seconds(self) -> float:
        """Time the whole check took."""
        return sum(step.seconds for step in self.steps)


@dataclass(frozen=True, slots=True)
class StateChange:
    """A confirmed change of a camera's state, stamped with the first check that showed it."""

    camera_id: str
    state: CameraState
    reason: Reason
    at: datetime
    details: dict[str, DetailValue] = field(default_factory=dict)
    previous: CameraState = CameraState.UNKNOWN


class EventSink(Protocol):
    """Where confirmed state changes go (the transport's durable outbox in production)."""

    def record(self, change: StateChange) -> None:
        """Take one state change; must not block for long or raise on disk trouble."""


class PrintSink:
    """An EventSink printing one line per change (``run`` without a broker, and tests)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self.changes: list[StateChange] = []

    def record(self, change: StateChange) -> None:
        """Print and keep the change."""
        self.changes.append(change)
        out = self._stream if self._stream is not None else sys.stdout
        line = (
            f"{change.at.isoformat(timespec='seconds')} {change.camera_id}: "
            f"{change.previous.value} -> {change.state.value}"
            + ("" if change.reason is Reason.NONE else f" ({change.reason.value})")
        )
        print(line, file=out, flush=True)
