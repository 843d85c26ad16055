"""Parsers of ONVIF replies, on SOAP payloads in tests/fixtures/onvif/ (issue 3: discovery, NVRs)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import zeep
import zeep.helpers
from lxml import etree
from onvif.client import _WSDL_PATH

from agent.device import DeviceInfo, MediaSource
from agent.onvif_parsers import choose_profiles, clock_offset, parse_device_information, parse_mac

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "onvif"
_BINDINGS = {
    "devicemgmt": ("devicemgmt.wsdl", "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"),
    "media": ("media.wsdl", "{http://www.onvif.org/ver10/media/wsdl}MediaBinding"),
}


@cache
def _binding(service: str) -> Any:
    wsdl, name = _BINDINGS[service]
    # Same settings as the ONVIF library: lenient schema checks, big trees allowed.
    client = zeep.Client(os.path.join(_WSDL_PATH, wsdl),
                         settings=zeep.Settings(strict=False, xml_huge_tree=True))
    return client.wsdl.bindings[name]


def reply(service: str, operation: str, fixture: str) -> Any:
    """Deserialise a captured reply as the client sees it (zeep, then serialize_object)."""
    envelope = etree.fromstring((FIXTURES / fixture).read_bytes())
    result = _binding(service).get(operation).process_reply(envelope)
    return zeep.helpers.serialize_object(result)


def test_nvr_yields_one_source_per_video_source_with_its_largest_profile() -> None:
    choices = choose_profiles(reply("media", "GetProfiles", "nvr4_get_profiles.xml"))
    assert [c.source_token for c in choices] == [
        "VideoSource_1", "VideoSource_2", "VideoSource_3", "VideoSource_4"]
    assert [c.profile_token for c in choices] == [
        "Profile_101", "Profile_201", "Profile_301", "Profile_402"]
    first, second, third, fourth = choices
    assert (first.width, first.height, first.fps, first.codec) == (1920, 1080, 25.0, "H264")
    assert (second.width, second.height) == (1280, 720)  # main listed after sub
    assert third.codec == "H265"
    assert (fourth.codec, fourth.width) == ("JPEG", 352)


def test_profiles_without_video_source_are_skipped() -> None:
    profiles = reply("media", "GetProfiles", "nvr4_get_profiles.xml")
    assert any(p["token"] == "Profile_MD" for p in profiles)
    assert "Profile_MD" not in {c.profile_token for c in choose_profiles(profiles)}


def test_choose_profiles_tolerates_missing_encoder_configuration() -> None:
    profiles = [{"token": "P1", "VideoSourceConfiguration": {
        "SourceToken": "VS", "Bounds": {"width": 800, "height": 600}}}]
    (choice,) = choose_profiles(profiles)
    assert (choice.width, choice.height, choice.fps, choice.codec) == (800, 600, None, "")
    assert choose_profiles(None) == []


def test_device_information_of_an_nvr() -> None:
    ident = parse_device_information(
        reply("devicemgmt", "GetDeviceInformation", "nvr4_get_device_information.xml"))
    assert ident.maker == "HIKVISION"
    assert ident.model == "DS-7604NI-K1"
    assert ident.firmware == "V4.22.005 build 191120"
    assert ident.serial == "DS-7604NI-K10420191210CCRRD12345678WCVU"
    assert ident.hardware_id == "88"


def test_device_information_without_identity_is_refused() -> None:
    with pytest.raises(ValueError, match="no maker, model or serial"):
        parse_device_information(
            reply("devicemgmt", "GetDeviceInformation", "get_device_information_empty.xml"))


def test_mac_of_first_enabled_interface_normalised() -> None:
    interfaces = reply("devicemgmt", "GetNetworkInterfaces", "nvr4_get_network_interfaces.xml")
    assert parse_mac(interfaces) == "c0:56:e3:aa:bb:01"
    # Only a disabled interface: its MAC is still better than none.
    assert parse_mac([interfaces[0]]) == "c0:56:e3:aa:bb:02"
    assert parse_mac(None) == ""
    assert parse_mac([{"Info": {"HwAddress": "00:00:00:00:00:00"}}]) == ""


def test_clock_offset_from_utc() -> None:
    sdt = reply("devicemgmt", "GetSystemDateAndTime", "get_system_date_and_time_utc.xml")
    local = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)  # camera is 10 h behind
    assert clock_offset(sdt, local) == -36000.0


def test_clock_without_utc_is_unknown_not_guessed() -> None:
    sdt = reply("devicemgmt", "GetSystemDateAndTime", "get_system_date_and_time_local_only.xml")
    assert clock_offset(sdt, datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize("bad", [None, {}, {"UTCDateTime": {"Date": {"Year": "x"}, "Time": {}}}])
def test_clock_offset_rejects_non_dates(bad: Any) -> None:
    with pytest.raises(ValueError):
        clock_offset(bad, datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC))


def test_nvr_camera_ids_are_stable_and_valid() -> None:
    ident = parse_device_information(
        reply("devicemgmt", "GetDeviceInformation", "nvr4_get_device_information.xml"))
    choices = choose_profiles(reply("media", "GetProfiles", "nvr4_get_profiles.xml"))
    sources = tuple(MediaSource(c.source_token, c.profile_token, "rtsp://x/", "", c.width,
                                c.height, c.fps, c.codec) for c in choices)
    info = DeviceInfo(ident.maker, ident.model, ident.firmware, ident.serial, ident.hardware_id,
                      "c0:56:e3:aa:bb:01", None, sources, address="10.0.0.14", port=80)
    moved = DeviceInfo(ident.maker, ident.model, ident.firmware, ident.serial, ident.hardware_id,
                       "c0:56:e3:aa:bb:01", None, sources, address="10.0.0.99", port=8000)
    ids = info.camera_ids()
    assert len(set(ids.values())) == 4
    assert ids == moved.camera_ids()
    assert ids["VideoSource_3"] == "DS-7604NI-K10420191210CCRRD12345678WCVU:VideoSource_3"
