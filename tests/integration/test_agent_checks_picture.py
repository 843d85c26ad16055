"""Picture faults against the real RTSP rig end in the right state within 2 cycles (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import CameraState, Reason
from tests.integration.conftest_agent_checks import camera, cycles, make_config, make_runner
from tests.rig.rtsp_server import RtspServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

EXPECTED = {
    "moving": (CameraState.UP, Reason.NONE),
    "black": (CameraState.DEGRADED, Reason.NO_VIDEO),
    "frozen": (CameraState.DEGRADED, Reason.FROZEN),
    "covered": (CameraState.DEGRADED, Reason.OBSTRUCTED),
    "blurred": (CameraState.DEGRADED, Reason.BLURRED),
}


def test_each_picture_fault_is_confirmed_within_two_cycles(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, [camera(m, rtsp_server.uri(m)) for m in EXPECTED])
    runner, sink = make_runner(config)
    first, second = cycles(runner, 2)
    for result in first + second:
        assert (result.state, result.reason) == EXPECTED[result.camera_id], result.message
    confirmed = {c.camera_id: (c.state, c.reason) for c in sink.changes}
    assert confirmed == EXPECTED
    # each change is stamped with the first check that showed it
    for change in sink.changes:
        assert change.at == next(r.at for r in first if r.camera_id == change.camera_id)
        assert change.previous is CameraState.UNKNOWN
    up = next(r for r in second if r.camera_id == "moving")
    assert (up.width, up.height) == (320, 240)
    assert up.fps is not None and 8 <= up.fps <= 12
    assert up.first_frame_s is not None and up.first_frame_s > 0
    assert up.codec == "h264"


def test_camera_turned_is_scene_changed_against_reference(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, [camera("cam1", rtsp_server.uri("moving"))])
    runner, _ = make_runner(config)
    assert [r[0].state for r in cycles(runner, 2)] == [CameraState.UP, CameraState.UP]
    assert (config.state_dir / "references" / "cam1.png").exists()
    # Someone turned the camera: same camera id, the picture now shows another part of the street.
    turned = make_config(tmp_path, [camera("cam1", rtsp_server.uri("moved"))])
    runner2, sink = make_runner(turned)
    runner2.health = runner.health
    results = [r[0] for r in cycles(runner2, 2)]
    assert [(r.state, r.reason) for r in results] == [(CameraState.DEGRADED, Reason.SCENE_CHANGED)] * 2
    assert sink.changes[-1].reason is Reason.SCENE_CHANGED
    assert sink.changes[-1].previous is CameraState.UP


def test_h265_cameras_are_checked_like_any_other(rtsp_server: RtspServer, tmp_path: Path) -> None:
    """H.265 decodes, and a frozen H.265 picture is still frozen (its codec noise is not H.264's)."""
    expected = {"hevc": (CameraState.UP, Reason.NONE), "frozen-hevc": (CameraState.DEGRADED, Reason.FROZEN)}
    config = make_config(tmp_path, [camera(m, rtsp_server.uri(m)) for m in expected])
    runner, _ = make_runner(config)
    first, second = cycles(runner, 2)
    for result in first + second:
        assert (result.state, result.reason) == expected[result.camera_id], result.message
        assert result.codec == "hevc"
    up = next(r for r in second if r.camera_id == "hevc")
    assert (up.width, up.height) == (320, 240)
    assert up.fps is not None and 8 <= up.fps <= 12
