"""Fixtures for ONVIF tests: simulated cameras (ipycam), a hanging server, a refusing port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.rig.onvif_sim import SimCamera, SimOptions, closed_port, start_camera
from tests.rig.ports import SilentServer


@pytest.fixture
def onvif_camera() -> Iterator[Callable[..., SimCamera]]:
    """Start simulated ONVIF cameras with the given SimOptions fields; all stop after the test."""
    cameras: list[SimCamera] = []

    def make(**options: Any) -> SimCamera:
        camera = start_camera(SimOptions(**options))
        cameras.append(camera)
        return camera

    yield make
    for camera in cameras:
        camera.stop()


@pytest.fixture
def hanging_onvif() -> Iterator[SilentServer]:
    """A TCP port that accepts and never answers (a hung camera)."""
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def refusing_port() -> int:
    """A loopback port where connections are refused."""
    return closed_port()
