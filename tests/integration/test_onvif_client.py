"""ONVIF client against the ipycam simulator and fault peers (issue 3: ONVIF client, bad input)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from agent.onvif_client import (
    OnvifAuthError,
    OnvifProtocolError,
    OnvifTimeout,
    OnvifUnreachable,
    Timeouts,
    check_alive,
    read_device,
)
from tests.rig.onvif_sim import SimCamera, loopback_block
from tests.rig.ports import SilentServer

pytest_plugins = ["tests.integration.conftest_onvif"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# Generous: the machine is shared and may be loaded; only the fault tests use tight limits.
AMPLE = Timeouts(connect=10.0, read=20.0, total=90.0)
# Offsets are exact to the second plus half a round trip, which a loaded machine stretches.
TOLERANCE_S = 60
SECRET = "s3cret-Pa55"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_read_device_returns_identity_mac_and_stream(onvif_camera: Callable[..., SimCamera]) -> None:
    cam = onvif_camera(manufacturer="Acme", model="AC-200", serial="SN-42", firmware="5.6.7",
                       mac="02:AB:CD:00:00:07", stream_urls=["rtsp://127.0.0.1:8554/moving"])
    info = run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))
    assert (info.maker, info.model, info.firmware, info.serial) == ("Acme", "AC-200", "5.6.7", "SN-42")
    assert info.mac == "02:ab:cd:00:00:07"
    assert info.clock_offset_s is not None and abs(info.clock_offset_s) < TOLERANCE_S
    (source,) = info.sources
    assert source.token == "VS_1"
    assert source.profile_token == "Profile_Main"  # the larger of main/sub
    assert source.stream_uri == "rtsp://127.0.0.1:8554/moving"
    assert source.snapshot_uri == f"http://{cam.host}:{cam.port}/snapshot.jpg"
    assert (source.width, source.height, source.codec) == (320, 240, "H264")
    assert (source.fps, source.bitrate_kbps) == (10.0, 256)
    assert info.warnings == ()


def test_read_device_with_credentials(onvif_camera: Callable[..., SimCamera],
                                      caplog: pytest.LogCaptureFixture) -> None:
    cam = onvif_camera(username="admin", password=SECRET, serial="SN-AUTH")
    with caplog.at_level(logging.DEBUG):
        info = run(read_device(cam.host, cam.port, "admin", SECRET, timeouts=AMPLE))
    assert info.serial == "SN-AUTH"
    assert SECRET not in caplog.text


def test_wrong_password_is_an_auth_error(onvif_camera: Callable[..., SimCamera],
                                         caplog: pytest.LogCaptureFixture) -> None:
    cam = onvif_camera(username="admin", password=SECRET)
    with caplog.at_level(logging.DEBUG), pytest.raises(OnvifAuthError) as err:
        run(read_device(cam.host, cam.port, "admin", "wrong-pass", timeouts=AMPLE))
    assert cam.host in str(err.value)
    assert "wrong-pass" not in str(err.value) + caplog.text
    assert err.value.__cause__ is not None  # library error chained


def test_check_alive_proves_the_credentials(onvif_camera: Callable[..., SimCamera]) -> None:
    cam = onvif_camera(username="admin", password=SECRET)
    assert abs(run(check_alive(cam.host, cam.port, "admin", SECRET, timeouts=AMPLE))) < TOLERANCE_S
    # The clock is given to anyone; the signed call is what notices a changed password.
    with pytest.raises(OnvifAuthError):
        run(check_alive(cam.host, cam.port, "admin", "changed", timeouts=AMPLE))


def test_missing_credentials_on_a_protected_camera_is_an_auth_error(
        onvif_camera: Callable[..., SimCamera]) -> None:
    cam = onvif_camera(username="admin", password=SECRET)
    with pytest.raises(OnvifAuthError):
        run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))


@pytest.mark.parametrize("offset", [36000.0, -36000.0])
def test_clock_far_off_still_authenticates_and_reports_offset(
        onvif_camera: Callable[..., SimCamera], offset: float) -> None:
    cam = onvif_camera(username="admin", password=SECRET, clock_offset_s=offset)
    info = run(read_device(cam.host, cam.port, "admin", SECRET, timeouts=AMPLE))
    assert info.clock_offset_s is not None and abs(info.clock_offset_s - offset) < TOLERANCE_S
    assert abs(run(check_alive(cam.host, cam.port, "admin", SECRET, timeouts=AMPLE)) - offset) < TOLERANCE_S


def test_clock_behind_auth_and_far_off_uses_the_http_date(
        onvif_camera: Callable[..., SimCamera]) -> None:
    # Strict devices refuse even GetSystemDateAndTime without a token, and refuse our token
    # because our Created stamp is 10 h from their clock.
    cam = onvif_camera(username="admin", password=SECRET, clock_offset_s=-36000, auth_for_clock=True)
    info = run(read_device(cam.host, cam.port, "admin", SECRET, timeouts=AMPLE))
    assert info.clock_offset_s is not None and abs(info.clock_offset_s + 36000) < TOLERANCE_S


def test_check_alive_returns_small_offset_on_a_good_clock(onvif_camera: Callable[..., SimCamera]) -> None:
    cam = onvif_camera()
    assert abs(run(check_alive(cam.host, cam.port, None, None, timeouts=AMPLE))) < TOLERANCE_S


def test_refused_port_is_unreachable(refusing_port: int) -> None:
    with pytest.raises(OnvifUnreachable):
        run(read_device("127.0.0.1", refusing_port, None, None, timeouts=AMPLE))
    with pytest.raises(OnvifUnreachable):
        run(check_alive("127.0.0.1", refusing_port, "admin", SECRET, timeouts=AMPLE))


def test_hanging_device_times_out_within_the_read_timeout(hanging_onvif: SilentServer) -> None:
    # The per-call read timeout (1 s) fires, not the 30 s budget: a hang never holds a slot long.
    with pytest.raises(OnvifTimeout, match=r"no answer to GetSystemDateAndTime within 1 s"):
        run(check_alive(hanging_onvif.host, hanging_onvif.port, None, None,
                        timeouts=Timeouts(connect=1.0, read=1.0, total=30.0)))


def test_total_budget_bounds_the_whole_read(hanging_onvif: SilentServer) -> None:
    with pytest.raises(OnvifTimeout, match="gave up"):
        run(read_device(hanging_onvif.host, hanging_onvif.port, None, None,
                        timeouts=Timeouts(connect=1.0, read=30.0, total=1.0)))


@pytest.mark.parametrize("fault", ["html", "http500", "malformed"])
def test_non_soap_answers_are_protocol_errors(onvif_camera: Callable[..., SimCamera], fault: str) -> None:
    cam = onvif_camera(fault=fault)
    with pytest.raises(OnvifProtocolError):
        run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))
    with pytest.raises(OnvifProtocolError):
        run(check_alive(cam.host, cam.port, None, None, timeouts=AMPLE))


def test_http_401_without_soap_is_an_auth_error(onvif_camera: Callable[..., SimCamera]) -> None:
    cam = onvif_camera(fault="http401")
    with pytest.raises(OnvifAuthError):
        run(read_device(cam.host, cam.port, "admin", SECRET, timeouts=AMPLE))


def test_invalid_xml_in_optional_fields_warns_and_keeps_going(
        onvif_camera: Callable[..., SimCamera], caplog: pytest.LogCaptureFixture) -> None:
    cam = onvif_camera(fault="bad_optional", serial="SN-QUIRK", stream_urls=["rtsp://127.0.0.1:1/q"])
    with caplog.at_level(logging.WARNING):
        info = run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))
    assert info.serial == "SN-QUIRK"
    assert info.mac == ""
    assert info.sources[0].stream_uri == "rtsp://127.0.0.1:1/q"
    assert info.sources[0].snapshot_uri == ""
    assert len(info.warnings) == 2
    assert "MAC" in caplog.text and "GetSnapshotUri" in caplog.text


def test_multi_channel_device_yields_one_source_per_channel(
        onvif_camera: Callable[..., SimCamera]) -> None:
    urls = [f"rtsp://127.0.0.1:8554/ch{i}" for i in range(1, 5)]
    cam = onvif_camera(channels=4, stream_urls=urls, serial="NVR-1")
    info = run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))
    assert [s.token for s in info.sources] == ["VS_1", "VS_2", "VS_3", "VS_4"]
    assert [s.stream_uri for s in info.sources] == urls
    assert len(set(info.camera_ids().values())) == 4


def test_address_change_keeps_the_camera_id(onvif_camera: Callable[..., SimCamera]) -> None:
    first_addr, second_addr = loopback_block(2)
    before = onvif_camera(host=first_addr, serial="SN-DHCP", mac="02:00:00:00:00:09")
    ids_before = run(read_device(before.host, before.port, None, None, timeouts=AMPLE)).camera_ids()
    before.stop()
    after = onvif_camera(host=second_addr, serial="SN-DHCP", mac="02:00:00:00:00:09")
    info_after = run(read_device(after.host, after.port, None, None, timeouts=AMPLE))
    assert info_after.address == second_addr
    assert info_after.camera_ids() == ids_before == {"VS_1": "SN-DHCP:VS_1"}


def test_stream_uri_credentials_are_removed(onvif_camera: Callable[..., SimCamera]) -> None:
    cam = onvif_camera(stream_urls=["rtsp://admin:hunter2@127.0.0.1:8554/main"])
    info = run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))
    assert info.sources[0].stream_uri == "rtsp://127.0.0.1:8554/main"


def test_media_service_advertised_on_another_address_is_reached_where_the_device_is(
        onvif_camera: Callable[..., SimCamera]) -> None:
    # Behind NAT (or with 0.0.0.0 firmware) the device names an address we cannot reach.
    cam = onvif_camera(advertise_host="192.0.2.77", serial="SN-NAT")
    info = run(read_device(cam.host, cam.port, None, None, timeouts=AMPLE))
    assert info.serial == "SN-NAT"
    assert info.sources[0].stream_uri


def test_read_inventory_picks_the_configured_source(onvif_camera: Callable[..., SimCamera]) -> None:
    from agent.inventory import read_inventory

    urls = [f"rtsp://127.0.0.1:8554/ch{i}" for i in (1, 2)]
    cam = onvif_camera(channels=2, stream_urls=urls, serial="NVR-INV", username="admin", password="12345")
    inv = run(read_inventory("NVR-INV:VS_2", cam.host, cam.port, "VS_2",
                             [("admin", "nope"), ("admin", "12345")], timeouts=AMPLE))
    assert inv is not None
    assert (inv.serial, inv.video_source, inv.stream_uri) == ("NVR-INV", "VS_2", urls[1])
    assert inv.default_password is True
    assert run(read_inventory("x", cam.host, cam.port, "VS_1", [("admin", "nope")], timeouts=AMPLE)) is None
