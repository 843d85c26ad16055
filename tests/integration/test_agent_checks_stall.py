"""A camera that answers RTSP but never sends media (issue 3: "RTSP that never sends a
frame") is down, and after its first stalled open it is checked in a separate process, so
OpenCV's process-wide open lock no longer makes the other cameras wait for it.

The stalling camera is a minimal RTSP responder written here (gst-rtsp-server cannot be
made to answer PLAY and then send nothing without stalling its own main loop); the other
cameras are the real rig.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from agent.models import ProbeResult
from protocol import CameraState, Reason
from tests.integration.conftest_agent_checks import camera, make_config, make_runner
from tests.rig.rtsp_server import RtspServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SDP = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=stall\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
       "a=rtpmap:96 H264/90000\r\na=control:track0\r\n")


async def stalling_camera(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer OPTIONS, DESCRIBE, SETUP and PLAY like a camera, then send no media at all."""
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            method, uri = head.split()[:2]
            found = re.search(r"CSeq:\s*(\d+)", head, re.I)
            lines = ["RTSP/1.0 200 OK", f"CSeq: {found.group(1) if found else 0}"]
            body = ""
            if method == "DESCRIBE":
                body = SDP
                lines += ["Content-Type: application/sdp", f"Content-Base: {uri}/"]
            elif method == "SETUP":
                lines += ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: 12345678;timeout=60"]
            elif method in ("PLAY", "TEARDOWN"):
                lines.append("Session: 12345678")
            lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n" + body).encode())
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def test_stalling_camera_is_down_and_isolated(rtsp_server: RtspServer, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[list[ProbeResult]], set[str]]:
        server = await asyncio.start_server(stalling_camera, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = make_config(tmp_path, [camera("stall", f"rtsp://127.0.0.1:{port}/live")]
                             + [camera(f"cam{i}", rtsp_server.uri("moving")) for i in range(2)],
                             concurrency=3, rtsp_open_timeout_s=2.0, rtsp_read_timeout_s=1.0)
        runner, _ = make_runner(config)
        try:
            async with server:
                first = await runner.check_all()
                isolated_after_first = set(runner.prober.isolated)
                second = await runner.check_all()
        finally:
            runner.close()
        return [first, second], isolated_after_first

    (first, second), isolated = asyncio.run(scenario())
    assert isolated == {"stall"}
    for cycle in (first, second):
        by_id = {r.camera_id: r for r in cycle}
        stall = by_id["stall"]
        assert (stall.state, stall.reason) == (CameraState.DOWN, Reason.STREAM_FAILED), stall.message
        assert "no decodable frame" in stall.message or "did not open" in stall.message
        assert all(by_id[f"cam{i}"].state is CameraState.UP for i in range(2))
