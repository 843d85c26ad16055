"""WS-Discovery against ipycam simulators on loopback (issue 3: discover finds every camera).

Each test uses its own free UDP port for discovery and a random 127.x.y.0 block of addresses,
so parallel runs never see each other's cameras; multicast stays on the loopback interface.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from agent.device import DiscoveredDevice
from agent.discovery import discover
from tests.rig.onvif_sim import SimCamera, loopback_block

pytest_plugins = ["tests.integration.conftest_onvif"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# Replies come in milliseconds; 3 s leaves room on a loaded shared machine.
WAIT_S = 3.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(onvif_camera: Callable[..., SimCamera]) -> tuple[list[SimCamera], int, list[str]]:
    """Four cameras on one loopback block, with the reply quirks of real firmware."""
    port = free_udp_port()
    block = loopback_block(6)
    variants = ["", "wrong_action", "no_wrapper", "duplicate"]
    cameras = [onvif_camera(host=block[i], serial=f"SN-{i}", discovery=True, discovery_port=port,
                            probe_variant=variants[i]) for i in range(4)]
    return cameras, port, block


def by_address(devices: list[DiscoveredDevice]) -> dict[str, DiscoveredDevice]:
    return {d.address: d for d in devices}


def test_multicast_finds_every_camera_with_no_address_given(
        site: tuple[list[SimCamera], int, list[str]]) -> None:
    cameras, port, _ = site
    seen: list[str] = []
    devices = asyncio.run(discover(interfaces=["lo"], port=port, wait_s=WAIT_S,
                                   on_found=lambda d: seen.append(d.address)))
    found = by_address(devices)
    for cam in cameras:
        assert found[cam.host].port == cam.port
        assert found[cam.host].xaddrs[0] == cam.xaddr
    assert sorted(seen) == sorted(found)  # progress reported each device once
    # The NVR-style duplicate answers under new endpoint ids are merged, not listed twice.
    assert len(devices) == len(cameras)
    assert found[cameras[3].host].aliases


def test_unicast_list_finds_listed_cameras_only(site: tuple[list[SimCamera], int, list[str]]) -> None:
    cameras, port, _ = site
    devices = asyncio.run(discover(multicast=False, targets=[cameras[0].host, cameras[2].host],
                                   port=port, wait_s=WAIT_S))
    assert sorted(by_address(devices)) == sorted([cameras[0].host, cameras[2].host])


@pytest.fixture
def junk_responder() -> Iterator[Callable[[str, int], None]]:
    """Answer every datagram with junk, from a given loopback address (a broken device)."""
    stops: list[tuple[threading.Event, socket.socket]] = []

    def start(host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.settimeout(0.2)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    _, addr = sock.recvfrom(65535)
                except (TimeoutError, OSError):
                    continue
                for junk in (b"\x00\xffjunk", b"<html>oops</html>", b"<Envelope><Body>" * 500):
                    sock.sendto(junk, addr)

        threading.Thread(target=serve, daemon=True).start()
        stops.append((stop, sock))

    yield start
    for stop, sock in stops:
        stop.set()
        sock.close()


def test_cidr_range_finds_every_camera_and_survives_junk(
        site: tuple[list[SimCamera], int, list[str]],
        junk_responder: Callable[[str, int], None]) -> None:
    cameras, port, block = site
    junk_responder(block[4], port)  # a broken device inside the range
    cidr = block[0].rsplit(".", 1)[0] + ".0/29"
    devices = asyncio.run(discover(multicast=False, targets=[cidr], port=port, wait_s=WAIT_S))
    assert sorted(by_address(devices)) == sorted(cam.host for cam in cameras)


def test_multicast_and_unicast_together_do_not_duplicate(
        site: tuple[list[SimCamera], int, list[str]]) -> None:
    cameras, port, _ = site
    devices = asyncio.run(discover(interfaces=["127.0.0.1"], targets=[c.host for c in cameras],
                                   port=port, wait_s=WAIT_S))
    assert sorted(by_address(devices)) == sorted(cam.host for cam in cameras)
    assert len(devices) == len(cameras)
