"""ONVIF liveness and camera clocks in checks, against the ipycam simulator (issue 3):
ONVIF works, camera clock 10 h off, ONVIF refuses, ONVIF hangs, ONVIF demands other credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.probes import onvif_alive
from protocol import CameraState, Reason
from tests.integration.conftest_agent_checks import (
    camera,
    cycles,
    make_config,
    make_runner,
    secrets,
)
from tests.rig.onvif_sim import SimCamera, closed_port
from tests.rig.ports import SilentServer
from tests.rig.rtsp_server import RtspServer

pytest_plugins = ["tests.rig.rtsp", "tests.integration.conftest_onvif"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


def test_onvif_outcomes_beside_a_working_stream(
    rtsp_server: RtspServer, onvif_camera: Callable[..., SimCamera],
    hanging_onvif: SilentServer, tmp_path: Path,
) -> None:
    stream = rtsp_server.uri("moving")
    good = onvif_camera(stream_urls=[stream], username="admin", password="pw")
    skewed = onvif_camera(stream_urls=[stream], clock_offset_s=10 * 3600, serial="SIM0002",
                          mac="02:00:00:00:00:02", username="admin", password="pw")
    refusing = closed_port()
    config = make_config(tmp_path, [
        camera("good", stream, address=good.host, onvif_port=good.port),
        camera("skewed", stream, address=skewed.host, onvif_port=skewed.port),
        camera("refusing", stream, onvif_port=refusing),
        camera("hanging", stream, onvif_port=hanging_onvif.port),
        # no stream to fall back on: ONVIF is all we know about this one
        camera("onvif-only", "", address="127.0.0.1", onvif_port=hanging_onvif.port),
    ], concurrency=5)
    runner, sink = make_runner(config, secrets(site=("admin", "pw")), onvif=onvif_alive)
    _, second = cycles(runner, 2)
    by_id = {r.camera_id: r for r in second}
    assert by_id["good"].state is CameraState.UP, by_id["good"].message
    assert by_id["good"].clock_offset_s is not None and abs(by_id["good"].clock_offset_s) < 60
    sk = by_id["skewed"]
    assert (sk.state, sk.reason) == (CameraState.DEGRADED, Reason.CLOCK_SKEW)
    assert "is 10 h ahead" in sk.message
    for cam in ("refusing", "hanging"):
        r = by_id[cam]
        assert (r.state, r.reason) == (CameraState.DEGRADED, Reason.ONVIF_FAILED), r.message
        assert "the stream works" in r.message
    assert "does not answer" in by_id["hanging"].message
    only = by_id["onvif-only"]
    assert (only.state, only.reason) == (CameraState.DOWN, Reason.ONVIF_FAILED)
    assert {c.camera_id for c in sink.changes} == set(by_id)


def test_onvif_refusing_credentials_is_auth_failed(
    rtsp_server: RtspServer, onvif_camera: Callable[..., SimCamera], tmp_path: Path
) -> None:
    stream = rtsp_server.uri("moving")
    strict = onvif_camera(stream_urls=[stream], username="admin", password="right", auth_for_clock=True)
    config = make_config(tmp_path, [camera("cam1", "", address=strict.host, onvif_port=strict.port)])
    runner, sink = make_runner(config, secrets(wrong=("admin", "wrong")), onvif=onvif_alive)
    results = [r[0] for r in cycles(runner, 2)]
    assert [(r.state, r.reason) for r in results] == [(CameraState.DOWN, Reason.AUTH_FAILED)] * 2
    assert "wrong ONVIF user or password" in results[0].message
    assert sink.changes[-1].reason is Reason.AUTH_FAILED
