"""Survey a site for the installer: discover devices, read each over ONVIF, try its streams.

The result is one :class:`DeviceReport` per device, with sentences an installer can act on
("wrong password for 10.0.0.14", "camera clock is 10 h off"). Used by ``camwatch-agent
discover`` and ``init`` (agent/cli_discover.py); nothing here prints.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.device import DeviceInfo, DiscoveredDevice, MediaSource
from agent.discovery import discover
from agent.frames import FrameError, StreamOpenError, grab
from agent.inventory import is_factory_default
from agent.onvif_client import (
    OnvifAuthError,
    OnvifError,
    OnvifProtocolError,
    OnvifTimeout,
    OnvifUnreachable,
    Timeouts,
    check_alive,
    read_device,
)
from agent.rtsp import describe

__all__ = [
    "AuthStatus",
    "CredentialSet",
    "DeviceReport",
    "SourceReport",
    "describe_offset",
    "survey",
]

logger = logging.getLogger(__name__)

# Devices read at once: each read is ~10 small SOAP calls; 8 keeps a 2-core gateway responsive.
READ_CONCURRENCY = 8
# Stream checks open a decoder each (FFmpeg threads, ~30 MB): 4 at once on a small gateway.
STREAM_CONCURRENCY = 4
# A camera that answers ONVIF on a listed address but has WS-Discovery turned off is found
# by a TCP connect to its usual ONVIF ports; 1 s is plenty on a LAN and keeps a dead
# address from stalling the survey (5 ports x 1 s).
PORT_PROBE_CONNECT_S = 1.0
# Addresses probed at once that way: connects are cheap, but each open socket costs an fd.
PORT_PROBE_CONCURRENCY = 32


class AuthStatus:
    """What authentication looked like for a device (plain strings for tables and JSON)."""

    OPEN = "open"  # answered without credentials
    OK = "ok"  # one credential set worked
    WRONG = "wrong password"
    NEEDED = "needs password"
    UNKNOWN = "-"  # never got that far


@dataclass(frozen=True)
class CredentialSet:
    """A named user name and password to try (the password never leaves this object)."""

    name: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class SourceReport:
    """A stream check of one media source."""

    source: MediaSource
    ok: bool | None  # None: not checked
    text: str  # "640x480 10 fps H264" or why it failed


@dataclass
class DeviceReport:
    """Everything the installer needs to know about one device."""

    device: DiscoveredDevice
    info: DeviceInfo | None = None
    auth: str = AuthStatus.UNKNOWN
    credential: CredentialSet | None = None
    streams: list[SourceReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the device or a stream fails
    warnings: list[str] = field(default_factory=list)  # works, but needs attention (clock)

    @property
    def ok(self) -> bool:
        """True when the device was read and no stream failed (warnings allowed)."""
        return self.info is not None and not self.problems


def describe_offset(seconds: float) -> str:
    """Say how far a clock is off in installer words ("10 h", "25 min", "40 s")."""
    size = abs(seconds)
    if size >= 86400 * 2:
        return f"{size / 86400:.0f} days"
    if size >= 3600:
        return f"{size / 3600:.0f} h"
    if size >= 60:
        return f"{size / 60:.0f} min"
    return f"{size:.0f} s"


def _onvif_problem(where: str, err: OnvifError) -> str:
    if isinstance(err, OnvifUnreachable):
        return f"{where}: ONVIF port does not accept connections: is ONVIF enabled, is the address right?"
    if isinstance(err, OnvifTimeout):
        return f"{where}: accepted the connection but never answered ONVIF: restart the camera"
    if isinstance(err, OnvifProtocolError):
        return f"{where}: does not answer proper ONVIF ({err}): check the port and ONVIF settings"
    return f"{where}: {err}"


async def _read_with_credentials(
    report: DeviceReport, sets: Sequence[CredentialSet], timeouts: Timeouts
) -> None:
    dev = report.device
    where = dev.address if dev.port == 80 else f"{dev.address}:{dev.port}"
    tries: list[CredentialSet | None] = list(sets) or [None]
    refused: list[str] = []
    for cred in tries:
        try:
            info = await read_device(dev.address, dev.port, cred.username if cred else None,
                                     cred.password if cred else None, timeouts=timeouts)
        except OnvifAuthError:
            refused.append(cred.name if cred else "no credentials")
            continue
        except OnvifError as err:
            report.problems.append(_onvif_problem(where, err))
            return
        report.info = info
        report.credential = cred
        report.auth = AuthStatus.OK if cred else AuthStatus.OPEN
        return
    if sets:
        report.auth = AuthStatus.WRONG
        names = ", ".join(refused)
        report.problems.append(f"wrong password for {where} (tried: {names}): fix the secrets file")
    else:
        report.auth = AuthStatus.NEEDED
        report.problems.append(
            f"{where} needs a user name and password: add them to the secrets file")


async def _check_stream(source: MediaSource, cred: CredentialSet | None, where: str,
                        open_timeout_s: float, read_timeout_s: float) -> SourceReport:
    if not source.stream_uri:
        return SourceReport(source, False, "the camera gave no stream URI")
    user, password = (cred.username, cred.password) if cred else ("", "")
    try:
        grabbed = await grab(source.stream_uri, user, password, frames=2,
                             open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s)
    except StreamOpenError:
        # OpenCV only says "not opened": ask the RTSP server why.
        answer = await describe(source.stream_uri, user, password, timeout_s=open_timeout_s)
        if answer.auth_failed:
            return SourceReport(source, False, f"wrong password for the stream of {where}")
        why = answer.error or f"RTSP {answer.status} {answer.reason}".strip()
        return SourceReport(source, False, f"stream of {where} does not open ({why})")
    except FrameError as err:
        return SourceReport(source, False, f"stream of {where} sends no usable video ({err})")
    fps = f" {grabbed.fps:.0f} fps" if grabbed.fps else ""
    return SourceReport(source, True, f"{grabbed.width}x{grabbed.height}{fps} {grabbed.codec}".strip())


async def _port_probe(addresses: Sequence[str], ports: Sequence[int], known: set[str],
                      timeouts: Timeouts) -> list[DiscoveredDevice]:
    """Find ONVIF devices at listed addresses that did not answer WS-Discovery."""
    quick = Timeouts(connect=PORT_PROBE_CONNECT_S, read=timeouts.read, total=timeouts.read * 2)
    slots = asyncio.Semaphore(PORT_PROBE_CONCURRENCY)

    async def first_port(address: str) -> DiscoveredDevice | None:
        for port in ports:
            async with slots:
                try:
                    await check_alive(address, port, None, None, timeouts=quick)
                except OnvifAuthError:
                    pass  # an ONVIF device that wants credentials even for its clock
                except OnvifError:
                    continue
            xaddr = f"http://{address}:{port}/onvif/device_service"
            return DiscoveredDevice(address, port, (xaddr,), "", ())
        return None

    found = await asyncio.gather(*(first_port(a) for a in addresses if a not in known))
    return [device for device in found if device is not None]


async def survey(
    *,
    multicast: bool,
    interfaces: Sequence[str],
    targets: Sequence[str],
    onvif_ports: Sequence[int],
    credential_sets: Sequence[CredentialSet],
    wait_s: float,
    discovery_port: int,
    max_addresses: int,
    check_streams: bool,
    max_clock_skew_s: float,
    timeouts: Timeouts,
    open_timeout_s: float = 8.0,
    read_timeout_s: float = 4.0,
    progress: Callable[[str], None] = lambda _: None,
) -> list[DeviceReport]:
    """Discover, read and check every device; return one report per device."""
    how = []
    if multicast:
        how.append("multicast on " + (", ".join(interfaces) or "the default interface"))
    if targets:
        how.append("unicast to " + ", ".join(targets))
    progress(f"probing ({'; '.join(how) or 'nothing to probe'}) for {wait_s:g} s ...")
    devices = await discover(
        multicast=multicast, interfaces=interfaces, targets=targets, wait_s=wait_s,
        port=discovery_port, max_addresses=max_addresses,
        on_found=lambda d: progress(f"  found {d.address}:{d.port} {d.name}".rstrip()),
    )
    singles = [t.strip() for t in targets if "/" not in t or t.strip().endswith("/32")]
    singles = [s.removesuffix("/32") for s in singles]
    extra = await _port_probe(singles, onvif_ports, {d.address for d in devices}, timeouts)
    for dev in extra:
        progress(f"  found {dev.address}:{dev.port} (ONVIF port; WS-Discovery is off)")
    reports = [DeviceReport(d) for d in devices + extra]
    if not reports:
        return reports
    progress(f"reading {len(reports)} device(s) over ONVIF ...")
    reads = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(report: DeviceReport) -> None:
        async with reads:
            await _read_with_credentials(report, credential_sets, timeouts)
        info = report.info
        where = report.device.address
        if info is None:
            progress(f"  {report.problems[-1] if report.problems else where + ': not read'}")
            return
        progress(f"  {where}: {info.maker} {info.model}, {len(info.sources)} video source(s)")
        cred = report.credential
        if cred is not None and is_factory_default(cred.username, cred.password):
            report.warnings.append(
                f"{where} still uses a factory default password (set {cred.name!r}): change it")
        if info.clock_offset_s is not None and abs(info.clock_offset_s) > max_clock_skew_s:
            ahead = "ahead" if info.clock_offset_s > 0 else "behind"
            report.warnings.append(
                f"camera clock is {describe_offset(info.clock_offset_s)} off ({ahead}) at "
                f"{where}: set NTP or the time on the camera")

    await asyncio.gather(*(read(r) for r in reports))
    if check_streams:
        streams = asyncio.Semaphore(STREAM_CONCURRENCY)

        async def check(report: DeviceReport, source: MediaSource) -> None:
            async with streams:
                result = await _check_stream(source, report.credential, report.device.address,
                                             open_timeout_s, read_timeout_s)
            report.streams.append(result)
            if not result.ok:
                report.problems.append(result.text)

        jobs = [check(r, s) for r in reports if r.info for s in r.info.sources]
        if jobs:
            progress(f"checking {len(jobs)} stream(s) ...")
        await asyncio.gather(*jobs)
        for report in reports:
            order = {s.token: i for i, s in enumerate(report.info.sources)} if report.info else {}
            report.streams.sort(key=lambda s: order.get(s.source.token, 0))
    return reports
