"""Network and stream faults against the real RTSP rig (issue 3): auth, server death,
stream stopping mid-way, a camera that accepts and never answers, a wrong path."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from agent.models import ProbeResult
from protocol import CameraState, Reason
from tests.integration.conftest_agent_checks import (
    camera,
    cycles,
    make_config,
    make_runner,
    secrets,
)
from tests.rig.rtsp_server import PASSWORD, USER, RtspServer, SilentServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_rtsp_auth_right_wrong_and_credential_sets(
    rtsp_server: RtspServer, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    uri = rtsp_server.uri("secure/moving")  # no user-info: credentials come from the secrets
    config = make_config(tmp_path, [
        camera("good", uri, credential="right"),
        camera("bad", uri, credential="wrong"),
        camera("none", uri, credential="missing"),
        camera("tries", uri),  # no own credential: the try_order sets, wrong one first
    ])
    creds = secrets(wrong=(USER, "not-the-password"), right=(USER, PASSWORD))
    runner, sink = make_runner(config, creds)
    _, second = cycles(runner, 2)
    by_id = {r.camera_id: r for r in second}
    assert by_id["good"].state is CameraState.UP
    assert (by_id["bad"].state, by_id["bad"].reason) == (CameraState.DOWN, Reason.AUTH_FAILED)
    assert "wrong password for 127.0.0.1" in by_id["bad"].message
    assert (by_id["none"].state, by_id["none"].reason) == (CameraState.DOWN, Reason.AUTH_FAILED)
    assert by_id["tries"].state is CameraState.UP
    assert runner.prober._cred_index["tries"] == 1  # remembered: no wrong attempt next time
    downs = {c.camera_id: c.reason for c in sink.changes if c.state is CameraState.DOWN}
    assert downs == {"bad": Reason.AUTH_FAILED, "none": Reason.AUTH_FAILED}
    for result in second:
        assert PASSWORD not in result.message and "not-the-password" not in result.message
    # nothing leaks through our logs, nor through FFmpeg's own messages on stderr
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err, repr(sink.changes)):
        assert PASSWORD not in text and "not-the-password" not in text


def test_server_killed_goes_down_and_recovers(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, [camera("cam1", rtsp_server.uri("moving"))])
    runner, sink = make_runner(config)
    cycles(runner, 2)
    assert runner.health.get("cam1").state is CameraState.UP
    rtsp_server.kill()  # the camera lost power
    down = [r[0] for r in cycles(runner, 2)]
    assert all(r.state is CameraState.DOWN for r in down)
    assert down[0].reason is Reason.UNREACHABLE and "refuses connections" in down[0].message
    change = sink.changes[-1]
    assert (change.state, change.reason, change.at) == (CameraState.DOWN, Reason.UNREACHABLE, down[0].at)
    rtsp_server.start()  # power back
    cycles(runner, 2)
    assert runner.health.get("cam1").state is CameraState.UP
    assert [c.state for c in sink.changes] == [CameraState.UP, CameraState.DOWN, CameraState.UP]


def test_stream_that_stops_mid_way_is_stream_failed(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, [camera("cam1", rtsp_server.uri("stops"))])
    runner, sink = make_runner(config)
    results = [r[0] for r in cycles(runner, 2)]
    for r in results:
        assert (r.state, r.reason) == (CameraState.DOWN, Reason.STREAM_FAILED)
        assert "stopped after" in r.message
    assert sink.changes[-1].reason is Reason.STREAM_FAILED


def test_wrong_stream_path_is_named(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, [camera("cam1", rtsp_server.uri("no-such-stream"))])
    runner, _ = make_runner(config)
    result = cycles(runner, 1)[0][0]
    assert (result.state, result.reason) == (CameraState.DOWN, Reason.STREAM_FAILED)
    assert "/no-such-stream not found" in result.message


def test_hung_camera_goes_down_without_delaying_the_others(
    rtsp_server: RtspServer, silent_port: SilentServer, tmp_path: Path
) -> None:
    hung = f"rtsp://127.0.0.1:{silent_port.port}/live"
    config = make_config(
        tmp_path,
        [camera("hung", hung)] + [camera(f"cam{i}", rtsp_server.uri("moving")) for i in range(3)],
        concurrency=2,
    )
    runner, sink = make_runner(config)
    order: list[str] = []
    runner.on_result = lambda r: order.append(r.camera_id)

    async def two_cycles() -> list[list[ProbeResult]]:
        return [await runner.check_all(), await runner.check_all()]

    results = asyncio.run(two_cycles())
    for cycle in results:
        by_id = {r.camera_id: r for r in cycle}
        assert (by_id["hung"].state, by_id["hung"].reason) == (CameraState.DOWN, Reason.STREAM_FAILED)
        assert "does not answer" in by_id["hung"].message
        # found by the OPTIONS preflight: OpenCV (whose open holds a process-wide lock) never saw it
        assert [s.name for s in by_id["hung"].steps] == ["tcp", "options"]
        assert all(by_id[f"cam{i}"].state is CameraState.UP for i in range(3))
    # The hung camera took the first slot, yet all three others finished before it did.
    first_cycle = order[:4]
    assert first_cycle.index("hung") == 3, first_cycle
    assert silent_port.accepted >= 2
    assert {c.camera_id: c.state for c in sink.changes}["hung"] is CameraState.DOWN
