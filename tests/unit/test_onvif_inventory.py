"""Inventory for births and factory-password detection without extra logins (issue 3 + audit hygiene)."""

from __future__ import annotations

import pytest

from agent.device import DeviceInfo, MediaSource
from agent.inventory import camera_inventory, is_factory_default
from protocol.messages import CameraInventory

SOURCE = MediaSource("VS_2", "Profile_201", "rtsp://10.0.0.14:554/ch2", "http://10.0.0.14/snap.jpg",
                     1280, 720, 20.0, "H264")
INFO = DeviceInfo("HIKVISION", "DS-7604NI-K1", "V4.22.005", "DS-7604NI123", "88",
                  "c0:56:e3:aa:bb:01", -36000.0, (SOURCE,), address="10.0.0.14", port=80)


@pytest.mark.parametrize(("user", "password", "expected"), [
    ("admin", "12345", True), ("admin", "", True), ("root", "pass", True),
    ("admin", "12345 ", False), ("admin", "S1te-Specific!", False), ("Admin", "admin", False),
])
def test_factory_defaults(user: str, password: str, expected: bool) -> None:
    assert is_factory_default(user, password) is expected


def test_inventory_carries_identity_and_the_flag_not_the_password() -> None:
    inv = camera_inventory(INFO, SOURCE, username="admin", password="12345")
    assert isinstance(inv, CameraInventory)
    assert (inv.maker, inv.model, inv.firmware, inv.serial, inv.mac) == (
        "HIKVISION", "DS-7604NI-K1", "V4.22.005", "DS-7604NI123", "c0:56:e3:aa:bb:01")
    assert (inv.video_source, inv.width, inv.height, inv.fps, inv.codec) == ("VS_2", 1280, 720, 20.0, "H264")
    assert inv.clock_offset_s == -36000.0
    assert inv.default_password is True
    assert "12345" not in inv.model_dump_json()


def test_open_camera_flag_is_unknown_and_nonsense_figures_are_dropped() -> None:
    odd = MediaSource("VS_1", "P", "rtsp://h/", "", 0, 99999, 10000.0, "H265")
    inv = camera_inventory(INFO, odd, username=None, password=None)
    assert inv.default_password is None
    assert (inv.width, inv.height, inv.fps) == (None, None, None)
    assert camera_inventory(INFO, SOURCE, username="ops", password="long-and-unique").default_password is False
