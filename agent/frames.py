"""Grab a short burst of frames from an RTSP stream with hard timeouts (OpenCV/FFmpeg).

OpenCV blocks, so :func:`grab` runs :func:`grab_blocking` in a worker thread and also
guards it with an outer asyncio timeout: should FFmpeg ever ignore its own timeouts, the
camera's check still ends on time and the stuck thread only occupies one pool worker
(the runner sizes its pool for that). Frames are reduced to small greyscale images in the
thread, so a 4K camera costs no more memory than a CIF one once decoded.

Credentials go into the URI in memory only; the URI is never logged (see ``redact_uri``).

Exceptions (all :class:`FrameError`)::

    FrameError
    ├── StreamOpenError      the stream did not open (auth, path, codec, network)
    ├── StreamEndedError     the stream opened but stopped before the burst was read
    └── GrabTimeout          the outer deadline passed (FFmpeg ignored its own timeouts)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "ANALYSIS_WIDTH",
    "FrameError",
    "GrabResult",
    "GrabTimeout",
    "StreamEndedError",
    "StreamOpenError",
    "grab",
    "grab_blocking",
    "with_credentials",
]

logger = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]

# Picture checks run on frames scaled to this width: enough for blur/edge measures, and
# 64 cameras x 5 frames stay under 25 MB.
ANALYSIS_WIDTH = 320
# FFmpeg options, read by OpenCV at every open. TCP: RTSP over UDP loses packets through
# NATs and VPNs and then shows grey smears we would call "covered". analyzeduration 0.1 s /
# probesize 4 KiB: OpenCV holds one process-wide lock for the whole open (stream probing
# included), so opens of all cameras are serialised and the probe time is paid 64 times a
# cycle. Measured on the rig: defaults (5 s / 5 MB) 3.0 s per open, 0.5 s / 32 KiB 0.83 s,
# 0.1 s / 4 KiB 0.33 s, with frame size, codec and frame rate still found (SPS/PPS come in
# the SDP and the first packets; frames are decoded after the open, outside the lock).
FFMPEG_CAPTURE_OPTIONS = "rtsp_transport;tcp|analyzeduration;100000|probesize;4096"
os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = FFMPEG_CAPTURE_OPTIONS
# Extra time the outer asyncio guard allows beyond FFmpeg's own timeouts before it gives
# up on the thread (thread start, decoder set-up, scheduling on a busy 2-core gateway).
OUTER_GRACE_S = 3.0


class FrameError(Exception):
    """A frame could not be grabbed; ``open_s`` is how long OpenCV's open took, if known."""

    def __init__(self, message: str, *, open_s: float | None = None) -> None:
        super().__init__(message)
        self.open_s = open_s

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only state survives the trip back from a grab worker process.
        return (type(self), (str(self),), self.__dict__)


class StreamOpenError(FrameError):
    """The stream did not open."""


class StreamEndedError(FrameError):
    """The stream stopped sending frames before the burst was complete."""

    def __init__(self, message: str, frames_read: int = 0, *, open_s: float | None = None) -> None:
        super().__init__(message, open_s=open_s)
        self.frames_read = frames_read


class GrabTimeout(FrameError):
    """The grab overran its outer deadline."""


@dataclass(frozen=True, slots=True)
class GrabResult:
    """A burst of frames, reduced to small greyscale images, and what was measured."""

    frames: tuple[Gray, ...]
    width: int
    height: int
    open_s: float  # until the stream was set up
    first_frame_s: float  # from the start until the first decoded frame
    fps: float | None  # from stream timestamps, else arrival times
    reported_fps: float | None  # what the stream header claims
    codec: str
    kbps: float | None = None  # from compressed packets after the burst, when sampled


def with_credentials(uri: str, username: str, password: str) -> str:
    """Return ``uri`` with user-info set (in memory only: never log the result)."""
    if not username and not password:
        return uri
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _reduce(frame: npt.NDArray[np.uint8]) -> Gray:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    h, w = gray.shape[:2]
    if w > ANALYSIS_WIDTH:
        size = (ANALYSIS_WIDTH, max(1, round(h * ANALYSIS_WIDTH / w)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray, dtype=np.uint8)


def _fps(pts_ms: list[float], arrivals: list[float]) -> float | None:
    # Stream timestamps first: the first frames of a burst arrive together (buffered while
    # FFmpeg probed), so arrival times overstate the rate. FFmpeg's RTSP timestamps can
    # jump once when RTCP sync arrives; the median of positive steps ignores that.
    steps = sorted(b - a for a, b in zip(pts_ms, pts_ms[1:], strict=False) if b > a)
    if steps:
        return 1000.0 / steps[len(steps) // 2]
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return (len(arrivals) - 1) / span if span > 0 else None


def _sample_kbps(cap: cv2.VideoCapture, packets: int, fps: float | None) -> float | None:
    """Read ``packets`` compressed packets (no decoding) and return their bit rate.

    OpenCV's FFmpeg backend switches to raw packets on ``CAP_PROP_FORMAT = -1`` mid-stream;
    the first packet's bytes are left out, the span of the others' timestamps is the time.
    """
    if not cap.set(cv2.CAP_PROP_FORMAT, -1):
        return None
    sizes: list[int] = []
    pts: list[float] = []
    for _ in range(packets):
        ok, packet = cap.read()
        if not ok or packet is None:
            break
        sizes.append(int(packet.size))
        pts.append(float(cap.get(cv2.CAP_PROP_POS_MSEC)))
    if len(sizes) < 2:
        return None
    span_s = (pts[-1] - pts[0]) / 1000.0
    if span_s <= 0 and fps:
        span_s = (len(sizes) - 1) / fps
    return sum(sizes[1:]) * 8 / 1000.0 / span_s if span_s > 0 else None


def grab_blocking(uri: str, *, frames: int, open_timeout_s: float, read_timeout_s: float,
                  sample_packets: int = 0) -> GrabResult:
    """Open ``uri``, read ``frames`` frames and release it (blocking; run in a thread).

    With ``sample_packets``, that many compressed packets are read after the burst to
    measure the bit rate (no decoding: about a second of stream, little CPU)."""
    start = time.monotonic()
    cap = cv2.VideoCapture(
        uri,
        cv2.CAP_FFMPEG,
        [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000),
        ],
    )
    try:
        opened = time.monotonic()
        if not cap.isOpened():
            raise StreamOpenError("stream did not open", open_s=opened - start)
        got: list[Gray] = []
        pts: list[float] = []
        arrivals: list[float] = []
        width = height = 0
        for _ in range(frames):
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            arrivals.append(time.monotonic())
            pts.append(float(cap.get(cv2.CAP_PROP_POS_MSEC)))
            height, width = frame.shape[:2]
            got.append(_reduce(np.asarray(frame, dtype=np.uint8)))
        if not got:
            raise StreamEndedError("stream opened but sent no decodable frame", 0, open_s=opened - start)
        if len(got) < frames:
            raise StreamEndedError(f"stream stopped after {len(got)} of {frames} frames", len(got),
                                   open_s=opened - start)
        reported = float(cap.get(cv2.CAP_PROP_FPS))
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ") if fourcc else ""
        fps = _fps(pts, arrivals)
        kbps = _sample_kbps(cap, sample_packets, fps) if sample_packets > 1 else None
        return GrabResult(
            frames=tuple(got),
            width=width,
            height=height,
            open_s=opened - start,
            first_frame_s=arrivals[0] - start,
            fps=fps,
            reported_fps=reported if reported > 0 else None,
            codec=codec,
            kbps=kbps,
        )
    finally:
        cap.release()


async def grab(
    uri: str,
    username: str = "",
    password: str = "",
    *,
    frames: int = 5,
    open_timeout_s: float = 8.0,
    read_timeout_s: float = 4.0,
    executor: Executor | None = None,
    sample_packets: int = 0,
) -> GrabResult:
    """Grab a burst from ``uri`` in a worker thread (or ``executor``), never taking much
    over the timeouts."""
    full = with_credentials(uri, username, password)
    deadline = open_timeout_s + read_timeout_s * (frames + sample_packets) + OUTER_GRACE_S
    work = functools.partial(grab_blocking, full, frames=frames, open_timeout_s=open_timeout_s,
                             read_timeout_s=read_timeout_s, sample_packets=sample_packets)
    try:
        return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(executor, work), deadline)
    except TimeoutError as err:
        raise GrabTimeout(f"no frames within {deadline:.0f} s") from err
