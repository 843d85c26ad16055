"""Parsers of ONVIF replies on payloads captured from real devices (tests/fixtures/onvif/captured/).

Each capture was published by a third party (provenance in tests/fixtures/onvif/README.md) and
goes through zeep exactly as the client sees it, then through the agent's parsers; the
WS-Discovery capture goes through agent.discovery's own datagram parser. The written fixtures
in tests/unit/test_onvif_parsers.py pin the quirks we expect; these pin what devices really send.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent.device import DeviceInfo, MediaSource
from agent.discovery import merge_replies, parse_probe_reply
from agent.onvif_parsers import choose_profiles, clock_offset, parse_device_information, parse_mac
from tests.unit.test_onvif_parsers import FIXTURES, reply

CAPTURED = "captured"
HIK_PROFILES = f"{CAPTURED}/hikvision_get_profiles.xml"
HIK_PROBE = FIXTURES / CAPTURED / "hikvision_ds_2cd3955fwd_iws_probe_matches.xml"
MILESIGHT_INFO = f"{CAPTURED}/milesight_ms_c8165_pe_get_device_information.xml"
AXIS_CLOCK = f"{CAPTURED}/axis_get_system_date_and_time.xml"
HIK_INTERFACES = f"{CAPTURED}/hikvision_get_network_interfaces.xml"
DLINK_PROFILES = f"{CAPTURED}/dlink_dcs_6511_get_profiles.xml"
ENP_INFO = f"{CAPTURED}/enp1a14_ir_25x_get_device_information.xml"
GX_INFO = f"{CAPTURED}/gx728mf_ir28_get_device_information.xml"
IPD_INFO = f"{CAPTURED}/ipd_h4k8m05_bs_get_device_information.xml"
IPD_PROFILES = f"{CAPTURED}/ipd_h4k8m05_bs_get_profiles.xml"
IPD_CLOCK = f"{CAPTURED}/ipd_h4k8m05_bs_get_system_date_and_time.xml"


def test_milesight_device_information() -> None:
    ident = parse_device_information(reply("devicemgmt", "GetDeviceInformation", MILESIGHT_INFO))
    assert ident.maker == "Milesight Technology Co.,Ltd."
    assert ident.model == "MS-C8165-PE"
    assert ident.firmware == "61.8.0.3-r8"
    assert ident.serial == "EM82V102329001403"
    assert ident.hardware_id == "V1.0"


def test_milesight_serial_gives_a_camera_id_that_survives_a_move() -> None:
    ident = parse_device_information(reply("devicemgmt", "GetDeviceInformation", MILESIGHT_INFO))
    source = (MediaSource("VideoSource_1", "Profile_1", "rtsp://x/", "", 1920, 1080, 25.0, "H264"),)
    here = DeviceInfo(ident.maker, ident.model, ident.firmware, ident.serial, ident.hardware_id,
                      "", None, source, address="10.0.0.20", port=80)
    moved = DeviceInfo(ident.maker, ident.model, ident.firmware, ident.serial, ident.hardware_id,
                       "", None, source, address="10.0.9.7", port=8080)
    assert here.camera_ids() == moved.camera_ids() == {
        "VideoSource_1": "EM82V102329001403:VideoSource_1"}


def test_axis_clock_offset_uses_utc_not_the_local_time() -> None:
    sdt = reply("devicemgmt", "GetSystemDateAndTime", AXIS_CLOCK)
    # The camera says 19:49:06 UTC (16:49:06 local, TZ BRT3); our clock reads 20:00:00 UTC.
    local = datetime(2024, 7, 9, 20, 0, 0, tzinfo=UTC)
    assert clock_offset(sdt, local) == -654.0


def test_hikvision_camera_yields_its_main_stream() -> None:
    profiles = reply("media", "GetProfiles", HIK_PROFILES)
    assert [p["token"] for p in profiles] == ["Profile_1", "Profile_2"]
    (choice,) = choose_profiles(profiles)
    assert (choice.source_token, choice.profile_token) == ("VideoSource_1", "Profile_1")
    # The encoder's resolution, not the 2688x1520 sensor bounds of the source configuration.
    assert (choice.width, choice.height, choice.fps) == (1920, 1080, 10.0)


def test_hikvision_encoding_attribute_h265_overrides_media1_h264() -> None:
    profiles = reply("media", "GetProfiles", HIK_PROFILES)
    main, sub = profiles
    # The quirk as sent: Media 1's element says H264, the vendor attribute says H265.
    assert main["VideoEncoderConfiguration"]["Encoding"] == "H264"
    assert main["VideoEncoderConfiguration"]["_attr_1"] == {"encoding": "H265"}
    (choice,) = choose_profiles(profiles)
    assert choice.codec == "H265"
    # The sub stream carries no attribute: its element is the truth.
    (sub_choice,) = choose_profiles([sub])
    assert (sub_choice.profile_token, sub_choice.codec) == ("Profile_2", "H264")
    assert (sub_choice.width, sub_choice.height, sub_choice.fps) == (640, 360, 25.0)


def test_hikvision_mac_is_the_enabled_wired_one_not_the_disabled_wifi_module() -> None:
    interfaces = reply("devicemgmt", "GetNetworkInterfaces", HIK_INTERFACES)
    assert [(i["token"], i["Enabled"]) for i in interfaces] == [("eth0", True), ("wlan0", False)]
    # eth0 carries Hikvision's OUI; the disabled wlan0 a Wi-Fi module maker's.
    assert parse_mac(interfaces) == "28:57:be:2d:7a:59"
    assert parse_mac(list(reversed(interfaces))) == "28:57:be:2d:7a:59"
    # With only the disabled interface left, its MAC is still better than none.
    assert parse_mac(interfaces[1:]) == "20:f4:1b:39:7d:0c"


def test_hikvision_probe_match_names_the_device_and_its_ipv4_service() -> None:
    (match,) = parse_probe_reply(HIK_PROBE.read_bytes(), "192.168.0.218")
    assert match.endpoint == "urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d"
    assert match.types == ("dn:NetworkVideoTransmitter", "tds:Device")
    assert len(match.scopes) == 8
    assert match.xaddrs == ("http://192.168.0.218/onvif/device_service",
                            "http://[fe80::b6a3:82ff:fe0f:d92d]/onvif/device_service")
    (device,) = merge_replies([match])
    # The IPv6 link-local XAddr is announced too; the device is reached on its IPv4 one.
    assert (device.address, device.port) == ("192.168.0.218", 80)
    assert device.hardware == "DS-2CD3955FWD-IWS"
    assert device.name == "HIKVISION DS-2CD3955FWD-IWS"


def test_hikvision_probe_match_heard_twice_is_one_device() -> None:
    data = HIK_PROBE.read_bytes()
    # WS-Discovery probes go out twice; the camera answers each with the same endpoint.
    devices = merge_replies(parse_probe_reply(data, "192.168.0.218") * 2)
    assert [(d.address, d.endpoint, d.aliases) for d in devices] == [
        ("192.168.0.218", "urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d", ())]


def test_white_label_placeholder_makers_read_as_no_maker() -> None:
    """OEM firmware names no maker, or a placeholder ("ONVIF", "NONE"): read as no maker (the
    inventory says unknown), and the device is still read."""
    enp = parse_device_information(reply("devicemgmt", "GetDeviceInformation", ENP_INFO))
    gx = parse_device_information(reply("devicemgmt", "GetDeviceInformation", GX_INFO))
    ipd = parse_device_information(reply("devicemgmt", "GetDeviceInformation", IPD_INFO))
    assert (enp.maker, enp.model, enp.firmware, enp.hardware_id) == (
        "", "ENP1A14-IR/25X", "V5.5.3 build 180822", "88")
    assert (gx.maker, gx.model, gx.serial) == ("", "GX728MF-IR28", "210235T8HQ3197000191")
    assert gx.firmware == "IPC_G6106-B0005P11D1812C03"
    # An empty Manufacturer is no reason to refuse the device: model and serial are there.
    assert (ipd.maker, ipd.model, ipd.serial) == ("", "IPD-H4K8M05-BS", "071D3E36963F")


def test_serial_with_a_slash_gives_a_valid_camera_id() -> None:
    ident = parse_device_information(reply("devicemgmt", "GetDeviceInformation", ENP_INFO))
    assert ident.serial == "ENP1A14-IR/25X20190430AAWRD14878498W"
    source = (MediaSource("VideoSource_1", "Profile_1", "rtsp://x/", "", 1920, 1080, 25.0, "H264"),)
    info = DeviceInfo(ident.maker, ident.model, ident.firmware, ident.serial, ident.hardware_id,
                      "", None, source, address="10.0.0.30", port=80)
    assert info.camera_ids() == {"VideoSource_1": "ENP1A14-IR_25X20190430AAWRD14878498W:VideoSource_1"}


def test_dlink_dcs_6511_main_stream_wins_over_a_faster_sub_stream() -> None:
    profiles = reply("media", "GetProfiles", DLINK_PROFILES)
    assert [p["token"] for p in profiles] == ["Profile1", "Profile2"]
    (choice,) = choose_profiles(profiles)
    assert (choice.source_token, choice.profile_token) == ("VideoSource0", "Profile1")
    assert (choice.width, choice.height, choice.fps, choice.codec) == (1280, 1024, 7.0, "H264")


def test_encoder_resolution_beyond_the_source_bounds_is_taken_from_the_encoder() -> None:
    profiles = reply("media", "GetProfiles", IPD_PROFILES)
    # The source configuration says 720x576; the main encoder streams 2592x1944.
    assert profiles[0]["VideoSourceConfiguration"]["Bounds"]["width"] == 720
    (choice,) = choose_profiles(profiles)
    assert (choice.source_token, choice.profile_token) == ("VI_CH0", "MainStream")
    assert (choice.width, choice.height, choice.fps, choice.codec) == (2592, 1944, 25.0, "H264")


def test_ipd_clock_offset_uses_utc_not_the_local_time() -> None:
    sdt = reply("devicemgmt", "GetSystemDateAndTime", IPD_CLOCK)
    # 17:38:53 UTC (13:38:53 local under TZ AST4ADT); our clock reads 17:40:00 UTC.
    assert clock_offset(sdt, datetime(2025, 4, 6, 17, 40, 0, tzinfo=UTC)) == -67.0
