"""ONVIF camera simulator for tests: the third-party ``ipycam`` device, headless, in a subprocess.

ipycam (PyPI, installed with ``--no-deps``) is a virtual IP camera. We start only its ONVIF
SOAP server (``ipycam.http.IPCameraHTTPHandler`` + ``ipycam.onvif.ONVIFService``) and, when a
test needs it, its WS-Discovery responder (``ipycam.discovery.WSDiscoveryServer``); never its
video pipelines. The RTSP stream it advertises is whatever URL the test passes (normally the
GStreamer rig of ``tests/rig/rtsp.py``).

Small patches, all applied here in the child process and never to ipycam's files:

* ``GetSystemDateAndTime`` is answered without authentication (ONVIF lists it as PRE_AUTH;
  ipycam would demand a token), unless ``auth_for_clock`` mimics the strict devices that do.
* a camera clock shifted by ``clock_offset_s``: both the time ipycam reports and the time it
  checks WS-Security ``Created`` against move together, as on a real camera with a wrong clock.
* ``GetNetworkInterfaces`` (absent from ipycam) answers with the configured MAC.
* ``channels > 1`` turns the camera into an NVR/encoder with one video source per channel.
* faults a real camera shows: ``html`` (a login page instead of SOAP), ``http500``, ``http401``
  (HTTP auth demanded, no SOAP), ``malformed`` (cut-off envelope), ``bad_optional`` (invalid
  XML in GetNetworkInterfaces and GetSnapshotUri only).
* discovery variants of the ProbeMatch: ``wrong_action``, ``no_wrapper``, ``duplicate``.

Discovery binds one socket to the multicast group on the loopback interface and one to the
camera's own loopback address, both on ``discovery_port``: tests use a free port so parallel
runs never see each other's cameras. Every camera gets its own 127.x.y.z address so unicast
and CIDR probes can tell them apart.

Use from tests through :func:`start_camera` (or the ``onvif_camera`` fixture factory in
``tests/integration/conftest_onvif.py``). Plus two non-SOAP fault peers:
:func:`closed_port` (ONVIF refuses) and :class:`~tests.rig.ports.SilentServer` (accepts, never answers).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.rig.ports import free_port

REPO = Path(__file__).resolve().parents[2]
FAULTS = ("", "html", "http500", "http401", "malformed", "bad_optional")
PROBE_VARIANTS = ("", "wrong_action", "no_wrapper", "duplicate")
# How long a child may take to import ipycam and bind: seconds normally, far more when
# the shared 2-core machine is loaded.
START_TIMEOUT_S = 60.0


@dataclass
class SimOptions:
    """What one simulated camera is and how it misbehaves."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: the child picks a free port and reports it
    name: str = "camwatch-sim"
    manufacturer: str = "SimVendor"
    model: str = "SIM-1000"
    serial: str = "SIM0001"
    firmware: str = "1.2.3"
    mac: str = "02:00:00:00:00:01"
    username: str = ""
    password: str = ""
    stream_urls: list[str] = field(default_factory=lambda: ["rtsp://127.0.0.1:8554/main"])
    channels: int = 1
    clock_offset_s: float = 0.0
    auth_for_clock: bool = False
    fault: str = ""
    discovery: bool = False
    discovery_port: int = 3702
    probe_variant: str = ""
    # Address written into XAddrs and the snapshot URI (NAT, wrong firmware); "" = host.
    advertise_host: str = ""
    # The main profile's encoder settings; the defaults are what the RTSP rig streams
    # (320x240, 10 fps, ~200 kbit/s), so a camera is not drifting unless a test says so.
    profile_width: int = 320
    profile_height: int = 240
    profile_fps: int = 10
    profile_bitrate_kbps: int = 256


class SimCamera:
    """A running simulated camera (child process); stop it with :meth:`stop`."""

    def __init__(self, options: SimOptions, proc: subprocess.Popen[str], port: int, log: Path) -> None:
        self.options = options
        self.proc = proc
        self.port = port
        self.log = log  # the child's stderr, removed by stop()

    @property
    def host(self) -> str:
        """The loopback address the camera listens on."""
        return self.options.host

    @property
    def xaddr(self) -> str:
        """The device service URL."""
        return f"http://{self.host}:{self.port}/onvif/device_service"

    def stop(self) -> None:
        """Stop the child process and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.unlink(missing_ok=True)


def loopback_block(size: int = 8) -> list[str]:
    """Return ``size`` consecutive addresses of a random 127.x.y.0 block (all route to lo)."""
    base = f"127.{random.randint(10, 250)}.{random.randint(0, 255)}"
    return [f"{base}.{i}" for i in range(1, size + 1)]


def start_camera(options: SimOptions) -> SimCamera:
    """Start a simulated camera in a child process and wait until it serves ONVIF."""
    if options.fault not in FAULTS:
        raise ValueError(f"unknown fault {options.fault!r}")
    if options.probe_variant not in PROBE_VARIANTS:
        raise ValueError(f"unknown probe variant {options.probe_variant!r}")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # stderr goes to a file, never a pipe nobody reads (a chatty child would block on it).
    log = tempfile.NamedTemporaryFile(prefix="onvif-sim-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.rig.onvif_sim", json.dumps(asdict(options))],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=str(REPO),
        env=env,
    )
    log.close()
    line = _read_line(proc, START_TIMEOUT_S)
    if proc.stdout is not None:
        proc.stdout.close()  # the child prints READY only
    if not line.startswith("READY "):
        proc.kill()
        proc.wait(timeout=5)
        err = Path(log.name).read_text(errors="replace")[-2000:]
        os.unlink(log.name)
        raise RuntimeError(f"ONVIF simulator did not start: {line!r} {err}")
    return SimCamera(options, proc, int(line.split()[1]), Path(log.name))


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout)
    return result[0].strip() if result else ""


def closed_port(host: str = "127.0.0.1") -> int:
    """Return a port where nothing listens: connections are refused."""
    return free_port(host)


# ---------------------------------------------------------------- child process side


_NETIF_RESPONSE = """<tds:GetNetworkInterfacesResponse>
<tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>
<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>{mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>
<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>{host}</tt:Address>
<tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>
</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"""
# Unclosed element and a stray '&': what some firmwares send for optional data.
_BAD_XML = "<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=eth0>&<tt:Info>"
_HTML = b"<html><head><title>Login</title></head><body><h1>Please log in</h1></body></html>"


def _child_main(raw: str) -> None:  # pragma: no cover - runs in the child
    import re
    import time
    from datetime import datetime
    from http.server import ThreadingHTTPServer
    from types import SimpleNamespace
    from xml.sax.saxutils import escape

    import numpy as np
    from ipycam import discovery as ipy_discovery
    from ipycam import http as ipy_http
    from ipycam import onvif as ipy_onvif
    from ipycam.config import CameraConfig

    opts = SimOptions(**json.loads(raw))
    offset = opts.clock_offset_s

    class _ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + __import__("datetime").timedelta(seconds=offset)

    # The camera's clock: what it reports and what it checks Created against.
    ipy_onvif.time = SimpleNamespace(gmtime=lambda: time.gmtime(time.time() + offset))  # type: ignore[assignment]
    ipy_onvif.datetime = _ShiftedDatetime  # type: ignore[misc]

    config = CameraConfig(
        name=opts.name,
        manufacturer=opts.manufacturer,
        model=opts.model,
        serial_number=opts.serial,
        firmware_version=opts.firmware,
        local_ip=opts.advertise_host or opts.host,
        onvif_port=opts.port,
    )
    if opts.username:
        config.set_credentials(opts.username, opts.password)
    urls = opts.stream_urls or ["rtsp://127.0.0.1:8554/main"]

    def token_channel(body: str) -> int:
        m = re.search(r"ProfileToken>\s*Profile_(?:Main|Sub)(?:_ch(\d+))?\s*<", body)
        return int(m.group(1)) if m and m.group(1) else 1

    class SimOnvif(ipy_onvif.ONVIFService):
        def handle_action(self, action: str, body: str) -> str | None:
            if "GetNetworkInterfaces" in body:
                if opts.fault == "bad_optional":
                    return self._wrap_envelope(_BAD_XML)
                return self._wrap_envelope(_NETIF_RESPONSE.format(mac=opts.mac, host=opts.host))
            if opts.fault == "bad_optional" and "GetSnapshotUri" in body:
                return self._wrap_envelope("<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>&&</trt:MediaUri>")
            return super().handle_action(action, body)

        def verify_usernametoken(self, soap_body: str) -> bool:
            if "GetSystemDateAndTime" in soap_body and not opts.auth_for_clock:
                return True
            return super().verify_usernametoken(soap_body)

        def get_profiles(self) -> str:
            one = self._render(
                "get_profiles", main_width=opts.profile_width, main_height=opts.profile_height,
                main_fps=opts.profile_fps, main_bitrate_kbps=opts.profile_bitrate_kbps,
                sub_width=160, sub_height=120, sub_fps=5, sub_bitrate_kbps=64,
            )
            inner = one.strip().removeprefix("<trt:GetProfilesResponse>").removesuffix("</trt:GetProfilesResponse>")
            parts = []
            for ch in range(1, opts.channels + 1):
                if opts.channels == 1:
                    parts.append(inner)
                    continue
                part = inner.replace('token="Profile_Main"', f'token="Profile_Main_ch{ch}"')
                part = part.replace('token="Profile_Sub"', f'token="Profile_Sub_ch{ch}"')
                part = part.replace("VS_1", f"VS_{ch}").replace('"VSC_1"', f'"VSC_{ch}"')
                parts.append(part)
            return self._wrap_envelope("<trt:GetProfilesResponse>" + "".join(parts) + "</trt:GetProfilesResponse>")

        def get_stream_uri(self, body: str) -> str:
            ch = token_channel(body)
            uri = urls[(ch - 1) % len(urls)]
            return self._wrap_envelope(self._render("get_stream_uri", stream_uri=escape(uri)))

        def create_probe_match(self, relates_to: str) -> str:
            text = super().create_probe_match(relates_to)
            if opts.probe_variant == "wrong_action":
                text = text.replace("discovery/ProbeMatch<", "discovery/ProbeMatches<")
                text = text.replace("d:ProbeMatch>", "d:ProbeMatchs>")
            elif opts.probe_variant == "no_wrapper":
                text = re.sub(r"</?d:ProbeMatch>", "", text)
            return text

    frame = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    camera = SimpleNamespace(config=config, onvif=SimOnvif(config, None), get_snapshot_frame=lambda: frame.copy())

    class Handler(ipy_http.IPCameraHTTPHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            return super().date_time_string((timestamp or time.time()) + offset)

        def handle_onvif(self) -> None:
            fault = opts.fault
            if fault in ("", "bad_optional"):
                return super().handle_onvif()
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            if fault == "http500":
                self.send_error(500)
                return
            if fault == "http401":
                body = b"401 Unauthorized"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Digest realm="cam", nonce="abc", qop="auth"')
            elif fault == "html":
                body = _HTML
                self.send_response(200)
            else:  # malformed
                body = b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetSystem'
                self.send_response(200)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Content-Type", "text/html" if fault == "html" else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    Handler.camera = camera  # type: ignore[assignment]
    server = ThreadingHTTPServer((opts.host, opts.port), Handler)  # bound to host, not advertise_host
    server.daemon_threads = True
    config.onvif_port = server.server_address[1]

    responders = []
    if opts.discovery:
        responders = _start_discovery(ipy_discovery, camera.onvif, opts)

    print(f"READY {config.onvif_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for r in responders:
            r.stop()


def _start_discovery(ipy_discovery: Any, service: Any, opts: SimOptions) -> list[Any]:  # pragma: no cover
    import struct

    group = ipy_discovery.WSDiscoveryServer.MULTICAST_ADDR

    class Responder(ipy_discovery.WSDiscoveryServer):  # type: ignore[misc]
        def __init__(self, sock: socket.socket) -> None:
            threading.Thread.__init__(self, daemon=True)
            self.onvif = service
            self.running = True
            self.sock = sock
            self.sock.settimeout(0.5)

        def _send_announcement(self, action: str) -> None:
            pass  # Hello/Bye would reach other test runs' listeners; tests probe actively

        def run(self) -> None:
            if opts.probe_variant != "duplicate":
                return super().run()
            # Duplicate: answer each probe twice under two endpoint ids (seen on real NVRs).
            import re
            import uuid

            while self.running:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except TimeoutError:
                    continue
                except OSError:
                    return
                msg = data.decode("utf-8", errors="ignore")
                if not self._is_probe_request(msg):
                    continue
                m = re.search(r"MessageID>(.+?)</", msg)
                relates = m.group(1) if m else f"urn:uuid:{uuid.uuid4()}"
                keep = self.onvif.device_uuid
                for endpoint in (keep, f"urn:uuid:{uuid.uuid4()}"):
                    self.onvif.device_uuid = endpoint
                    self.sock.sendto(self.onvif.create_probe_match(relates).encode(), addr)
                self.onvif.device_uuid = keep

    mc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    mc.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mc.bind((group, opts.discovery_port))
    mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("127.0.0.1"))
    mc.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    uc.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    uc.bind((opts.host, opts.discovery_port))
    responders = [Responder(mc), Responder(uc)]
    for r in responders:
        r.start()
    return responders


if __name__ == "__main__":  # pragma: no cover
    _child_main(sys.argv[1])
