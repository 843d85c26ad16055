"""WS-Discovery reply parsing, de-duplication and target expansion (issue 3: discovery, bad input)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.discovery import (
    DiscoveryError,
    ProbeReply,
    build_probe,
    expand_targets,
    merge_replies,
    parse_probe_reply,
)

HEAD = ('<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
        'xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header>'
        '<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/{action}</wsa:Action>'
        '</SOAP-ENV:Header><SOAP-ENV:Body>')
TAIL = "</SOAP-ENV:Body></SOAP-ENV:Envelope>"


def match(endpoint: str, xaddrs: str, scopes: str = "onvif://www.onvif.org/name/Cam") -> str:
    return ("<d:ProbeMatch><wsa:EndpointReference><wsa:Address>" + endpoint +
            "</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
            f"<d:Scopes>{scopes}</d:Scopes><d:XAddrs>{xaddrs}</d:XAddrs>"
            "<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch>")


def test_standard_probe_matches_with_two_matches() -> None:
    body = ("<d:ProbeMatches>" + match("urn:uuid:a", "http://10.0.0.14/onvif/device_service")
            + match("urn:uuid:b", "http://10.0.0.15:8000/onvif/device_service") + "</d:ProbeMatches>")
    replies = parse_probe_reply((HEAD.format(action="ProbeMatches") + body + TAIL).encode(), "10.0.0.1")
    assert [r.endpoint for r in replies] == ["urn:uuid:a", "urn:uuid:b"]
    devices = merge_replies(replies)
    assert [(d.address, d.port) for d in devices] == [("10.0.0.14", 80), ("10.0.0.15", 8000)]
    assert devices[0].name == "Cam"


def test_missing_wrapper_and_wrong_action_still_parse() -> None:
    inner = match("urn:uuid:c", "http://10.0.0.20/onvif/device_service")
    bare = inner.removeprefix("<d:ProbeMatch>").removesuffix("</d:ProbeMatch>")
    data = (HEAD.format(action="ProbeMatch") + bare + TAIL).encode()
    (reply,) = parse_probe_reply(data, "10.0.0.20")
    assert reply.xaddrs == ("http://10.0.0.20/onvif/device_service",)
    assert reply.endpoint == "urn:uuid:c"


def test_xaddr_on_the_source_address_wins_over_link_local_and_ipv6() -> None:
    xaddrs = ("http://169.254.3.4/onvif/device_service http://[fe80::1]/onvif/device_service "
              "http://192.168.1.9/onvif/device_service http://10.0.0.30:8080/onvif/device_service")
    replies = parse_probe_reply((HEAD.format(action="ProbeMatches") + match("urn:uuid:d", xaddrs) + TAIL).encode(),
                                "10.0.0.30")
    (device,) = merge_replies(replies)
    assert (device.address, device.port) == ("10.0.0.30", 8080)
    assert len(device.xaddrs) == 4


def test_duplicate_replies_with_different_endpoints_are_one_device() -> None:
    a = ProbeReply("10.0.0.40", "urn:uuid:1", ("http://10.0.0.40/onvif/device_service",), ("s1",), ())
    b = ProbeReply("10.0.0.40", "urn:uuid:2", ("http://10.0.0.40/onvif/device_service",), ("s2",), ())
    again = ProbeReply("10.0.0.40", "urn:uuid:1", ("http://10.0.0.40/onvif/device_service",), ("s1",), ())
    (device,) = merge_replies([a, b, again])
    assert device.endpoint == "urn:uuid:1"
    assert device.aliases == ("urn:uuid:2",)
    assert device.scopes == ("s1", "s2")


def test_same_endpoint_on_two_addresses_is_one_device() -> None:
    a = ProbeReply("10.0.0.50", "urn:uuid:x", ("http://10.0.0.50/onvif/device_service",), (), ())
    b = ProbeReply("10.0.1.50", "urn:uuid:x", ("http://10.0.1.50/onvif/device_service",), (), ())
    (device,) = merge_replies([a, b])
    assert device.address == "10.0.0.50"
    assert "http://10.0.1.50/onvif/device_service" in device.xaddrs


@pytest.mark.parametrize("junk", [
    b"", b"\x00\xff" * 100, b"hello", b"<not-closed", b"<a><b></a>",
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><Envelope><Body><XAddrs>&c;</XAddrs></Body></Envelope>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    b"<" + b"a" * 70000 + b">",
    build_probe(),  # another client's probe
])
def test_junk_is_ignored(junk: bytes) -> None:
    assert parse_probe_reply(junk, "10.0.0.99") == []


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    parse_probe_reply(data, "10.0.0.99")


def test_expand_targets_addresses_and_ranges() -> None:
    assert expand_targets(["10.0.0.5", " 10.0.1.0/30 ", "10.0.0.5", ""]) == [
        "10.0.0.5", "10.0.1.1", "10.0.1.2"]


def test_oversized_cidr_is_refused_with_a_clear_error() -> None:
    with pytest.raises(DiscoveryError, match=r"10.0.0.0/16 has 65536 addresses; at most 4096"):
        expand_targets(["10.0.0.0/16"])
    with pytest.raises(DiscoveryError, match="more than 300"):
        expand_targets(["10.0.0.0/24", "10.0.1.0/24"], limit=300)


@pytest.mark.parametrize("bad", ["10.0.0.300", "camera.local", "fe80::/64"])
def test_bad_targets_are_refused(bad: str) -> None:
    with pytest.raises(DiscoveryError):
        expand_targets([bad])


@pytest.mark.parametrize("interface", ["no-such-if0", "192.0.2.1"])
def test_unknown_interface_is_a_clear_error(interface: str) -> None:
    import asyncio

    from agent.discovery import discover

    with pytest.raises(DiscoveryError, match=f"no network interface '{interface}'"):
        asyncio.run(discover(interfaces=[interface], wait_s=0.1))
