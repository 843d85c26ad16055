"""Camera identity: stable, valid ids from serial/MAC/endpoint (issue 3: identity survives DHCP)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from agent.device import (
    CAMERA_ID_PATTERN,
    DeviceInfo,
    DiscoveredDevice,
    MediaSource,
    camera_id,
    normalise_mac,
    site_camera_ids,
)
from protocol.messages import CameraId


def test_camera_id_from_serial_and_token() -> None:
    assert camera_id("ABC123", "VS_1") == "ABC123:VS_1"


def test_camera_id_replaces_characters_outside_the_protocol_alphabet() -> None:
    assert camera_id(" DS 2CD/2042 ", "Video Source#1") == "DS_2CD_2042:Video_Source_1"


def test_camera_id_needs_an_identity() -> None:
    with pytest.raises(ValueError):
        camera_id("  ", "VS_1")


def test_long_identities_are_cut_but_stay_distinct() -> None:
    a = camera_id("X" * 200 + "a", "VS_1")
    b = camera_id("X" * 200 + "b", "VS_1")
    assert len(a) <= 128 and len(b) <= 128 and a != b


@given(st.text(min_size=1, max_size=300).filter(lambda s: any(c.isalnum() for c in s)),
       st.text(max_size=80))
def test_camera_id_always_matches_the_protocol_pattern(ident: str, token: str) -> None:
    try:
        value = camera_id(ident, token)
    except ValueError:
        return  # identity made only of unsafe characters
    assert CAMERA_ID_PATTERN.fullmatch(value)


def test_device_identity_prefers_serial_then_mac_then_endpoint() -> None:
    def info(serial: str, mac: str) -> DeviceInfo:
        return DeviceInfo("m", "x", "1", serial, "", mac, None, ())

    assert info("S1", "aa:bb:cc:dd:ee:ff").identity == "S1"
    assert info(" ", "aa:bb:cc:dd:ee:ff").identity == "aa:bb:cc:dd:ee:ff"
    assert info("", "").camera_ids("urn:uuid:1") == {}
    with_source = DeviceInfo("m", "x", "1", "", "", "", None, (
        MediaSource("VS", "P", "", "", None, None, None, ""),))
    assert with_source.camera_ids("urn:uuid:1") == {"VS": "urn:uuid:1:VS"}


_PROTOCOL_ID = TypeAdapter(CameraId)


@given(st.text(min_size=1, max_size=300).filter(lambda s: any(c.isalnum() for c in s)),
       st.text(max_size=80))
def test_camera_id_is_accepted_by_the_protocol_model(ident: str, token: str) -> None:
    try:
        value = camera_id(ident, token)
    except ValueError:
        return
    assert _PROTOCOL_ID.validate_python(value) == value


@pytest.mark.parametrize(("raw", "expected"), [
    ("00-1A-2B-3C-4D-5E", "00:1a:2b:3c:4d:5e"),
    ("001a2b3c4d5e", "00:1a:2b:3c:4d:5e"),
    ("00:00:00:00:00:00", ""),
    ("not a mac", ""),
])
def test_normalise_mac(raw: str, expected: str) -> None:
    assert normalise_mac(raw) == expected


def test_discovered_device_name_from_scopes() -> None:
    dev = DiscoveredDevice("10.0.0.5", 80, ("http://10.0.0.5/onvif/device_service",), "urn:uuid:1",
                           ("onvif://www.onvif.org/name/Gate%20Cam", "onvif://www.onvif.org/hardware/DS-2CD"))
    assert dev.name == "Gate Cam"
    assert dev.hardware == "DS-2CD"


def _info(serial: str, mac: str, address: str, tokens: tuple[str, ...] = ("VS_1",)) -> DeviceInfo:
    sources = tuple(MediaSource(t, "P", "", "", None, None, None, "") for t in tokens)
    return DeviceInfo("m", "x", "1", serial, "", mac, None, sources, address=address)


def test_shared_serial_falls_back_to_mac_then_endpoint() -> None:
    ids = site_camera_ids([
        (_info("000000", "02:00:00:00:00:01", "10.0.0.1"), "urn:uuid:a"),
        (_info("000000", "", "10.0.0.2"), "urn:uuid:b"),
        (_info("UNIQUE", "02:00:00:00:00:03", "10.0.0.3"), "urn:uuid:c"),
    ])
    assert ids == [{"VS_1": "02:00:00:00:00:01:VS_1"}, {"VS_1": "urn:uuid:b:VS_1"},
                   {"VS_1": "UNIQUE:VS_1"}]


def test_shared_serial_without_mac_or_endpoint_stays_unique() -> None:
    ids = site_camera_ids([(_info("0", "", "10.0.0.1"), ""), (_info("0", "", "10.0.0.2"), "")])
    assert ids[0] != ids[1]
