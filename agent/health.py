"""Per-camera state machine with hysteresis: probe results in, confirmed state changes out.

A camera changes state only after ``confirm_*`` consecutive checks agree (one dropped
packet is not an outage), and the change is stamped with the edge time of the *first* of
those checks, so availability maths counts the outage from when it began. A change of
reason within the same state (frozen -> blurred) is confirmed the same way. Pure: time
comes in with each ProbeResult.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol import CameraState, Reason

from .config import HealthConfig
from .models import DetailValue, ProbeResult, StateChange

__all__ = ["CameraHealth", "HealthTracker", "StateChange"]


@dataclass
class CameraHealth:
    """Confirmed state of one camera plus the run of checks that may change it."""

    state: CameraState = CameraState.UNKNOWN
    reason: Reason = Reason.NONE
    since: datetime | None = None
    pending_state: CameraState | None = None
    pending_reason: Reason = Reason.NONE
    pending_count: int = 0
    pending_since: datetime | None = None
    last: ProbeResult | None = None


class HealthTracker:
    """Hold every camera's confirmed state and turn probe results into StateChanges.

    Usage::

        tracker = HealthTracker(HealthConfig(confirm_down=2))
        tracker.observe(down_at_t0)   # None: first failing check
        tracker.observe(down_at_t1)   # StateChange(camera, DOWN, reason, at=t0)
    """

    def __init__(self, config: HealthConfig | None = None) -> None:
        self._config = config or HealthConfig()
        self._cameras: dict[str, CameraHealth] = {}

    def _needed(self, state: CameraState) -> int:
        c = self._config
        if state is CameraState.DOWN:
            return c.confirm_down
        if state is CameraState.DEGRADED:
            return c.confirm_degraded
        return c.confirm_up

    def observe(self, result: ProbeResult) -> StateChange | None:
        """Feed one check; return the confirmed change it completes, if any."""
        cam = self._cameras.setdefault(result.camera_id, CameraHealth())
        cam.last = result
        seen, why = result.state, result.reason
        if seen is cam.state and why is cam.reason:
            cam.pending_state, cam.pending_count, cam.pending_since = None, 0, None
            return None
        # Another state: count checks in that state whatever their reason (a dead camera
        # may alternate unreachable / stream_failed). Same state, other reason: count
        # checks with that exact reason.
        same_run = cam.pending_state is seen and (seen is not cam.state or why is cam.pending_reason)
        if same_run:
            cam.pending_count += 1
        else:
            cam.pending_state, cam.pending_count, cam.pending_since = seen, 1, result.at
        cam.pending_reason = why
        if cam.pending_count < self._needed(seen):
            return None
        at = cam.pending_since or result.at
        change = StateChange(
            camera_id=result.camera_id,
            state=seen,
            reason=why,
            at=at,
            details=_details(result, cam.pending_count),
            previous=cam.state,
        )
        cam.state, cam.reason, cam.since = seen, why, at
        cam.pending_state, cam.pending_count, cam.pending_since = None, 0, None
        return change

    def get(self, camera_id: str) -> CameraHealth:
        """Current health of a camera (UNKNOWN if never checked)."""
        return self._cameras.get(camera_id, CameraHealth())

    def forget(self, camera_id: str) -> None:
        """Drop a camera removed from the config."""
        self._cameras.pop(camera_id, None)

    def cameras(self) -> dict[str, CameraHealth]:
        """Every tracked camera's health (a copy of the mapping)."""
        return dict(self._cameras)


def _details(result: ProbeResult, checks: int) -> dict[str, DetailValue]:
    details: dict[str, DetailValue] = {"message": result.message[:200], "checks": checks}
    for key in ("width", "height", "fps", "first_frame_s", "clock_offset_s"):
        value = getattr(result, key)
        if value is not None:
            details[key] = round(value, 3) if isinstance(value, float) else value
    for key, value in result.details.items():
        if len(details) >= 32:  # protocol.Event allows 32 detail entries
            break
        details.setdefault(key, value)
    return details
