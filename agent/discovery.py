"""WS-Discovery: find ONVIF devices by multicast probe and by unicast probes to listed addresses.

Multicast (239.255.255.250:3702) reaches the cameras on the gateway's own segments; routed
VLANs need unicast probes to listed addresses and CIDR ranges, which every ONVIF device also
answers. Replies are parsed leniently because real firmware bends the standard: a wrong
action name (``ProbeMatches``), ProbeMatch fields without the wrapper element, two replies
with different endpoint ids for one address (NVRs). Devices are de-duplicated by address and
by endpoint reference. Junk on the port (non-XML, XML bombs, probes of other clients) is
counted and dropped, never raised.

Everything runs on the caller's asyncio loop with datagram endpoints; nothing blocks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from lxml import etree

from agent.device import DiscoveredDevice

__all__ = [
    "MAX_PROBE_ADDRESSES",
    "PROBE_WAIT_S",
    "WS_DISCOVERY_GROUP",
    "WS_DISCOVERY_PORT",
    "DiscoveryError",
    "ProbeReply",
    "build_probe",
    "discover",
    "expand_targets",
    "merge_replies",
    "parse_probe_reply",
]

logger = logging.getLogger(__name__)

WS_DISCOVERY_GROUP = "239.255.255.250"
WS_DISCOVERY_PORT = 3702
# WS-Discovery lets a device delay its ProbeMatch by up to 500 ms (APP_MAX_DELAY); busy NVRs
# and cameras across a routed WAN link answer within 1-2 s. 3 s catches them without making
# the installer wait.
PROBE_WAIT_S = 3.0
# A /20 (4096 addresses) covers the largest camera VLAN we expect on one site. A /16 would
# be 65536 datagrams from a gateway: that is a scan, not discovery, and is refused.
MAX_PROBE_ADDRESSES = 4096
# Probes are UDP: the standard sends each one twice (UDP_MULTICAST_UDP_REPEAT).
PROBE_REPEATS = 2
# Pause between bursts of unicast probes so a /20 does not overflow the send buffer.
_UNICAST_BURST = 256
_UNICAST_PAUSE_S = 0.01
# A ProbeMatch is 1-3 KiB; anything far larger is not one.
MAX_REPLY_BYTES = 64 * 1024

_PROBE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
    "<s:Header>"
    "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>"
    "<a:MessageID>{message_id}</a:MessageID>"
    "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
    "</s:Header>"
    "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
    "</s:Envelope>"
)
# No entities, no network, no huge trees: a reply is untrusted input from the LAN.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          recover=True, remove_comments=True, remove_pis=True)


class DiscoveryError(ValueError):
    """The discovery request itself is wrong (bad target, range too large)."""


@dataclass(frozen=True)
class ProbeReply:
    """One parsed ProbeMatch (before de-duplication)."""

    source: str  # UDP source address
    endpoint: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    types: tuple[str, ...]


def build_probe(message_id: str | None = None) -> bytes:
    """Return a WS-Discovery Probe for ONVIF video transmitters."""
    return _PROBE.format(message_id=message_id or f"urn:uuid:{uuid.uuid4()}").encode()


def expand_targets(targets: Iterable[str], limit: int = MAX_PROBE_ADDRESSES) -> list[str]:
    """Expand IPv4 addresses and CIDR ranges into addresses to probe, refusing oversized ranges."""
    seen: dict[str, None] = {}
    for raw in targets:
        text = raw.strip()
        if not text:
            continue
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError as err:
            raise DiscoveryError(f"{text!r} is not an IPv4 address or CIDR range") from err
        if net.version != 4:
            raise DiscoveryError(f"{text}: only IPv4 is probed (WS-Discovery over IPv6 is not used)")
        if net.num_addresses > limit:
            raise DiscoveryError(
                f"{text} has {net.num_addresses} addresses; at most {limit} can be probed "
                f"(list smaller ranges, e.g. /{32 - (limit.bit_length() - 1)})")
        hosts = [net.network_address] if net.num_addresses == 1 else list(net.hosts())
        for host in hosts:
            seen[str(host)] = None
        if len(seen) > limit:
            raise DiscoveryError(f"the targets add up to more than {limit} addresses")
    return list(seen)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _texts(root: etree._Element, name: str) -> list[str]:
    return [el.text.strip() for el in root.iter() if _local(el.tag) == name and el.text and el.text.strip()]


def parse_probe_reply(data: bytes, source: str) -> list[ProbeReply]:
    """Parse one datagram into ProbeMatch replies; junk gives an empty list, never an error."""
    if len(data) > MAX_REPLY_BYTES or b"<" not in data:
        return []
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    names = {_local(el.tag) for el in root.iter()}
    if "Probe" in names and not names & {"ProbeMatch", "ProbeMatches", "XAddrs"}:
        return []  # another client's probe, not an answer
    # Each ProbeMatch (any spelling) is a match; with no wrapper at all, the Body is one.
    groups = [el for el in root.iter() if _local(el.tag) in ("ProbeMatch", "ProbeMatchs", "Hello")
              and any(_local(c.tag) in ("XAddrs", "EndpointReference") for c in el)]
    if not groups:
        groups = [el for el in root.iter() if _local(el.tag) == "Body"] or [root]
    replies = []
    for group in groups:
        xaddrs = tuple(x for text in _texts(group, "XAddrs") for x in text.split()
                       if x.lower().startswith(("http://", "https://")))
        types = tuple(t for text in _texts(group, "Types") for t in text.split())
        if not xaddrs and not any("NetworkVideoTransmitter" in t or t.endswith(":Device") for t in types):
            continue
        endpoint = next(iter(_texts(group, "Address")), "")
        scopes = tuple(s for text in _texts(group, "Scopes") for s in text.split())
        replies.append(ProbeReply(source, endpoint, xaddrs, scopes, types))
    return replies


def _address_of(reply: ProbeReply) -> tuple[str, int]:
    """Pick the XAddr to use: IPv4 on the reply's source address, else any IPv4, else the source."""
    candidates = []
    for xaddr in reply.xaddrs:
        try:
            parts = urlsplit(xaddr)
            host, port = parts.hostname or "", parts.port
        except ValueError:
            continue
        try:
            is_v4 = ipaddress.ip_address(host).version == 4
        except ValueError:
            is_v4 = bool(host)  # a host name: usable
        if is_v4 and not host.startswith("169.254."):
            default = 443 if parts.scheme == "https" else 80
            candidates.append((host != reply.source, host, port or default))
    if candidates:
        _, host, port = min(candidates, key=lambda c: c[0])
        return host, port
    return reply.source, 80


def merge_replies(replies: Iterable[ProbeReply]) -> list[DiscoveredDevice]:
    """De-duplicate replies into devices: one per address, one per endpoint reference."""
    devices: list[DiscoveredDevice] = []
    for reply in replies:
        host, port = _address_of(reply)
        xaddrs = reply.xaddrs or (f"http://{host}:{port}/onvif/device_service",)
        found = next((i for i, d in enumerate(devices) if (d.address, d.port) == (host, port)
                      or (reply.endpoint and reply.endpoint in (d.endpoint, *d.aliases))), None)
        if found is None:
            devices.append(DiscoveredDevice(host, port, xaddrs, reply.endpoint, reply.scopes,
                                            reply.types))
            continue
        old = devices[found]
        aliases = old.aliases
        if reply.endpoint and reply.endpoint != old.endpoint and reply.endpoint not in aliases:
            aliases = (*aliases, reply.endpoint)
        devices[found] = replace(
            old,
            endpoint=old.endpoint or reply.endpoint,
            xaddrs=tuple(dict.fromkeys((*old.xaddrs, *xaddrs))),
            scopes=tuple(dict.fromkeys((*old.scopes, *reply.scopes))),
            types=tuple(dict.fromkeys((*old.types, *reply.types))),
            aliases=tuple(a for a in aliases if a != (old.endpoint or reply.endpoint)),
        )
    return sorted(devices, key=_sort_key)


def _sort_key(device: DiscoveredDevice) -> tuple[int, str, int]:
    try:
        return int(ipaddress.ip_address(device.address)), "", device.port
    except ValueError:
        return 1 << 32, device.address, device.port


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, on_reply: Callable[[ProbeReply], None]) -> None:
        self.on_reply = on_reply
        self.junk = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        replies = parse_probe_reply(data, str(addr[0]))
        if not replies:
            self.junk += 1
            logger.debug("%s: ignoring a datagram that is no ProbeMatch (%d bytes)", addr[0], len(data))
        for reply in replies:
            self.on_reply(reply)

    def error_received(self, exc: Exception) -> None:
        # ICMP port-unreachable from a probed address without a device: expected in a range.
        logger.debug("discovery socket: %s", exc)


def _socket(interface: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setblocking(False)
    # Link-local multicast: WS-Discovery never crosses a router (TTL 1 per the standard).
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    # Loop lets a camera simulator on this host hear us; harmless on a gateway.
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    if interface:
        try:
            addr = socket.inet_aton(interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, addr)
        except OSError:
            try:
                index = socket.if_nametoindex(interface)
            except OSError as err:
                sock.close()
                raise DiscoveryError(f"no network interface {interface!r}") from err
            mreqn = struct.pack("=4s4si", bytes(4), bytes(4), index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
    sock.bind(("0.0.0.0", 0))
    return sock


async def _open(loop: asyncio.AbstractEventLoop, interface: str | None,
                collect: Callable[[ProbeReply], None]) -> tuple[asyncio.DatagramTransport, _Listener]:
    listener = _Listener(collect)
    transport, _ = await loop.create_datagram_endpoint(lambda: listener, sock=_socket(interface))
    return transport, listener


async def discover(
    *,
    multicast: bool = True,
    interfaces: Sequence[str] = (),
    targets: Sequence[str] = (),
    wait_s: float = PROBE_WAIT_S,
    port: int = WS_DISCOVERY_PORT,
    on_found: Callable[[DiscoveredDevice], None] | None = None,
    max_addresses: int = MAX_PROBE_ADDRESSES,
) -> list[DiscoveredDevice]:
    """Probe by multicast (on each interface, or the default one) and unicast; return devices.

    ``targets`` are IPv4 addresses or CIDR ranges (validated before anything is sent).
    ``on_found`` is called once per new device address as replies arrive (installer progress).
    """
    addresses = expand_targets(targets, max_addresses)
    loop = asyncio.get_running_loop()
    replies: list[ProbeReply] = []
    announced: set[tuple[str, int]] = set()

    def collect(reply: ProbeReply) -> None:
        replies.append(reply)
        key = _address_of(reply)
        if on_found is not None and key not in announced:
            announced.add(key)
            on_found(merge_replies([reply])[0])

    transports: list[asyncio.DatagramTransport] = []
    listeners: list[_Listener] = []
    # One socket per multicast interface (None: the kernel's default); unicast uses the first.
    named: list[str | None] = list(interfaces)
    sockets_for: list[str | None] = (named or [None]) if multicast else ([None] if addresses else [])
    try:
        for interface in sockets_for:
            transport, listener = await _open(loop, interface, collect)
            transports.append(transport)
            listeners.append(listener)
        probe = build_probe()
        for _ in range(PROBE_REPEATS if transports else 0):
            if multicast:
                for transport in transports:
                    transport.sendto(probe, (WS_DISCOVERY_GROUP, port))
            for i, address in enumerate(addresses):
                transports[0].sendto(probe, (address, port))
                if i % _UNICAST_BURST == _UNICAST_BURST - 1:
                    await asyncio.sleep(_UNICAST_PAUSE_S)
        await asyncio.sleep(wait_s)
    finally:
        for transport in transports:
            transport.close()
    junk = sum(listener.junk for listener in listeners)
    devices = merge_replies(replies)
    logger.info("discovery: %d device(s) from %d repl(ies), %d other datagram(s) ignored",
                len(devices), len(replies), junk)
    return devices
