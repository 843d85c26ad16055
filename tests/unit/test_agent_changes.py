"""Agent change events (issue 16): a camera clock jump is a reboot carried in the next birth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from agent.config import parse_config
from agent.models import PrintSink, ProbeResult
from agent.runner import REBOOT_CLOCK_JUMP_S, Runner
from protocol import CameraState, Reason
from tests.clock import PINNED


def result(at_s: int, offset: float | None) -> ProbeResult:
    return ProbeResult("c1", PINNED + timedelta(seconds=at_s), CameraState.UP, Reason.NONE, "ok",
                       clock_offset_s=offset)


def test_a_clock_jump_is_a_reboot_and_asks_for_a_birth(tmp_path: Path) -> None:
    cfg = parse_config({"site": {"site_id": "s1", "province": "10", "district": "1001"},
                        "state_dir": str(tmp_path),
                        "cameras": [{"id": "c1", "address": "10.0.0.1", "stream_uri": "rtsp://10.0.0.1/x"}]})
    runner = Runner(cfg, None, PrintSink(), inventory=None, clock=lambda: PINNED)
    asked: list[int] = []
    runner.on_identity_change = lambda: asked.append(1)
    runner._record(result(0, 2.0))
    runner._record(result(60, 2.0 + REBOOT_CLOCK_JUMP_S / 2))  # drift, or NTP settling: no reboot
    assert runner.reboots == {} and asked == []
    runner._record(result(120, -1.6e9))  # the camera came back at 1970
    assert runner.reboots == {"c1": PINNED + timedelta(seconds=120)} and asked == [1]
    snap = runner.current_snapshot()[0]
    assert snap.inventory.rebooted_at == PINNED + timedelta(seconds=120)
