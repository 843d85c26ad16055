"""Pytest fixtures for the real RTSP server rig (see tests/rig/rtsp_server.py for the mounts).

``rtsp_server``: a started gst-rtsp-server on a free loopback port serving every mount
(moving, black, frozen, covered, blurred, moved, hevc, stops, and ``secure/<mount>`` behind
basic auth); the test may ``kill()`` and ``start()`` it; it is killed after the test.
``silent_port``: a loopback TCP port that accepts connections and never answers.
Load them with ``pytest_plugins = ["tests.rig.rtsp"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .rtsp_server import MOUNTS, PASSWORD, STOPS_AFTER_FRAMES, USER, RtspServer, SilentServer

__all__ = [
    "MOUNTS",
    "PASSWORD",
    "STOPS_AFTER_FRAMES",
    "USER",
    "RtspServer",
    "SilentServer",
    "rtsp_server",
    "silent_port",
]


@pytest.fixture
def rtsp_server(tmp_path: Path) -> Iterator[RtspServer]:
    """A started RTSP server on a free loopback port with every mount above; killed after."""
    server = RtspServer(workdir=tmp_path / "rtsp")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def silent_port() -> Iterator[SilentServer]:
    """A loopback TCP port that accepts and never answers; closed after the test."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()
