"""What the agent knows about a camera device: discovery answers, ONVIF identity, media sources.

These are frozen dataclasses (internal results, never wire messages): the discovery module
produces :class:`DiscoveredDevice`, the ONVIF client produces :class:`DeviceInfo` with one
:class:`MediaSource` per video source. :func:`camera_id` turns a device identity plus a
video-source token into the stable camera key of the protocol (``CameraId``), which must not
change when DHCP hands the camera a new address.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "CAMERA_ID_PATTERN",
    "DeviceInfo",
    "DiscoveredDevice",
    "MediaSource",
    "camera_id",
    "normalise_mac",
    "site_camera_ids",
]

# Same pattern as protocol.messages.CameraId; kept here so the agent never builds an invalid id.
CAMERA_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")
_MAC_HEX = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class DiscoveredDevice:
    """One device that answered a WS-Discovery probe (after de-duplication)."""

    address: str  # host of the first usable XAddr, else the UDP source address
    port: int  # ONVIF HTTP port taken from that XAddr (80 when it names none)
    xaddrs: tuple[str, ...]  # every device-service URL it announced
    endpoint: str  # WS-Addressing endpoint reference (often urn:uuid:...)
    scopes: tuple[str, ...]
    types: tuple[str, ...] = ()
    # Other endpoint references seen for the same address (duplicate replies of NVRs).
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Return the ``onvif://www.onvif.org/name/...`` scope, if the device sent one."""
        return _scope_value(self.scopes, "name")

    @property
    def hardware(self) -> str:
        """Return the ``onvif://www.onvif.org/hardware/...`` scope, if the device sent one."""
        return _scope_value(self.scopes, "hardware")


@dataclass(frozen=True)
class MediaSource:
    """One video source of a device (a camera; an NVR has several)."""

    token: str  # video-source token (VideoSourceConfiguration.SourceToken)
    profile_token: str  # the media profile chosen for it (highest resolution)
    stream_uri: str  # RTSP URI as the device gave it (never with credentials)
    snapshot_uri: str  # "" when the device has none or sent garbage
    width: int | None
    height: int | None
    fps: float | None
    codec: str  # "H264", "H265", "JPEG", ... or "" when unknown
    bitrate_kbps: int | None = None  # configured bit-rate limit of the profile (kbit/s)


@dataclass(frozen=True)
class DeviceInfo:
    """What ONVIF told us about one device."""

    maker: str
    model: str
    firmware: str
    serial: str
    hardware_id: str
    mac: str  # lower-case aa:bb:cc:dd:ee:ff, or "" when unknown
    clock_offset_s: float | None  # camera clock minus ours; None when the camera did not say
    sources: tuple[MediaSource, ...]
    address: str = ""
    port: int = 0
    # Optional data that could not be read (quirky firmware); the device still counts as read.
    warnings: tuple[str, ...] = field(default=())

    @property
    def identity(self) -> str:
        """Return the most stable identity this device offers: serial, else MAC."""
        return self.serial.strip() or self.mac

    def camera_ids(self, endpoint: str = "") -> dict[str, str]:
        """Return {video-source token: camera id} for every source of this device."""
        ident = self.identity or endpoint
        return {src.token: camera_id(ident, src.token) for src in self.sources}


def site_camera_ids(devices: Sequence[tuple[DeviceInfo, str]]) -> list[dict[str, str]]:
    """Camera ids for every device of a site, given (info, endpoint reference) pairs.

    Cheap cameras often share one serial number ("000000", the model name). A serial seen
    on more than one device is not an identity: those devices fall back to their MAC, else
    their endpoint reference, else (last resort, not stable across DHCP) serial@address.
    """
    counts = Counter(info.identity or endpoint for info, endpoint in devices)
    result = []
    for info, endpoint in devices:
        ident = info.identity or endpoint
        if counts[ident] > 1:
            ident = next((alt for alt in (info.mac, endpoint) if alt and alt != ident),
                         f"{ident}@{info.address}")
        result.append({src.token: camera_id(ident, src.token) for src in info.sources})
    return result


def normalise_mac(value: str) -> str:
    """Return ``value`` as lower-case ``aa:bb:cc:dd:ee:ff``, or "" if it is not a MAC."""
    hexdigits = re.sub(r"[^0-9a-f]", "", value.lower())
    if not _MAC_HEX.fullmatch(hexdigits) or hexdigits == "0" * 12:
        return ""
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


def camera_id(identity: str, source_token: str) -> str:
    """Build the stable camera id from a device identity and a video-source token.

    ``identity`` is the ONVIF serial number, else the MAC, else the WS-Discovery endpoint
    reference: none of them changes with the IP address. Characters outside the protocol's
    alphabet become ``_``; an id that would pass 128 characters is cut and suffixed with a
    hash of the full value so two long identities never collide.
    """
    ident = _UNSAFE.sub("_", identity.strip()).strip("_")
    token = _UNSAFE.sub("_", source_token.strip()).strip("_") or "0"
    if not ident:
        raise ValueError("a camera id needs a serial number, MAC or endpoint reference")
    value = f"{ident}:{token}"
    if len(value) > 128:
        digest = hashlib.sha256(f"{identity}\0{source_token}".encode()).hexdigest()[:16]
        value = f"{value[:111]}~{digest}".replace("~", "-")
    assert CAMERA_ID_PATTERN.fullmatch(value), value
    return value


def _scope_value(scopes: tuple[str, ...], key: str) -> str:
    from urllib.parse import unquote

    prefix = f"onvif://www.onvif.org/{key}/"
    for scope in scopes:
        if scope.lower().startswith(prefix):
            return unquote(scope[len(prefix) :])
    return ""
