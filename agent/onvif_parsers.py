"""Pure parsers for ONVIF replies, turned into plain dicts by ``zeep.helpers.serialize_object``.

Kept apart from the client so they can be tested on captured SOAP payloads
(tests/fixtures/onvif/) without a device. Every parser is lenient about what real firmware
omits (missing encoder configuration, no UTC clock) and strict only where the answer would be
meaningless.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.device import normalise_mac

__all__ = [
    "DeviceIdentity",
    "ProfileChoice",
    "choose_profiles",
    "clock_offset",
    "parse_device_information",
    "parse_mac",
]


@dataclass(frozen=True)
class DeviceIdentity:
    """The fields of GetDeviceInformation."""

    maker: str
    model: str
    firmware: str
    serial: str
    hardware_id: str


@dataclass(frozen=True)
class ProfileChoice:
    """The media profile chosen for one video source."""

    source_token: str
    profile_token: str
    width: int | None
    height: int | None
    fps: float | None
    codec: str
    bitrate_kbps: int | None = None  # RateControl.BitrateLimit (kbit/s), None when not stated


def _get(obj: Any, *path: str) -> Any:
    """Follow ``path`` through nested mappings, returning None at the first gap."""
    for key in path:
        if isinstance(obj, Mapping):
            obj = obj.get(key)
        else:
            obj = getattr(obj, key, None)
        if obj is None:
            return None
    return obj


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def clock_offset(reply: Any, local_now: datetime) -> float | None:
    """Return camera clock minus ``local_now`` in seconds, from a GetSystemDateAndTime reply.

    Uses UTCDateTime. Some cameras only fill LocalDateTime: then the offset is unknown
    (None) rather than guessed from a TimeZone string that firmware often gets wrong.
    Raises ValueError when the reply has no SystemDateAndTime at all (not a clock answer).
    """
    if reply is None:
        raise ValueError("empty GetSystemDateAndTime reply")
    # zeep unwraps the single SystemDateAndTime part; a raw dict may still hold the wrapper.
    wrapped = _get(reply, "SystemDateAndTime")
    sdt = wrapped if wrapped is not None else reply
    utc = _get(sdt, "UTCDateTime")
    if utc is None:
        if _get(sdt, "LocalDateTime") is None and _get(sdt, "DateTimeType") is None:
            raise ValueError("GetSystemDateAndTime reply has no date")
        return None
    parts = [_get(utc, "Date", k) for k in ("Year", "Month", "Day")]
    parts += [_get(utc, "Time", k) for k in ("Hour", "Minute", "Second")]
    try:
        year, month, day, hour, minute, second = (int(p) for p in parts)
        # Some firmware reports second=60 (leap) or hour=24: normalise through a timestamp.
        stamp = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (TypeError, ValueError) as err:
        raise ValueError(f"GetSystemDateAndTime reply has an invalid date: {parts}") from err
    camera = datetime.fromtimestamp(stamp, tz=UTC)
    return (camera - local_now.astimezone(UTC)).total_seconds()


# What white-label firmware puts in Manufacturer when the OEM left it blank (seen in captured
# replies: "ONVIF", "NONE"). Read as no maker: the inventory, the maker filter and the audit's
# matching then say "unknown" instead of grouping unrelated cameras under a non-name.
_PLACEHOLDER_MAKERS = frozenset({"onvif", "none", "null", "n/a", "na", "unknown", "default", "manufacturer", "-"})


def _maker(reply: Any) -> str:
    maker = _text(_get(reply, "Manufacturer"))
    return "" if maker.lower() in _PLACEHOLDER_MAKERS else maker


def parse_device_information(reply: Any) -> DeviceIdentity:
    """Return maker, model, firmware, serial and hardware id; raise ValueError if all are empty.

    A placeholder maker (``ONVIF``, ``NONE``...) is read as no maker."""
    ident = DeviceIdentity(
        maker=_maker(reply),
        model=_text(_get(reply, "Model")),
        firmware=_text(_get(reply, "FirmwareVersion")),
        serial=_text(_get(reply, "SerialNumber")),
        hardware_id=_text(_get(reply, "HardwareId")),
    )
    if not (ident.maker or ident.model or ident.serial):
        raise ValueError("GetDeviceInformation reply names no maker, model or serial")
    return ident


def parse_mac(interfaces: Any) -> str:
    """Return the MAC of the first enabled interface that has one ("" when none)."""
    if isinstance(interfaces, Mapping):
        interfaces = [interfaces]
    if not isinstance(interfaces, Sequence):
        return ""
    fallback = ""
    for iface in interfaces:
        mac = normalise_mac(_text(_get(iface, "Info", "HwAddress")))
        if not mac:
            continue
        if _get(iface, "Enabled") is not False:
            return mac
        fallback = fallback or mac
    return fallback


def _codec(encoder: Any) -> str:
    """Return the stream's codec, upper-case, from a VideoEncoderConfiguration.

    Media 1's ``Encoding`` only knows JPEG, MPEG4 and H264. Hikvision firmware streaming
    H.265 keeps ``<tt:Encoding>H264</tt:Encoding>`` for old clients and states the real codec
    in a vendor attribute, ``encoding="H265"`` (zeep keeps it among the ``anyAttribute``
    values). That attribute wins: the element names a codec the stream does not use.
    """
    extra = _get(encoder, "_attr_1")
    if isinstance(extra, Mapping):
        for name, value in extra.items():
            if str(name).rpartition("}")[2].lower() == "encoding" and _text(value):
                return _text(value).upper()
    return _text(_get(encoder, "Encoding")).upper()


def choose_profiles(profiles: Any) -> list[ProfileChoice]:
    """Pick one media profile per video source: the one with the most pixels.

    A camera has usually one video source and two or three profiles (main, sub, third
    stream); an NVR or encoder has one source per channel. Profiles without a video source
    (audio or metadata only) are skipped. Order follows the first appearance of each source.
    """
    best: dict[str, tuple[int, ProfileChoice]] = {}
    for profile in profiles or ():
        source = _text(_get(profile, "VideoSourceConfiguration", "SourceToken"))
        token = _text(_get(profile, "token"))
        if not source or not token:
            continue
        width = _int(_get(profile, "VideoEncoderConfiguration", "Resolution", "Width"))
        height = _int(_get(profile, "VideoEncoderConfiguration", "Resolution", "Height"))
        if width is None or height is None:
            width = width or _int(_get(profile, "VideoSourceConfiguration", "Bounds", "width"))
            height = height or _int(_get(profile, "VideoSourceConfiguration", "Bounds", "height"))
        fps_raw = _get(profile, "VideoEncoderConfiguration", "RateControl", "FrameRateLimit")
        try:
            fps = float(fps_raw) if fps_raw is not None and float(fps_raw) > 0 else None
        except (TypeError, ValueError):
            fps = None
        bitrate = _int(_get(profile, "VideoEncoderConfiguration", "RateControl", "BitrateLimit"))
        choice = ProfileChoice(
            source_token=source,
            profile_token=token,
            width=width,
            height=height,
            fps=fps,
            codec=_codec(_get(profile, "VideoEncoderConfiguration")),
            bitrate_kbps=bitrate if bitrate is not None and bitrate > 0 else None,
        )
        pixels = (width or 0) * (height or 0)
        if source not in best or pixels > best[source][0]:
            best[source] = (pixels, choice)
    return [choice for _, choice in best.values()]
