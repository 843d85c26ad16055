"""Recorder faults (issue 16): a recorder stopping every channel at once is one fault, not one per camera."""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.faults.model import FaultAction, FaultKind, FaultStatus
from aggregator.faults.rules import FaultEngine
from protocol import Reason
from tests.unit.test_faults_engine import DEG, DOWN, UP, cam, t

NVR = {"c1": "nvr-1", "c2": "nvr-1", "c3": "nvr-1", "c9": "nvr-2"}


def recorder_of(site: str, camera: str) -> tuple[str, Sequence[str]] | None:
    rec = NVR.get(camera)
    return None if rec is None else (rec, sorted(c for c, r in NVR.items() if r == rec))


def test_all_channels_stopping_at_once_is_one_recorder_fault() -> None:
    engine = FaultEngine(recorder_of=recorder_of)
    changes = engine.process([cam(0, c, DEG, Reason.NOT_RECORDING) for c in ("c1", "c2", "c3")], t(1))
    recorder = [c.fault for c in changes if c.fault.kind is FaultKind.RECORDER]
    assert len(recorder) == 1 and recorder[0].affected == 3 and recorder[0].reason is Reason.NOT_RECORDING
    held = {c.fault.camera_id for c in changes if c.action is FaultAction.HELD}
    assert held == {"c1", "c2", "c3"}  # the cameras' own faults wait under it: one page, not three
    # One camera recording again is not the recorder back; all of them is.
    assert not [c for c in engine.process([cam(60, "c1", UP)], t(61)) if c.fault.kind is FaultKind.RECORDER]
    done = engine.process([cam(120, "c2", UP), cam(120, "c3", UP)], t(121))
    assert [c.fault.status for c in done if c.fault.kind is FaultKind.RECORDER] == [FaultStatus.RESOLVED]
    assert engine.active() == []


def test_one_channel_or_a_stop_spread_over_time_stays_per_camera() -> None:
    engine = FaultEngine(recorder_of=recorder_of)
    engine.process([cam(0, "c1", DEG, Reason.NOT_RECORDING)], t(0))
    engine.process([cam(3600, "c2", DEG, Reason.NOT_RECORDING), cam(3600, "c3", DEG, Reason.NOT_RECORDING)], t(3600))
    assert {f.kind for f in engine.active()} == {FaultKind.CAMERA}  # an hour apart: not "at once"
    single = FaultEngine(recorder_of=recorder_of)
    single.process([cam(0, "c9", DEG, Reason.NOT_RECORDING)], t(0))  # a one-camera recorder: a camera fault
    assert [f.kind for f in single.active()] == [FaultKind.CAMERA]
    other = FaultEngine(recorder_of=recorder_of)  # other reasons never group by recorder
    other.process([cam(0, c, DOWN, Reason.UNREACHABLE) for c in ("c1", "c2", "c3")], t(0))
    assert {f.kind for f in other.active()} == {FaultKind.CAMERA}
