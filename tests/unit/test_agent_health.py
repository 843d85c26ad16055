"""Health state machine: hysteresis and first-failing-check stamps (issue 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.config import HealthConfig
from agent.health import HealthTracker
from agent.models import ProbeResult
from protocol import CameraState, Reason

T0 = datetime(2026, 1, 1, tzinfo=UTC)
UP, DEG, DOWN = CameraState.UP, CameraState.DEGRADED, CameraState.DOWN


def res(i: int, state: CameraState, reason: Reason = Reason.NONE, cam: str = "c1") -> ProbeResult:
    return ProbeResult(camera_id=cam, at=T0 + timedelta(minutes=i), state=state, reason=reason,
                       message="m", fps=10.0)


def feed(tracker: HealthTracker, seq: list[ProbeResult]) -> list[tuple[int, CameraState, Reason, datetime]]:
    out = []
    for i, r in enumerate(seq):
        change = tracker.observe(r)
        if change:
            out.append((i, change.state, change.reason, change.at))
    return out


def test_default_confirms_down_within_two_cycles_stamped_with_first_failure() -> None:
    tracker = HealthTracker()
    changes = feed(tracker, [res(0, UP), res(1, UP), res(2, DOWN, Reason.UNREACHABLE),
                             res(3, DOWN, Reason.UNREACHABLE)])
    assert changes == [(1, UP, Reason.NONE, T0), (3, DOWN, Reason.UNREACHABLE, T0 + timedelta(minutes=2))]
    assert tracker.get("c1").since == T0 + timedelta(minutes=2)


def test_one_blip_is_not_an_outage() -> None:
    tracker = HealthTracker()
    seq = [res(0, UP), res(1, UP), res(2, DOWN, Reason.UNREACHABLE), res(3, UP), res(4, UP)]
    assert feed(tracker, seq) == [(1, UP, Reason.NONE, T0)]
    assert tracker.get("c1").state is UP


def test_down_reasons_may_alternate_and_still_confirm() -> None:
    tracker = HealthTracker(HealthConfig(confirm_down=3, confirm_up=1))
    seq = [res(0, UP), res(1, DOWN, Reason.UNREACHABLE), res(2, DOWN, Reason.STREAM_FAILED),
           res(3, DOWN, Reason.UNREACHABLE)]
    assert feed(tracker, seq)[-1] == (3, DOWN, Reason.UNREACHABLE, T0 + timedelta(minutes=1))


def test_reason_change_in_same_state_is_confirmed() -> None:
    tracker = HealthTracker(HealthConfig(confirm_degraded=2, confirm_up=1))
    seq = [res(0, UP), res(1, DEG, Reason.FROZEN), res(2, DEG, Reason.FROZEN),
           res(3, DEG, Reason.BLURRED), res(4, DEG, Reason.FROZEN), res(5, DEG, Reason.BLURRED),
           res(6, DEG, Reason.BLURRED)]
    changes = feed(tracker, seq)
    assert changes[1] == (2, DEG, Reason.FROZEN, T0 + timedelta(minutes=1))
    # blurred, frozen, blurred: the run restarts; confirmed at 6, stamped at 5
    assert changes[2] == (6, DEG, Reason.BLURRED, T0 + timedelta(minutes=5))
    assert len(changes) == 3


def test_interrupted_run_restarts_count_and_stamp() -> None:
    tracker = HealthTracker(HealthConfig(confirm_down=2, confirm_degraded=2, confirm_up=1))
    seq = [res(0, UP), res(1, DOWN, Reason.UNREACHABLE), res(2, DEG, Reason.FROZEN),
           res(3, DOWN, Reason.UNREACHABLE), res(4, DOWN, Reason.UNREACHABLE)]
    assert feed(tracker, seq)[-1] == (4, DOWN, Reason.UNREACHABLE, T0 + timedelta(minutes=3))


def test_change_carries_previous_state_and_details() -> None:
    tracker = HealthTracker(HealthConfig(confirm_up=1, confirm_down=1))
    tracker.observe(res(0, UP))
    change = tracker.observe(res(1, DOWN, Reason.AUTH_FAILED))
    assert change is not None
    assert change.previous is UP and change.details["fps"] == 10.0 and change.details["checks"] == 1
    assert len(change.details) <= 32


def test_cameras_are_independent() -> None:
    tracker = HealthTracker(HealthConfig(confirm_up=1))
    assert tracker.observe(res(0, UP, cam="a")) is not None
    assert tracker.observe(res(0, DOWN, Reason.UNREACHABLE, cam="b")) is None
    assert tracker.get("a").state is UP and tracker.get("b").state is CameraState.UNKNOWN
    tracker.forget("a")
    assert set(tracker.cameras()) == {"b"}
