"""Fault lifecycle (issue 13): no fault resolved on a camera that is still not up; a camera
failing again soon after its fault was resolved or closed as won't-fix reopens that fault."""

from __future__ import annotations

import pytest

from aggregator.faults.model import (
    FaultAction,
    FaultKind,
    FaultRules,
    FaultStatus,
    RepairNote,
    Resolution,
)
from aggregator.faults.rules import FaultEngine, StillFailing
from aggregator.settings.notify import NotifyPolicy
from protocol import CameraState, Reason
from tests.unit.test_faults_engine import DEG, DOWN, UNK, UP, cam, site, t

DAY = 86400


def test_resolving_a_camera_still_failing_is_refused_with_its_state_and_reason() -> None:
    engine = FaultEngine()
    [opened] = engine.process([cam(0, "LAB-CAM2", DEG, Reason.NO_VIDEO)], t(0))
    with pytest.raises(StillFailing) as refused:
        engine.resolve(opened.fault.id, "somchai", RepairNote("rebooted"), t(60))
    assert str(refused.value) == "camera LAB-CAM2 is still degraded (no_video)"
    engine.process([site(100, UNK)], t(100))  # its site gone: still not up
    with pytest.raises(StillFailing, match="camera LAB-CAM2 is still unknown"):
        engine.resolve(opened.fault.id, "somchai", RepairNote("rebooted"), t(120))
    assert engine.get(opened.fault.id) is not None  # nothing changed
    [closed] = engine.resolve(opened.fault.id, "somchai", RepairNote("to be replaced"), t(130), wont_fix=True)
    assert (closed.action, closed.fault.status) == (FaultAction.CLOSED, FaultStatus.WONT_FIX)


def test_resolving_a_site_fault_while_the_site_is_gone_is_refused() -> None:
    engine = FaultEngine()
    [lost] = engine.process([site(0, UNK)], t(0))
    with pytest.raises(StillFailing, match="^site s1 is still offline$"):
        engine.resolve(lost.fault.id, "somchai", RepairNote("power back"), t(10))


def test_a_flapping_fault_whose_camera_is_up_may_be_resolved_by_hand() -> None:
    engine = FaultEngine(FaultRules(flap_changes=2))
    for i, state in enumerate((DOWN, UP, DOWN, UP)):
        engine.process([cam(10 * i, "c1", state, Reason.UNREACHABLE if state is DOWN else Reason.NONE)], t(10 * i))
    [fault] = engine.active()
    assert fault.kind is FaultKind.FLAPPING
    [done] = engine.resolve(fault.id, "somchai", RepairNote("fixed the cable"), t(50))
    assert done.fault.resolution is Resolution.TECHNICIAN


def test_failing_again_within_the_window_reopens_a_resolved_fault_with_its_history() -> None:
    engine = FaultEngine()  # the default window: a day
    [opened] = engine.process([cam(0, "c1", DOWN, Reason.FROZEN)], t(0))
    engine.process([cam(600, "c1", UP)], t(600))
    [again] = engine.process([cam(20 * 3600, "c1", DEG, Reason.BLURRED)], t(20 * 3600))
    assert (again.action, again.fault.id, again.fault.reopen_count) == (FaultAction.REOPENED, opened.fault.id, 1)
    assert (again.fault.first_opened_at, again.fault.opened_at) == (t(0), t(20 * 3600))
    engine.process([cam(20 * 3600 + 60, "c1", UP)], t(20 * 3600 + 60))
    engine.tick(t(3 * DAY))  # forgets what closed longer ago than the window
    [new] = engine.process([cam(3 * DAY, "c1", DOWN, Reason.FROZEN)], t(3 * DAY))
    assert new.action is FaultAction.OPENED and new.fault.id != opened.fault.id


def test_a_wont_fix_fault_stays_closed_while_its_camera_fails_on_and_reopens_once_it_fails_again() -> None:
    engine = FaultEngine(FaultRules(reopen_window_s=4 * 3600))
    [opened] = engine.process([cam(0, "c1", DOWN, Reason.UNREACHABLE)], t(0))
    engine.resolve(opened.fault.id, "lead", RepairNote("pole to be replaced"), t(60), wont_fix=True)
    # the same failure going on (another reason, a site outage and return): nothing new
    assert engine.process([cam(1000, "c1", DEG, Reason.NO_VIDEO)], t(1000)) == []
    engine.process([site(2000, UNK)], t(2000))
    back = engine.process([site(3000, UP), cam(3001, "c1", DOWN, Reason.UNREACHABLE)], t(3001))
    assert [c for c in back if c.fault.kind is not FaultKind.SITE] == []
    # up, then down again within the window: the won't-fix fault reopens
    engine.process([cam(4000, "c1", UP)], t(4000))
    [again] = engine.process([cam(5000, "c1", DOWN, Reason.UNREACHABLE)], t(5000))
    assert (again.action, again.fault.id, again.fault.status) == (FaultAction.REOPENED, opened.fault.id, FaultStatus.OPEN)
    assert again.fault.resolution is None and again.fault.reopen_count == 1


def test_a_fault_closed_before_a_restart_is_reopened_after_it() -> None:
    first = FaultEngine()
    [opened] = first.process([cam(0, "c1", DOWN, Reason.FROZEN)], t(0))
    [resolved] = first.process([cam(60, "c1", UP)], t(60))
    again = FaultEngine(next_id=2, closed=[resolved.fault])
    [reopened] = again.process([cam(3600, "c1", DOWN, Reason.FROZEN)], t(3600))
    assert (reopened.action, reopened.fault.id) == (FaultAction.REOPENED, opened.fault.id)


def test_the_reopen_window_is_an_operator_setting_of_a_day_by_default() -> None:
    assert NotifyPolicy().reopen_window_s == DAY == FaultRules().reopen_window_s
    assert NotifyPolicy(reopen_window_s=600).reopen_window_s == 600
    with pytest.raises(ValueError):
        NotifyPolicy(reopen_window_s=-1)
    assert CameraState.UP is UP
