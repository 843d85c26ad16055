"""Probe outcomes that need no video server (issue 3): unreachable camera, snapshot-only
cameras over HTTP basic/digest auth, a clock far off. The HTTP peer is a small local server
standing in for a camera's snapshot endpoint; the ONVIF checker is a fake."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from agent.config import CameraConfig, ChecksConfig, Credential
from agent.probes import Prober
from protocol import CameraState, Reason
from tests.rig.ports import free_port

pytestmark = pytest.mark.timeout(30)
CHECKS = ChecksConfig(tcp_timeout_s=1, snapshot_timeout_s=2, onvif_timeout_s=1, jitter_s=0)


def jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = np.full((240, 320), 90, np.uint8)
    for _ in range(30):
        x, y = int(rng.integers(0, 280)), int(rng.integers(0, 200))
        cv2.rectangle(img, (x, y), (x + 40, y + 30), int(rng.integers(0, 255)), -1)
    ok, data = cv2.imencode(".jpg", img)
    assert ok
    return bytes(data)


@pytest.fixture
def snapshot_server() -> Iterator[int]:
    frames = iter(range(10_000))
    token = base64.b64encode(b"admin:pw").decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/open.jpg" or self.headers.get("Authorization") == f"Basic {token}":
                body = jpeg(next(frames))
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
            elif self.path == "/html":
                body = b"<html>login</html>"
                self.send_response(200)
            else:
                body = b""
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="cam"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def cam(**kw: object) -> CameraConfig:
    return CameraConfig.model_validate({"id": "c1", "address": "127.0.0.1", "onvif_port": None, **kw})


def run(prober: Prober, camera: CameraConfig, creds: list[Credential] | None = None) -> tuple[CameraState, Reason, str]:
    result = asyncio.run(prober.probe(camera, creds or []))
    return result.state, result.reason, result.message


def test_closed_port_is_unreachable_with_a_hint() -> None:
    port = free_port()
    state, reason, message = run(Prober(CHECKS, onvif=None), cam(stream_uri=f"rtsp://127.0.0.1:{port}/s"))
    assert (state, reason) == (CameraState.DOWN, Reason.UNREACHABLE)
    assert f"127.0.0.1:{port} refuses connections" in message and "powered" in message


def test_snapshot_only_camera_with_basic_auth(snapshot_server: int) -> None:
    prober = Prober(CHECKS, onvif=None)
    uri = f"http://127.0.0.1:{snapshot_server}/snap.jpg"
    right = [Credential.model_validate({"username": "admin", "password": "pw"})]
    assert run(prober, cam(snapshot_uri=uri), right)[:2] == (CameraState.UP, Reason.NONE)
    wrong = [Credential.model_validate({"username": "admin", "password": "no"})]
    state, reason, message = run(prober, cam(snapshot_uri=uri), wrong)
    assert (state, reason) == (CameraState.DOWN, Reason.AUTH_FAILED) and "401" in message


def test_snapshot_that_is_not_an_image(snapshot_server: int) -> None:
    state, reason, message = run(Prober(CHECKS, onvif=None),
                                 cam(snapshot_uri=f"http://127.0.0.1:{snapshot_server}/html"))
    assert (state, reason) == (CameraState.DOWN, Reason.STREAM_FAILED) and "not an image" in message


def test_clock_far_off_is_clock_skew(snapshot_server: int, now: datetime) -> None:
    async def ten_hours_ahead(address: str, port: int, user: str, password: str, timeout: float) -> float:
        return 10 * 3600.0

    prober = Prober(CHECKS, onvif=ten_hours_ahead)
    camera = cam(snapshot_uri=f"http://127.0.0.1:{snapshot_server}/open.jpg", onvif_port=snapshot_server)
    result = asyncio.run(prober.probe(camera, []))
    assert (result.state, result.reason) == (CameraState.DEGRADED, Reason.CLOCK_SKEW)
    assert "10 h ahead" in result.message and result.clock_offset_s == 36000.0
    assert now <= result.at < now + timedelta(days=1)  # stamped by the prober's (pinned) clock
