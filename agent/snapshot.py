"""Answer the centre's ``snapshot`` command: one frame, scaled and JPEG-encoded to fit a message.

The command arrives on paho's network thread, which must never block: :meth:`SnapshotTaker.handle`
only checks the camera and the rate limit there and hands the grab to one worker thread of
its own. The answer is a :class:`protocol.Snapshot` published once with QoS 1, not through
the outbox: it is a reply to a person looking at a dashboard, not history to replay.

Why the limits: one snapshot per camera per ``min_interval_s`` (10 s) and at most
``_MAX_PENDING`` waiting grabs, so a centre bug sending commands in a loop costs a gateway
a few small error replies, never its checking capacity. Frames are scaled to at most 640 px
wide and the JPEG quality is stepped down until the base64 fits
:data:`protocol.MAX_SNAPSHOT_CHARS`.

Credentials go into the stream URI in memory only (:func:`agent.frames.with_credentials`);
neither the URI nor the password is logged or published.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np
import numpy.typing as npt

from protocol import MAX_SNAPSHOT_CHARS, Command, CommandKind, Snapshot

from .config import CameraConfig, Credential
from .frames import with_credentials
from .runner import Runner

__all__ = [
    "MAX_JPEG_BYTES",
    "SNAPSHOT_MAX_WIDTH",
    "SNAPSHOT_MIN_INTERVAL_S",
    "FittedJpeg",
    "SnapshotError",
    "SnapshotTaker",
    "fit_jpeg",
    "grab_frame_blocking",
    "taker_for_runner",
]

logger = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]

# A dashboard shows the picture at most this wide; 640 px also keeps most JPEGs under 100 KiB.
SNAPSHOT_MAX_WIDTH = 640
# One snapshot per camera per 10 s: a person clicking is slower; a loop in the centre is not.
SNAPSHOT_MIN_INTERVAL_S = 10.0
# base64 turns 3 bytes into 4 characters.
MAX_JPEG_BYTES = MAX_SNAPSHOT_CHARS // 4 * 3
# Qualities tried in turn; below 20 a JPEG is too blocky to tell a covered lens from a dark one.
_QUALITIES = (85, 70, 55, 40, 25, 20)
# Grabs waiting for the worker: past this, requests are answered "busy" at once.
_MAX_PENDING = 4
# FFmpeg's own open and read timeouts for one frame (the same order as a check's).
OPEN_TIMEOUT_S = 8.0
READ_TIMEOUT_S = 4.0


class SnapshotError(Exception):
    """No picture; ``reason`` is the reason code published in :attr:`protocol.Snapshot.error`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FittedJpeg:
    """A JPEG that fits one message, and how it was made."""

    data: bytes
    width: int
    height: int
    quality: int


def fit_jpeg(frame: Frame, *, max_width: int = SNAPSHOT_MAX_WIDTH, max_bytes: int = MAX_JPEG_BYTES) -> FittedJpeg:
    """Scale ``frame`` to at most ``max_width`` and JPEG-encode it, stepping the quality down
    (then halving the size) until it is at most ``max_bytes``."""
    h, w = frame.shape[:2]
    if w > max_width:
        frame = np.asarray(cv2.resize(frame, (max_width, max(1, round(h * max_width / w))),
                                      interpolation=cv2.INTER_AREA), dtype=np.uint8)
    while True:
        h, w = frame.shape[:2]
        for quality in _QUALITIES:
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise SnapshotError("encode_failed", "OpenCV could not encode the frame as JPEG")
            if buf.size <= max_bytes:
                return FittedJpeg(buf.tobytes(), w, h, quality)
        if w <= 16:
            raise SnapshotError("encode_failed", f"no JPEG of the frame fits {max_bytes} bytes")
        frame = np.asarray(cv2.resize(frame, (w // 2, max(1, h // 2)), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def grab_frame_blocking(uri: str, *, open_timeout_s: float = OPEN_TIMEOUT_S,
                        read_timeout_s: float = READ_TIMEOUT_S) -> Frame:
    """Open ``uri`` (credentials inside, never logged), decode one colour frame, release."""
    cap = cv2.VideoCapture(
        uri,
        cv2.CAP_FFMPEG,
        [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
         cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)],
    )
    try:
        if not cap.isOpened():
            raise SnapshotError("stream_failed", "stream did not open")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise SnapshotError("no_video", "stream opened but sent no decodable frame")
        return np.ascontiguousarray(frame, dtype=np.uint8)
    finally:
        cap.release()


Grabber = Callable[[str], Frame]
Publish = Callable[[Snapshot], bool]


class SnapshotTaker:
    """Turns ``snapshot`` commands into published :class:`protocol.Snapshot` replies.

    >>> taker = SnapshotTaker("bkk-0001", cameras=lambda: config.cameras, credentials=secrets.for_camera,
    ...                       stream_uri=lambda cam: cam.stream_uri, publish=publisher.publish_reply)
    >>> publisher.on_command = taker.handle
    """

    def __init__(
        self,
        site: str,
        *,
        cameras: Callable[[], Sequence[CameraConfig]],
        credentials: Callable[[CameraConfig], Sequence[Credential]],
        stream_uri: Callable[[CameraConfig], str],
        publish: Publish,
        min_interval_s: float = SNAPSHOT_MIN_INTERVAL_S,
        grabber: Grabber | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self._cameras = cameras
        self._credentials = credentials
        self._stream_uri = stream_uri
        self._publish = publish
        self._min_interval_s = min_interval_s
        self._grab: Grabber = grabber or grab_frame_blocking
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # camera id -> when its last grab was accepted (known cameras only)
        self._pending = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camwatch-snapshot")
        self.published = 0  # replies handed to the publisher (status and tests)

    def handle(self, command: Command) -> None:
        """Accept one command (paho's thread: decides and queues, never grabs here)."""
        if command.command != CommandKind.SNAPSHOT:
            return
        camera_id = command.camera_id or ""
        camera = next((c for c in self._cameras() if c.id == camera_id), None)
        if camera is None:
            logger.warning("%s: snapshot %s asked for unknown camera %r", self.site, command.cmd_id, camera_id)
            self._reply(command, error="unknown_camera")
            return
        with self._lock:
            now = self._clock()
            last = self._last.get(camera.id)
            if last is not None and now - last < self._min_interval_s:
                limited, busy = True, False
            elif self._pending >= _MAX_PENDING:
                limited, busy = False, True
            else:
                limited = busy = False
                self._last[camera.id] = now
                self._pending += 1
        if limited or busy:
            logger.info("%s: snapshot %s refused (%s)", camera.id, command.cmd_id,
                        "rate limited" if limited else "busy")
            self._reply(command, error="rate_limited" if limited else "busy")
            return
        self._pool.submit(self._take, camera, command)

    def _take(self, camera: CameraConfig, command: Command) -> None:
        try:
            jpeg, taken_at = self.take(camera)
        except SnapshotError as err:
            logger.warning("%s: snapshot %s failed: %s (%s)", camera.id, command.cmd_id, err.reason, err)
            self._reply(command, error=err.reason)
            return
        except Exception:  # the worker must answer whatever happens
            logger.exception("%s: snapshot %s failed", camera.id, command.cmd_id)
            self._reply(command, error="internal_error")
            return
        finally:
            with self._lock:
                self._pending -= 1
        logger.info("%s: snapshot %s taken (%dx%d, %d bytes, quality %d)", camera.id, command.cmd_id,
                    jpeg.width, jpeg.height, len(jpeg.data), jpeg.quality)
        self._reply(command, jpeg=jpeg, taken_at=taken_at)

    def take(self, camera: CameraConfig) -> tuple[FittedJpeg, datetime]:
        """Grab and fit one frame of ``camera`` (blocking), trying its credentials in order."""
        uri = self._stream_uri(camera)
        if not uri or not uri.lower().startswith(("rtsp://", "rtsps://")):
            raise SnapshotError("no_stream", "the camera has no RTSP stream URI")
        creds = list(self._credentials(camera)) or [Credential()]
        failure: SnapshotError | None = None
        for cred in creds:
            full = with_credentials(uri, cred.username, cred.password.get_secret_value())
            taken_at = datetime.now(UTC)
            try:
                frame = self._grab(full)
            except SnapshotError as err:
                failure = err
                if err.reason != "stream_failed":  # it opened: another credential will not help
                    break
                continue
            return fit_jpeg(frame), taken_at
        assert failure is not None
        raise failure

    def _reply(self, command: Command, *, error: str | None = None, jpeg: FittedJpeg | None = None,
               taken_at: datetime | None = None) -> None:
        if jpeg is not None:
            message = Snapshot(
                site=self.site, ts=datetime.now(UTC), camera_id=command.camera_id or "", cmd_id=command.cmd_id,
                taken_at=taken_at, width=jpeg.width, height=jpeg.height,
                data=base64.b64encode(jpeg.data).decode("ascii"),
            )
        else:
            message = Snapshot(site=self.site, ts=datetime.now(UTC), camera_id=command.camera_id or "unknown",
                               cmd_id=command.cmd_id, error=error)
        if self._publish(message):
            self.published += 1
        else:
            logger.warning("%s: snapshot %s reply not sent (not connected)", self.site, command.cmd_id)

    def close(self) -> None:
        """Stop the worker (a grab in progress finishes within its FFmpeg timeouts)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def taker_for_runner(runner: Runner, publish: Publish, *,
                     min_interval_s: float = SNAPSHOT_MIN_INTERVAL_S) -> SnapshotTaker:
    """A taker for the runner's cameras: their configured stream URI, else the one ONVIF reported."""

    def stream_uri(camera: CameraConfig) -> str:
        inventory = runner.inventory.get(camera.id)
        return camera.stream_uri or (inventory.stream_uri if inventory is not None else "")

    def credentials(camera: CameraConfig) -> Sequence[Credential]:
        return runner.secrets.for_camera(camera) if runner.secrets is not None else ()

    return SnapshotTaker(runner.config.site.site_id, cameras=lambda: runner.cameras, credentials=credentials,
                         stream_uri=stream_uri, publish=publish, min_interval_s=min_interval_s)
