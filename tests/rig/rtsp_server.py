"""A real RTSP server for agent tests and the demo: GStreamer's gst-rtsp-server in a subprocess.

The server runs under the venv's Python (which sees the system ``gi`` module) in its own
process, so a test can kill it like a camera that loses power. Every mount serves H.264
(x264, zerolatency, 320x240, 10 fps, ~200 kbit/s) as a real camera would:

======================  ==========================================================
mount                   picture
======================  ==========================================================
``/moving``             static detailed scene (SMPTE bars) with a bouncing ball
``/black``              black (no video)
``/frozen``             one frame of the bars repeated forever, still re-encoded
``/covered``            near-uniform dark grey with a little sensor-like noise
``/blurred``            ``/moving`` through a strong gaussian blur
``/moved``              ``/moving`` with the scene panned by half a frame
``/hevc``               ``/moving`` encoded as H.265 (x265), as many cameras now stream
``/frozen-hevc``        ``/frozen`` encoded as H.265 (its codec noise differs from H.264's)
``/stops``              ``/moving`` for :data:`STOPS_AFTER_FRAMES` frames, then end of stream
``/night-ir``           a working camera at night: dim monochrome scene (IR), sensor noise
``/night-noise``        IR illuminator dead: dark grey, strong sensor noise, no scene at all
``/daynight-black``     ``/moving`` by day, ``/black`` by night (see :meth:`RtspServer.set_scene`)
``/daynight-noise``     ``/moving`` by day, ``/night-noise`` by night
``/secure/<any above>`` the same, but only with RTSP basic auth (``user``/``password``)
======================  ==========================================================

``/moving-0`` .. ``/moving-{copies-1}`` are extra copies of ``/moving`` for benchmarks.

This module has no pytest import (the demo uses it); the fixtures are in tests/rig/rtsp.py.
Use from a test::

    from tests.rig.rtsp import RtspServer
    pytest_plugins = ["tests.rig.rtsp"]       # fixtures ``rtsp_server`` and ``silent_port``

    def test_x(rtsp_server: RtspServer) -> None:
        uri = rtsp_server.uri("moving")                  # rtsp://127.0.0.1:<port>/moving
        uri = rtsp_server.uri("secure/moving", auth=True)  # with user:password@
        rtsp_server.kill()                               # SIGKILL: the camera lost power
        rtsp_server.start()                              # back on the same port

Run ``python -m tests.rig.rtsp_server --port 8554`` to serve by hand (``ffplay rtsp://...``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .ports import SilentServer, free_port, wait_for_port

__all__ = [
    "MOUNTS",
    "PASSWORD",
    "DAY_NIGHT",
    "STOPS_AFTER_FRAMES",
    "USER",
    "RtspServer",
    "SilentServer",
]

USER = "viewer"
PASSWORD = "s3cret-rtsp"
WIDTH, HEIGHT, FPS = 320, 240, 10
# /stops sends this many frames, then ends: the "stream stops mid-way" fault.
STOPS_AFTER_FRAMES = 3
# How long the fixture waits for the server to accept connections (GStreamer plugin
# loading takes ~1 s on a cold cache on this 2-core machine).
START_TIMEOUT_S = 20.0

_RAW = f"video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1"
# key-int-max=5: a new client of a shared mount decodes within 0.5 s (next IDR frame).
_ENCODE = (
    "videoconvert ! video/x-raw,format=I420 ! "
    "x264enc tune=zerolatency speed-preset=ultrafast bitrate=200 key-int-max=5 ! "
    "rtph264pay name=pay0 pt=96 config-interval=1"
)


# H.265, same settings: many installed cameras (Hikvision "H.265+", Dahua) stream nothing else.
_ENCODE_HEVC = (
    "videoconvert ! video/x-raw,format=I420 ! "
    "x265enc tune=zerolatency speed-preset=ultrafast bitrate=200 key-int-max=5 ! "
    "rtph265pay name=pay0 pt=96 config-interval=1"
)


def _scene(background: str, buffers: int = -1) -> str:
    """Static background with a moving ball on top (a street with one car)."""
    n = f" num-buffers={buffers}" if buffers > 0 else ""
    return (
        f"compositor name=mix background=black ! {_RAW} ! {{post}} "
        f"videotestsrc is-live=true{n} {background} ! {_RAW} ! mix. "
        f"videotestsrc is-live=true{n} pattern=ball background-color=0x00000000 "
        f"! video/x-raw,format=AYUV,width={WIDTH},height={HEIGHT},framerate={FPS}/1 ! mix."
    )


_SMPTE = "pattern=smpte"
# Panned: render a wider SMPTE frame and keep its right-hand part.
_PANNED = (
    f"pattern=smpte ! video/x-raw,width={WIDTH + WIDTH // 2},height={HEIGHT},framerate={FPS}/1 "
    f"! videocrop left={WIDTH // 2}"
)

MOUNTS: dict[str, str] = {
    "moving": _scene(_SMPTE).format(post=_ENCODE),
    "black": f"videotestsrc is-live=true pattern=black ! {_RAW} ! {_ENCODE}",
    # A frozen encoder: one decoded frame repeated, still re-encoded with fresh IDR frames.
    # One source, not the compositor: a live compositor may emit its first frame before
    # the bars arrive, and imagefreeze would then freeze a black frame.
    "frozen": (
        f"videotestsrc num-buffers=1 {_SMPTE} ! {_RAW} ! "
        f"imagefreeze is-live=true ! {_RAW} ! {_ENCODE}"
    ),
    "covered": (
        f"compositor name=mix background=black sink_1::alpha=0.06 ! {_RAW} ! {_ENCODE} "
        f"videotestsrc is-live=true pattern=solid-color foreground-color=0xff303030 ! {_RAW} ! mix. "
        f"videotestsrc is-live=true pattern=snow ! {_RAW} ! mix."
    ),
    "blurred": _scene(_SMPTE).format(post=f"videoconvert ! gaussianblur sigma=12 ! {_ENCODE}"),
    "moved": _scene(_PANNED).format(post=_ENCODE),
    "hevc": _scene(_SMPTE).format(post=_ENCODE_HEVC),
    "frozen-hevc": f"videotestsrc num-buffers=1 {_SMPTE} ! {_RAW} ! imagefreeze is-live=true ! {_RAW} ! {_ENCODE_HEVC}",
    "stops": _scene(_SMPTE, buffers=STOPS_AFTER_FRAMES).format(post=_ENCODE),
    # Night pictures (agent/night.py): IR light shows the scene dim and grey with gain noise;
    # without IR the sensor shows only its own noise at full gain.
    "night-ir": (
        f"compositor name=mix background=black sink_1::alpha=0.25 ! {_RAW} ! videobalance saturation=0 "
        f"! {_ENCODE} videotestsrc is-live=true {_SMPTE} ! {_RAW} ! videobalance brightness=-0.45 ! mix. "
        f"videotestsrc is-live=true pattern=snow ! {_RAW} ! mix."
    ),
    "night-noise": (
        f"compositor name=mix background=black sink_1::alpha=0.35 ! {_RAW} ! {_ENCODE} "
        f"videotestsrc is-live=true pattern=solid-color foreground-color=0xff141414 ! {_RAW} ! mix. "
        f"videotestsrc is-live=true pattern=snow ! {_RAW} ! mix."
    ),
}
# Mounts whose picture follows the scene the test sets (day: first, night: second).
DAY_NIGHT: dict[str, tuple[str, str]] = {
    "daynight-black": ("moving", "black"),
    "daynight-noise": ("moving", "night-noise"),
}


def moving_mount(width: int, height: int, fps: int = FPS, kbps: int = 200) -> str:
    """The ``moving`` scene at another size and bit rate (benchmarks: HD cameras)."""
    raw = f"video/x-raw,width={width},height={height},framerate={fps}/1"
    encode = _ENCODE.replace("bitrate=200", f"bitrate={kbps}")
    return (
        f"compositor name=mix background=black ! {raw} ! {encode} "
        f"videotestsrc is-live=true pattern=smpte ! {raw} ! mix. "
        f"videotestsrc is-live=true pattern=ball background-color=0x00000000 "
        f"! video/x-raw,format=AYUV,width={width},height={height},framerate={fps}/1 ! mix."
    )


# Mounts whose pipeline must be per client: /stops must end for every new viewer.
_UNSHARED = {"stops", "frozen", "frozen-hevc"}
# File (in the server's workdir) holding "day" or "night" for the DAY_NIGHT mounts.
SCENE_FILE = "scene"


@dataclass
class RtspServer:
    """One gst-rtsp-server process owned by a test; kill and restart it at will."""

    workdir: Path
    port: int = 0
    copies: int = 0
    copy_size: tuple[int, int] = (WIDTH, HEIGHT)  # size of the /moving-N copies
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    _log: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()

    def uri(self, mount: str, *, auth: bool = False, password: str = PASSWORD) -> str:
        """RTSP URI of ``mount``; with ``auth`` the user-info carries the rig's user."""
        cred = f"{USER}:{password}@" if auth else ""
        return f"rtsp://{cred}{self.host}:{self.port}/{mount.lstrip('/')}"

    def start(self, timeout: float = START_TIMEOUT_S) -> RtspServer:
        """Start the server and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return self
        log = self.workdir / f"rtsp-{len(self._log)}.log"
        self._log.append(log)
        repo = Path(__file__).resolve().parents[2]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.rig.rtsp_server", "--port", str(self.port),
                 "--copies", str(self.copies), "--host", self.host,
                 "--copy-size", f"{self.copy_size[0]}x{self.copy_size[1]}",
                 "--scene-file", str(self.workdir / SCENE_FILE)],
                cwd=repo, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            wait_for_port(self.port, self.host, timeout)
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {log.read_text(errors='replace')}") from None
        return self

    def kill(self) -> None:
        """SIGKILL the server (a camera losing power) and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def set_scene(self, scene: str) -> None:
        """Make the ``daynight-*`` mounts show "day" or "night" to every client connecting next."""
        if scene not in ("day", "night"):
            raise ValueError(f"scene must be day or night, not {scene!r}")
        (self.workdir / SCENE_FILE).write_text(scene, encoding="utf-8")

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None


def _serve(host: str, port: int, copies: int, copy_size: tuple[int, int] = (WIDTH, HEIGHT),
           scene_file: str = "") -> None:  # pragma: no cover - subprocess
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(str(port))

    auth = GstRtspServer.RTSPAuth()
    anonymous = GstRtspServer.RTSPToken()
    anonymous.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "anonymous")
    auth.set_default_token(anonymous)
    user = GstRtspServer.RTSPToken()
    user.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(USER, PASSWORD), user)
    server.set_auth(auth)

    def permit(factory: GstRtspServer.RTSPMediaFactory, secure: bool) -> None:
        # Anonymous callers of a secure mount may *see* it but not construct it: that makes
        # the server answer 401 with a WWW-Authenticate challenge, as cameras do (denying
        # access outright answers 404).
        for role, construct in (("user", True), ("anonymous", not secure)):
            factory.add_role_from_structure(Gst.Structure.from_string(
                f"{role}, media.factory.access=(boolean)true, "
                f"media.factory.construct=(boolean){str(construct).lower()}")[0])

    mounts = server.get_mount_points()
    entries = dict(MOUNTS)
    w, h = copy_size
    # Bit rate grows with the picture: ~200 kbit/s at 320x240, ~2 Mbit/s at 1280x720.
    copy = MOUNTS["moving"] if copy_size == (WIDTH, HEIGHT) else moving_mount(w, h, kbps=max(200, w * h // 450))
    for i in range(copies):
        entries[f"moving-{i}"] = copy
    for name, launch in entries.items():
        for secure in (False, True):
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(f"( {launch} )")
            factory.set_shared(name not in _UNSHARED)
            permit(factory, secure)
            mounts.add_factory(f"/secure/{name}" if secure else f"/{name}", factory)

    class DayNight(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
        """Builds each client's pipeline from the scene file as it reads at connection time."""

        def __init__(self, day: str, night: str) -> None:
            super().__init__()
            self.day, self.night = day, night

        def do_create_element(self, url: object) -> object:
            try:
                scene = open(scene_file, encoding="utf-8").read().strip() if scene_file else "day"
            except OSError:
                scene = "day"
            return Gst.parse_launch(f"( {MOUNTS[self.night if scene == 'night' else self.day]} )")

    for name, (day, night) in DAY_NIGHT.items():
        factory = DayNight(day, night)
        factory.set_shared(False)
        permit(factory, False)
        mounts.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on {host}:{port}")
    print(json.dumps({"ready": port}), flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()


def main() -> None:  # pragma: no cover - subprocess
    """Serve the test mounts until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--copies", type=int, default=0, help="extra /moving-N mounts")
    parser.add_argument("--copy-size", default=f"{WIDTH}x{HEIGHT}", help="WxH of the /moving-N copies")
    parser.add_argument("--scene-file", default="", help="file saying day or night (daynight-* mounts)")
    args = parser.parse_args()
    w, h = (int(v) for v in args.copy_size.lower().split("x"))
    _serve(args.host, args.port, args.copies, (w, h), args.scene_file)


if __name__ == "__main__":  # pragma: no cover
    main()
