"""ONVIF client: read what a device is and check that it answers, with hard timeouts.

Built on onvif-zeep-async (see docs/onvif.md for why). Everything the library raises is
translated here, at the boundary, and chained with ``from``:

    OnvifError                 anything that went wrong talking ONVIF to a device
    ├── OnvifUnreachable       TCP connect refused, no route, or no answer to the connect
    ├── OnvifTimeout           connected, but the device did not answer a call in time
    ├── OnvifAuthError         credentials refused (SOAP NotAuthorized fault, HTTP 401/403)
    └── OnvifProtocolError     the answer is not usable ONVIF: HTML page, HTTP 5xx,
                               malformed or empty SOAP, a fault other than auth

Authentication survives bad camera clocks: the camera's time is read first (unauthenticated,
as ONVIF allows; with authentication for devices that demand it; and, when even that is
refused because our signature looks stale to the camera, from the HTTP ``Date`` header of
the refusal), and every WS-UsernameToken is then stamped with the camera's own time.

Passwords are handed to the library only; they never appear in logs or exception texts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import zeep.exceptions
import zeep.helpers
from lxml import etree
from onvif import SERVICES, ONVIFCamera, ONVIFError

from agent.device import DeviceInfo, MediaSource
from agent.onvif_parsers import choose_profiles, clock_offset, parse_device_information, parse_mac
from protocol.messages import redact_uri

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_TIMEOUTS",
    "READ_DEVICE_BUDGET_S",
    "READ_TIMEOUT_S",
    "OnvifAuthError",
    "OnvifError",
    "OnvifProtocolError",
    "OnvifTimeout",
    "OnvifUnreachable",
    "Conversation",
    "Timeouts",
    "check_alive",
    "read_device",
]

logger = logging.getLogger(__name__)

# A TCP handshake on a site LAN takes milliseconds; 3 s still covers ARP resolution (the
# first ARP retry comes after 1 s) and a congested uplink to a routed VLAN. A camera that
# has not accepted by then is not there.
CONNECT_TIMEOUT_S = 3.0
# Embedded cameras answer one SOAP call in 50-500 ms; NVRs listing 16-32 channels need a
# few seconds for GetProfiles. 10 s leaves margin without letting a hung device hold one of
# the agent's probe slots for long.
READ_TIMEOUT_S = 10.0
# Whole read_device: about 6 calls plus 2 per video source. A 32-channel NVR at 0.5 s a
# call needs ~35 s; 60 s bounds a discovery run even when every call is slow.
READ_DEVICE_BUDGET_S = 60.0


@dataclass(frozen=True)
class Timeouts:
    """Time limits for one ONVIF conversation, in seconds."""

    connect: float = CONNECT_TIMEOUT_S
    read: float = READ_TIMEOUT_S  # per SOAP call, from request sent to reply parsed
    total: float = READ_DEVICE_BUDGET_S  # whole read_device / check_alive


DEFAULT_TIMEOUTS = Timeouts()


class OnvifError(Exception):
    """Talking ONVIF to a device failed."""


class OnvifUnreachable(OnvifError):
    """The device's ONVIF port could not be connected to."""


class OnvifTimeout(OnvifError):
    """The device accepted the connection but did not answer in time."""


class OnvifAuthError(OnvifError):
    """The device refused the credentials."""


class OnvifProtocolError(OnvifError):
    """The device answered, but not with usable ONVIF."""


# Replies the library cannot turn into SOAP: lxml/zeep parse errors on HTML or cut-off XML,
# zeep's schema validation, and the library's own ONVIFError (unsupported service).
_PROTOCOL_EXCEPTIONS: tuple[type[BaseException], ...] = (
    zeep.exceptions.XMLSyntaxError,
    zeep.exceptions.XMLParseError,
    zeep.exceptions.ValidationError,
    zeep.exceptions.TransportError,
    zeep.exceptions.Fault,
    etree.XMLSyntaxError,
    aiohttp.ServerDisconnectedError,  # accepted, then closed without an answer
    aiohttp.ClientPayloadError,  # answer cut off mid-body
    aiohttp.ClientResponseError,
    ONVIFError,
)
# zeep dereferences None when a reply has no XML body at all (e.g. a bare HTTP 401 text
# page): AttributeError/TypeError from inside the library mean "not SOAP", not our bug.
_LIBRARY_PARSE_BUGS: tuple[type[BaseException], ...] = (AttributeError, TypeError)
# Words real firmware puts in an authentication fault (codes vary: ter:NotAuthorized,
# wsse:FailedAuthentication, or a generic Sender/Receiver code with a text).
_AUTH_WORDS = ("notauthorized", "not authorized", "unauthorized", "authoriz", "authentic",
               "authority", "invalidsecurity", "password")
# Optional calls: a quirky firmware failing these keeps the device usable (HA device.py).
_OPTIONAL_FAILURES = (OnvifProtocolError, OnvifTimeout)
_MEDIA_NS: str = SERVICES["media"]["ns"]


class _Conversation:
    """One ONVIF conversation with a device: library camera, clock offset, last HTTP reply."""

    def __init__(self, address: str, port: int, username: str | None, password: str | None,
                 timeouts: Timeouts) -> None:
        self.address = address
        self.port = port
        self.where = f"{address}:{port}"
        self.username = username or None
        self.timeouts = timeouts
        self.offset_s: float | None = None
        self.last_status: int | None = None
        self.last_date: str | None = None
        self.cam = ONVIFCamera(address, port, self.username, password if self.username else None,
                               no_cache=True, adjust_time=False)

    async def close(self) -> None:
        try:
            await self.cam.close()
        except (aiohttp.ClientError, OSError) as err:  # closing must never mask the result
            logger.debug("%s: closing ONVIF sessions failed: %s", self.where, err)

    async def tcp_check(self) -> None:
        """Connect once with the connect timeout, so refusals and silence are told apart early."""
        try:
            async with asyncio.timeout(self.timeouts.connect):
                _, writer = await asyncio.open_connection(self.address, self.port)
        except TimeoutError as err:
            raise OnvifUnreachable(
                f"{self.where}: no answer to a TCP connect within {self.timeouts.connect:g} s") from err
        except OSError as err:
            raise OnvifUnreachable(f"{self.where}: cannot connect: {err.strerror or err}") from err
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass

    async def service(self, kind: str) -> Any:
        """Return the library's service object for ``kind`` ("devicemgmt", "media", "search", ...)."""
        async def create() -> Any:
            if kind == "devicemgmt":
                svc = await self.cam.create_devicemgmt_service()
            elif kind == "media":
                svc = await self.cam.create_media_service()
            else:  # Profile G "search"/"recording": its xaddr set by the caller (agent/recording/onvif_g.py)
                svc = await self.cam.create_onvif_service(kind)
            self._instrument(svc)
            return svc
        return await self.guard(create, f"create {kind} service")

    def _instrument(self, svc: Any) -> None:
        # Record the HTTP status and Date of every reply: zeep hides them behind its own
        # exceptions (or crashes on a non-XML 401), and the Date header is a clock of last resort.
        transport = svc.transport
        if getattr(transport, "_camwatch_wrapped", False):
            return
        original = transport.post_xml

        async def post_xml(address: str, envelope: Any, headers: Any) -> Any:
            response = await original(address, envelope, headers)
            self.last_status = int(response.status_code)
            self.last_date = response.headers.get("Date")
            return response

        transport.post_xml = post_xml
        transport._camwatch_wrapped = True

    async def guard(self, make: Callable[[], Awaitable[Any]], what: str) -> Any:
        """Run one library step under the read timeout, translating what it raises."""
        self.last_status = None
        try:
            async with asyncio.timeout(self.timeouts.read):
                return await make()
        except OnvifError:
            raise
        except Exception as err:
            raise self.translate(err, what) from err

    async def call(self, svc: Any, operation: str, params: dict[str, Any] | None = None, *,
                   auth: bool = True) -> Any:
        """Call one SOAP operation (signed when ``auth`` and a user is set)."""
        name = operation if (auth and self.username) else f"authless_{operation}"
        reply = await self.guard(lambda: getattr(svc, name)(params), operation)
        return zeep.helpers.serialize_object(reply)  # type: ignore[no-untyped-call]

    def translate(self, err: BaseException, what: str) -> OnvifError:
        """Map a library exception to our tree (the caller chains it)."""
        where, status = self.where, self.last_status
        if isinstance(err, TimeoutError | aiohttp.ServerTimeoutError):
            return OnvifTimeout(f"{where}: no answer to {what} within {self.timeouts.read:g} s")
        if isinstance(err, aiohttp.ClientConnectorError | ConnectionError):
            return OnvifUnreachable(f"{where}: cannot connect for {what}")
        if status in (401, 403) or (isinstance(err, zeep.exceptions.Fault) and _is_auth_fault(err)):
            return OnvifAuthError(f"{where}: credentials refused for {what}")
        if status is not None and status >= 400:
            return OnvifProtocolError(f"{where}: HTTP {status} to {what}")
        if isinstance(err, _PROTOCOL_EXCEPTIONS + _LIBRARY_PARSE_BUGS):
            return OnvifProtocolError(f"{where}: unusable answer to {what}: {_short(err)}")
        if isinstance(err, aiohttp.ClientError | OSError):
            return OnvifUnreachable(f"{where}: network error during {what}: {_short(err)}")
        raise err

    async def learn_clock(self) -> float | None:
        """Read the camera clock; set and return its offset from ours (seconds)."""
        dm = await self.service("devicemgmt")
        try:
            reply, now = await self._timed(dm, auth=False)
        except OnvifAuthError:
            if not self.username:
                raise
            # Some devices demand authentication even for their clock.
            try:
                reply, now = await self._timed(dm, auth=True)
            except OnvifAuthError:
                # Perhaps only because our Created stamp is far from the camera's clock:
                # take the camera's time from the refusal's HTTP Date header and sign with it.
                hint = _http_date_offset(self.last_date)
                if hint is None:
                    raise
                dm = await self._resign(hint)
                reply, now = await self._timed(dm, auth=True)
        try:
            offset = clock_offset(reply, now)
        except ValueError as err:
            raise OnvifProtocolError(f"{self.where}: GetSystemDateAndTime: {err}") from err
        if offset is not None:
            await self._resign(offset)
        self.offset_s = offset
        return offset

    async def _timed(self, dm: Any, *, auth: bool) -> tuple[Any, datetime]:
        start = time.time()
        reply = await self.call(dm, "GetSystemDateAndTime", auth=auth)
        middle = start + (time.time() - start) / 2  # the camera read its clock mid-way
        return reply, datetime.fromtimestamp(middle, tz=UTC)

    async def _resign(self, offset_s: float) -> Any:
        """Recreate the device service so its tokens carry the camera's time."""
        self.cam.dt_diff = timedelta(seconds=offset_s)
        for key, svc in list(self.cam.services.items()):
            await svc.close()
            del self.cam.services[key]
        return await self.service("devicemgmt")


# The conversation, for other agent modules speaking more ONVIF services (Profile G search).
Conversation = _Conversation


def _is_auth_fault(fault: zeep.exceptions.Fault) -> bool:
    parts = [str(fault.message or ""), str(fault.code or "")]
    parts += [str(code) for code in (fault.subcodes or [])]
    text = " ".join(parts).lower()
    return any(word in text for word in _AUTH_WORDS)


def _short(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:200]


def _http_date_offset(header: str | None) -> float | None:
    if not header:
        return None
    try:
        stamp = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (stamp - datetime.now(UTC)).total_seconds()


async def _bounded(timeouts: Timeouts, where: str, work: Awaitable[Any]) -> Any:
    try:
        async with asyncio.timeout(timeouts.total):
            return await work
    except TimeoutError as err:
        raise OnvifTimeout(f"{where}: gave up after {timeouts.total:g} s") from err


async def check_alive(address: str, port: int, username: str | None, password: str | None, *,
                      timeouts: Timeouts = DEFAULT_TIMEOUTS) -> float:
    """Check that the device answers ONVIF; return its clock offset in seconds (0.0 if unknown).

    With a user name, one signed call (GetDeviceInformation) also proves the credentials:
    most devices give their clock to anyone, so the clock alone would hide a changed password.
    """
    conv = _Conversation(address, port, username, password, timeouts)

    async def work() -> float:
        await conv.tcp_check()
        offset = await conv.learn_clock()
        if conv.username:
            await conv.call(await conv.service("devicemgmt"), "GetDeviceInformation")
        return 0.0 if offset is None else offset

    try:
        return float(await _bounded(timeouts, conv.where, work()))
    finally:
        await conv.close()


async def read_device(address: str, port: int, username: str | None, password: str | None, *,
                      timeouts: Timeouts = DEFAULT_TIMEOUTS) -> DeviceInfo:
    """Read identity, MAC, clock offset and one media source per video source of a device."""
    conv = _Conversation(address, port, username, password, timeouts)
    try:
        info: DeviceInfo = await _bounded(timeouts, conv.where, _read(conv))
        return info
    finally:
        await conv.close()


async def _read(conv: _Conversation) -> DeviceInfo:
    await conv.tcp_check()
    offset = await conv.learn_clock()
    warnings: list[str] = []
    dm = await conv.service("devicemgmt")
    try:
        ident = parse_device_information(await conv.call(dm, "GetDeviceInformation"))
    except ValueError as err:
        raise OnvifProtocolError(f"{conv.where}: {err}") from err

    mac = ""
    try:
        mac = parse_mac(await conv.call(dm, "GetNetworkInterfaces"))
    except _OPTIONAL_FAILURES as err:
        logger.warning("%s: MAC address unreadable, continuing without it: %s", conv.where, err)
        warnings.append("GetNetworkInterfaces unreadable")
    else:
        if not mac:
            logger.warning("%s: GetNetworkInterfaces named no MAC address, continuing", conv.where)
            warnings.append("no MAC address in GetNetworkInterfaces")

    await _locate_media(conv, dm)
    media = await conv.service("media")
    profiles = await conv.call(media, "GetProfiles")
    sources: list[MediaSource] = []
    for choice in choose_profiles(profiles):
        stream_uri = await _optional_uri(conv, media, "GetStreamUri", {
            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
            "ProfileToken": choice.profile_token,
        }, warnings)
        snapshot_uri = await _optional_uri(
            conv, media, "GetSnapshotUri", {"ProfileToken": choice.profile_token}, warnings)
        sources.append(MediaSource(
            token=choice.source_token, profile_token=choice.profile_token,
            stream_uri=stream_uri, snapshot_uri=snapshot_uri, width=choice.width,
            height=choice.height, fps=choice.fps, codec=choice.codec, bitrate_kbps=choice.bitrate_kbps,
        ))
    if not sources:
        warnings.append("no media profile with a video source")
        logger.warning("%s: device has no media profile with a video source", conv.where)
    return DeviceInfo(
        maker=ident.maker, model=ident.model, firmware=ident.firmware, serial=ident.serial,
        hardware_id=ident.hardware_id, mac=mac, clock_offset_s=offset, sources=tuple(sources),
        address=conv.address, port=conv.port, warnings=tuple(warnings),
    )


async def _locate_media(conv: _Conversation, dm: Any) -> None:
    """Find the media service URL: GetCapabilities (every ONVIF device), else GetServices.

    Done here rather than with the library's update_xaddrs, which always signs its calls
    (failing on open cameras) and resets the clock offset we learned.
    """
    try:
        caps = await conv.call(dm, "GetCapabilities", {"Category": "Media"})
        xaddr = caps.get("Media", {}).get("XAddr") if isinstance(caps, dict) else None
    except OnvifProtocolError as err:
        logger.debug("%s: GetCapabilities failed, trying GetServices: %s", conv.where, err)
        xaddr = None
    if not xaddr:
        services = await conv.call(dm, "GetServices", {"IncludeCapability": False})
        xaddr = next((s.get("XAddr") for s in services or () if isinstance(s, dict)
                      and s.get("Namespace") == _MEDIA_NS), None)
    if not xaddr or "://" not in str(xaddr):
        raise OnvifProtocolError(f"{conv.where}: device names no media service")
    conv.cam.xaddrs[_MEDIA_NS] = _same_host(str(xaddr).strip(), conv.address)


def _same_host(url: str, address: str) -> str:
    """Point a service URL at the address we reached the device on, keeping port and path.

    Devices behind NAT advertise their LAN address, multi-homed NVRs another interface's,
    and some firmware 0.0.0.0; the address we just talked to is the one known to work.
    """
    parts = urlsplit(url)
    if not parts.hostname or parts.hostname == address:
        return url
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    logger.debug("%s: media service advertised on %s, using %s", address, parts.hostname, address)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _optional_uri(conv: _Conversation, media: Any, operation: str,
                        params: dict[str, Any], warnings: list[str]) -> str:
    """Return the Uri of a GetStreamUri/GetSnapshotUri reply, "" when unreadable."""
    try:
        reply = await conv.call(media, operation, params)
    except _OPTIONAL_FAILURES as err:
        logger.warning("%s: %s for %s unreadable, continuing: %s",
                       conv.where, operation, params["ProfileToken"], err)
        warnings.append(f"{operation} unreadable for {params['ProfileToken']}")
        return ""
    uri = reply.get("Uri") if isinstance(reply, dict) else None
    text = str(uri).strip() if uri else ""
    if "://" not in text:
        logger.warning("%s: %s gave no URI (%r), continuing", conv.where, operation, text[:80])
        warnings.append(f"{operation} gave no URI for {params['ProfileToken']}")
        return ""
    # Some firmware embeds user:password in the URI: never keep it.
    return redact_uri(text) if text else ""
