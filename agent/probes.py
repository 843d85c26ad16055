"""One check of one camera -> ProbeResult: TCP, ONVIF, RTSP burst, picture, snapshot.

Each step has its own hard timeout (``ChecksConfig``); ONVIF and the stream run side by
side once TCP answers. Nothing here knows about MQTT: the result goes to the health
tracker, which decides whether it changes the camera's state.

Outcome rules (DESIGN.md camera states):

* ``down``: the camera does not accept TCP (unreachable), refuses the credentials
  (auth_failed, RTSP 401 included), or its stream does not open or stops (stream_failed);
  a camera with no stream and a failing ONVIF is down with onvif_failed.
* ``degraded``: the stream works but the picture is not usable (no_video, frozen,
  obstructed, blurred, scene_changed, low_fps; in darkness night_black and night_no_ir,
  :mod:`agent.night`), the stream is not what its ONVIF profile says (low_fps,
  low_bitrate, resolution_changed over a window, :mod:`agent.drift`), ONVIF fails beside a working stream
  (onvif_failed), the camera's clock is far off (clock_skew), or only snapshots work.
* ``up``: otherwise.

Messages are written for the installer ("wrong password for 10.0.0.14 (RTSP)").
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import cv2
import httpx
import numpy as np
import numpy.typing as npt

from protocol import CameraInventory, CameraState, Reason

from . import onvif_client
from .config import CameraConfig, ChecksConfig, Credential
from .drift import DriftSample, DriftWatch, Profile
from .frames import ANALYSIS_WIDTH, FrameError, GrabResult, GrabTimeout, StreamEndedError, grab
from .models import DetailValue, ProbeResult, StepResult
from .night import NightWatch
from .picture import assess, measure, reference_image
from .references import ReferenceStore
from .rtsp import describe, ping

__all__ = ["OnvifChecker", "Prober", "onvif_alive"]

logger = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]
# (address, port, username, password, timeout_s) -> camera clock minus ours, in seconds.
OnvifChecker = Callable[[str, int, str, str, float], Awaitable[float]]
# Errors from the snapshot download that mean "no picture this way", not a bug of ours.
SNAPSHOT_EXCEPTIONS = (httpx.HTTPError, OSError, ValueError)
# OpenCV holds one process-wide lock for a whole FFmpeg open. A camera whose open ran into
# (nearly) the whole open timeout stalls inside that lock - it answers RTSP but sends no
# media - and would hold every other camera's open for as long (measured on the rig: a
# 0.3 s open took 3.2 s beside such a camera). Its grabs move to a small process pool of
# their own, which costs ~60 MB only on sites that have such a camera.
STALL_FRACTION = 0.8
ISOLATION_WORKERS = 2
# A snapshot bigger than this is not a JPEG from a camera (16 MP JPEGs stay under 10 MB).
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024


async def onvif_alive(address: str, port: int, username: str, password: str, timeout_s: float) -> float:
    """Check ONVIF liveness with the real client; return the camera clock offset (s)."""
    timeouts = onvif_client.Timeouts(connect=min(timeout_s, onvif_client.CONNECT_TIMEOUT_S),
                                     read=timeout_s, total=timeout_s)
    return await onvif_client.check_alive(address, port, username or None, password or None,
                                          timeouts=timeouts)


def _now() -> datetime:
    return datetime.now(UTC)


def _endpoint(camera: CameraConfig) -> tuple[str, int]:
    """Host and port whose TCP answer proves the camera is on the network."""
    for uri, default in ((camera.stream_uri, 554), (camera.snapshot_uri, 80)):
        if uri:
            parts = urlsplit(uri)
            if parts.scheme.lower() in ("https", "rtsps") and parts.port is None:
                default = 443 if parts.scheme.lower() == "https" else 322
            return parts.hostname or camera.address, parts.port or default
    return camera.address, camera.onvif_port or camera.rtsp_port


def _auth(cred: Credential | None) -> tuple[str, str]:
    if cred is None:
        return "", ""
    return cred.username, cred.password.get_secret_value()


class Prober:
    """Check cameras; remembers per camera the last frame and which credential works."""

    def __init__(
        self,
        checks: ChecksConfig,
        *,
        references: ReferenceStore | None = None,
        onvif: OnvifChecker | None = onvif_alive,
        clock: Callable[[], datetime] = _now,
        site: tuple[float | None, float | None] = (None, None),
        profiles: Mapping[str, CameraInventory] | None = None,
    ) -> None:
        self.checks = checks
        self.references = references
        self.onvif = onvif
        self.clock = clock
        # Night: darkness from the site's lat/lon; drift: the ONVIF profiles the runner reads.
        self.night = NightWatch(site[0], site[1], checks.night)
        self.drift = DriftWatch(checks.drift)
        self.profiles: Mapping[str, CameraInventory] = profiles if profiles is not None else {}
        self._checks_done: dict[str, int] = {}
        self._previous: dict[str, Gray] = {}
        self._cred_index: dict[str, int] = {}
        self.isolated: set[str] = set()
        self._isolation: ProcessPoolExecutor | None = None

    def _isolation_pool(self) -> ProcessPoolExecutor:
        if self._isolation is None:
            # forkserver: never fork the agent itself (paho and grab threads are running).
            self._isolation = ProcessPoolExecutor(
                max_workers=ISOLATION_WORKERS, mp_context=multiprocessing.get_context("forkserver"))
        return self._isolation

    def close(self) -> None:
        """Stop the isolation processes, if any (without waiting for a stuck grab)."""
        if self._isolation is not None:
            self._isolation.shutdown(wait=False, cancel_futures=True)
            self._isolation = None

    def _note_stall(self, camera: CameraConfig, err: FrameError) -> None:
        limit = self.checks.rtsp_open_timeout_s * STALL_FRACTION
        if err.open_s is not None and err.open_s >= limit and camera.id not in self.isolated:
            self.isolated.add(camera.id)
            logger.warning("%s: stream of %s stalls while opening (%.1f s); checking it in a separate "
                           "process from now on", camera.id, camera.address, err.open_s)

    async def probe(self, camera: CameraConfig, credentials: Sequence[Credential] = ()) -> ProbeResult:
        """Run every step for ``camera`` and classify the outcome (never raises)."""
        at = self.clock()
        steps: list[StepResult] = []
        try:
            return await self._probe(camera, list(credentials), at, steps)
        except Exception as err:  # a bug must cost one camera's check, not the agent
            logger.exception("%s: check failed unexpectedly", camera.id)
            return ProbeResult(camera.id, at, CameraState.DOWN, Reason.STREAM_FAILED,
                               f"internal error while checking {camera.address}: {type(err).__name__}",
                               tuple(steps))

    async def _probe(self, camera: CameraConfig, creds: list[Credential], at: datetime,
                     steps: list[StepResult]) -> ProbeResult:
        host, port = _endpoint(camera)
        tcp = await self._tcp(host, port)
        steps.append(tcp)
        if not tcp.ok:
            return ProbeResult(camera.id, at, CameraState.DOWN, Reason.UNREACHABLE,
                               f"{host}:{port} {tcp.detail}: is the camera powered and cabled?",
                               tuple(steps))
        idx = self._cred_index.get(camera.id, 0)
        cred = creds[idx] if idx < len(creds) else (creds[0] if creds else None)
        onvif_task = self._onvif(camera, cred) if camera.onvif_port and self.onvif else None
        stream_task = self._stream(camera, creds) if camera.stream_uri else None
        onvif_out, stream_out = await asyncio.gather(
            onvif_task if onvif_task is not None else _none(),
            stream_task if stream_task is not None else _none(),
        )
        details: dict[str, DetailValue] = {}
        clock_offset: float | None = None
        onvif_problem: tuple[Reason, str] | None = None
        if onvif_out is not None:
            step, clock_offset, onvif_problem = onvif_out
            steps.append(step)
            if clock_offset is not None:
                details["clock_offset_s"] = round(clock_offset, 1)
        if stream_out is not None:
            grab_steps, result = stream_out
            steps.extend(grab_steps)
            if isinstance(result, GrabResult):
                return self._judge_picture(camera, at, steps, result, onvif_problem, clock_offset, details)
            reason, message = result
            if reason is not Reason.AUTH_FAILED and camera.snapshot_uri:
                snap = await self._snapshot_judged(camera, cred, steps)
                if snap is not None:
                    return ProbeResult(camera.id, at, CameraState.DEGRADED, reason,
                                       f"{message}; snapshots still work", tuple(steps), details,
                                       clock_offset_s=clock_offset)
            return ProbeResult(camera.id, at, CameraState.DOWN, reason, message, tuple(steps), details,
                               clock_offset_s=clock_offset)
        if camera.snapshot_uri:
            snap = await self._snapshot_judged(camera, cred, steps)
            if snap is None:
                detail = steps[-1].detail
                reason = Reason.AUTH_FAILED if "401" in detail else Reason.STREAM_FAILED
                return ProbeResult(camera.id, at, CameraState.DOWN, reason,
                                   f"snapshot from {camera.address} failed: {detail}", tuple(steps), details)
            return self._verdict(camera, at, steps, [snap], None, onvif_problem, clock_offset, details)
        if onvif_problem is not None:
            return ProbeResult(camera.id, at, CameraState.DOWN, onvif_problem[0], onvif_problem[1],
                               tuple(steps), details, clock_offset_s=clock_offset)
        return self._verdict(camera, at, steps, None, None, None, clock_offset, details)

    async def _tcp(self, host: str, port: int) -> StepResult:
        start = time.monotonic()
        timeout = self.checks.tcp_timeout_s
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return StepResult("tcp", True, time.monotonic() - start)
        except TimeoutError:
            return StepResult("tcp", False, time.monotonic() - start, f"gives no answer within {timeout:g} s")
        except ConnectionRefusedError:
            return StepResult("tcp", False, time.monotonic() - start, "refuses connections")
        except OSError as err:
            return StepResult("tcp", False, time.monotonic() - start, f"is unreachable ({err.strerror or err})")

    async def _onvif(self, camera: CameraConfig, cred: Credential | None
                     ) -> tuple[StepResult, float | None, tuple[Reason, str] | None]:
        assert self.onvif is not None and camera.onvif_port is not None
        user, password = _auth(cred)
        timeout = self.checks.onvif_timeout_s
        start = time.monotonic()
        try:
            offset = await asyncio.wait_for(
                self.onvif(camera.address, camera.onvif_port, user, password, timeout), timeout + 1.0)
        except onvif_client.OnvifAuthError:
            problem = (Reason.AUTH_FAILED, f"wrong ONVIF user or password for {camera.address}")
        except (onvif_client.OnvifTimeout, TimeoutError):
            problem = (Reason.ONVIF_FAILED,
                       f"ONVIF on {camera.address}:{camera.onvif_port} does not answer within {timeout:g} s")
        except onvif_client.OnvifUnreachable:
            problem = (Reason.ONVIF_FAILED, f"ONVIF port {camera.onvif_port} on {camera.address} is closed")
        except onvif_client.OnvifError as err:
            problem = (Reason.ONVIF_FAILED, f"ONVIF on {camera.address} answers badly: {err}")
        else:
            return StepResult("onvif", True, time.monotonic() - start), offset, None
        logger.debug("%s: %s", camera.id, problem[1])
        return StepResult("onvif", False, time.monotonic() - start, problem[1]), None, problem

    def _profile(self, camera: CameraConfig) -> Profile | None:
        """The ONVIF profile of the stream this camera's checks read, when known.

        The inventory holds the camera's main profile; an installer who configured a
        sub-stream checks another stream, whose settings we do not know: no drift judged."""
        inv = self.profiles.get(camera.id)
        if inv is None or (inv.stream_uri and urlsplit(inv.stream_uri)[2:4] != urlsplit(camera.stream_uri)[2:4]):
            return None
        return Profile(inv.width, inv.height, inv.fps, inv.bitrate_kbps)

    def _sample_packets(self, camera: CameraConfig) -> int:
        """Packets to read for a bit-rate sample on this check (every ``bitrate_every``th)."""
        d = self.checks.drift
        camera_id = camera.id
        profile = self._profile(camera)
        if not d.enabled or profile is None or profile.bitrate_kbps is None:
            return 0
        return d.bitrate_packets if self._checks_done.get(camera_id, 0) % d.bitrate_every == 0 else 0

    async def _grab(self, camera: CameraConfig, cred: Credential | None) -> GrabResult:
        user, password = _auth(cred)
        c = self.checks
        executor = self._isolation_pool() if camera.id in self.isolated else None
        return await grab(camera.stream_uri, user, password, frames=c.burst_frames,
                          open_timeout_s=c.rtsp_open_timeout_s, read_timeout_s=c.rtsp_read_timeout_s,
                          executor=executor, sample_packets=self._sample_packets(camera))

    async def _stream(self, camera: CameraConfig, creds: list[Credential]
                      ) -> tuple[list[StepResult], GrabResult | tuple[Reason, str]]:
        steps: list[StepResult] = []
        idx = self._cred_index.get(camera.id, 0)
        # OPTIONS first, without OpenCV: OpenCV holds one process-wide lock for a whole
        # FFmpeg open, so a camera that accepts and never answers would stall every other
        # camera's open for the open timeout (measured: 3.1 s added to a 0.3 s open).
        start = time.monotonic()
        timeout = self.checks.rtsp_open_timeout_s
        alive = await ping(camera.stream_uri, timeout_s=timeout)
        if not alive.status:
            if alive.error == "refused":
                problem = (Reason.UNREACHABLE, f"RTSP port on {camera.address} refuses connections")
            elif alive.error == "timeout":
                problem = (Reason.STREAM_FAILED,
                           f"RTSP on {camera.address} accepts connections but does not answer within {timeout:g} s")
            else:
                problem = (Reason.STREAM_FAILED, f"RTSP on {camera.address} does not speak RTSP ({alive.error})")
            steps.append(StepResult("options", False, time.monotonic() - start, problem[1]))
            return steps, problem
        steps.append(StepResult("options", True, time.monotonic() - start))
        cred = creds[idx] if idx < len(creds) else (creds[0] if creds else None)
        outcome = await self._grab_step(camera, cred, steps)
        if isinstance(outcome, GrabResult):
            return steps, outcome
        if outcome[0] is not None:
            return steps, (outcome[0], outcome[1])
        # The stream did not open: ask the server why (DESCRIBE, with each credential set).
        start = time.monotonic()
        reason, message, working = await self._describe(camera, creds, idx)
        if working is None or (working == idx or not creds):
            if working is not None:  # described fine, yet OpenCV could not open it
                reason, message = Reason.STREAM_FAILED, (
                    f"{camera.address} describes the stream but OpenCV/FFmpeg cannot open it: "
                    f"codec or transport? ({outcome[1]})")
            steps.append(StepResult("describe", False, time.monotonic() - start, message))
            return steps, (reason, message)
        steps.append(StepResult("describe", True, time.monotonic() - start, message))
        self._cred_index[camera.id] = working
        logger.info("%s: credential set %d works for %s", camera.id, working + 1, camera.address)
        outcome = await self._grab_step(camera, creds[working], steps)
        if isinstance(outcome, GrabResult):
            return steps, outcome
        return steps, (outcome[0] or Reason.STREAM_FAILED, outcome[1])

    async def _grab_step(self, camera: CameraConfig, cred: Credential | None, steps: list[StepResult]
                         ) -> GrabResult | tuple[Reason | None, str]:
        """Grab a burst; a failure to open comes back as (None, why) for diagnosis."""
        start = time.monotonic()
        try:
            result = await self._grab(camera, cred)
        except FrameError as err:
            self._note_stall(camera, err)
            found: tuple[Reason | None, str]
            if isinstance(err, StreamEndedError):
                found = (Reason.STREAM_FAILED, f"stream from {camera.address} {err}")
            elif isinstance(err, GrabTimeout):
                found = (Reason.STREAM_FAILED, f"stream from {camera.address} hangs: {err}")
            else:
                found = (None, str(err))
        else:
            steps.append(StepResult("rtsp", True, time.monotonic() - start))
            return result
        steps.append(StepResult("rtsp", False, time.monotonic() - start, found[1]))
        return found

    async def _describe(self, camera: CameraConfig, creds: list[Credential], idx: int
                        ) -> tuple[Reason, str, int | None]:
        """DESCRIBE with the remembered credential, then the others; the index that works."""
        order = [idx] + [i for i in range(len(creds)) if i != idx] if creds else [-1]
        timeout = self.checks.rtsp_open_timeout_s
        where = camera.address
        path = urlsplit(camera.stream_uri).path or "/"
        first = None
        for i in order:
            user, password = _auth(creds[i] if i >= 0 else None)
            answer = await describe(camera.stream_uri, user, password, timeout_s=timeout)
            if answer.status == 200:
                return Reason.NONE, "stream described", i
            first = first or answer
            if not answer.auth_failed:
                break
        assert first is not None
        if first.auth_failed:
            who = f" (user '{_auth(creds[idx if idx < len(creds) else 0])[0]}')" if creds else (
                " (no credentials configured)")
            return Reason.AUTH_FAILED, f"wrong password for {where} (RTSP refused{who})", None
        if first.status == 404:
            return (Reason.STREAM_FAILED,
                    f"stream path {path} not found on {where}: run discover or fix stream_uri", None)
        if first.status:
            return Reason.STREAM_FAILED, f"RTSP server on {where} answers {first.status} {first.reason}", None
        if first.error == "refused":
            return Reason.UNREACHABLE, f"RTSP port on {where} refuses connections", None
        if first.error == "timeout":
            return (Reason.STREAM_FAILED,
                    f"RTSP on {where} accepts connections but does not answer within {timeout:g} s", None)
        return Reason.STREAM_FAILED, f"RTSP on {where} does not speak RTSP ({first.error})", None

    async def _snapshot(self, camera: CameraConfig, cred: Credential | None) -> Gray:
        user, password = _auth(cred)
        timeout = httpx.Timeout(self.checks.snapshot_timeout_s, connect=self.checks.tcp_timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            answer = await client.get(camera.snapshot_uri)
            if answer.status_code == 401 and (user or password):
                challenge = answer.headers.get("www-authenticate", "").lower()
                auth: httpx.Auth = (httpx.DigestAuth(user, password) if challenge.startswith("digest")
                                    else httpx.BasicAuth(user, password))
                answer = await client.get(camera.snapshot_uri, auth=auth)
            if answer.status_code != 200:
                raise ValueError(f"HTTP {answer.status_code}")
            if len(answer.content) > MAX_SNAPSHOT_BYTES:
                raise ValueError("snapshot too large")
            data = np.frombuffer(answer.content, dtype=np.uint8)
        image = await asyncio.to_thread(cv2.imdecode, data, cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError("not an image")
        h, w = image.shape[:2]
        if w > ANALYSIS_WIDTH:
            image = cv2.resize(image, (ANALYSIS_WIDTH, max(1, round(h * ANALYSIS_WIDTH / w))),
                               interpolation=cv2.INTER_AREA)
        return np.asarray(image, dtype=np.uint8)

    async def _snapshot_judged(self, camera: CameraConfig, cred: Credential | None,
                               steps: list[StepResult]) -> Gray | None:
        start = time.monotonic()
        try:
            async with asyncio.timeout(self.checks.snapshot_timeout_s + self.checks.tcp_timeout_s):
                image = await self._snapshot(camera, cred)
        except TimeoutError:
            steps.append(StepResult("snapshot", False, time.monotonic() - start, "no answer in time"))
            return None
        except SNAPSHOT_EXCEPTIONS as err:
            steps.append(StepResult("snapshot", False, time.monotonic() - start, str(err) or type(err).__name__))
            return None
        steps.append(StepResult("snapshot", True, time.monotonic() - start))
        return image

    def _judge_picture(self, camera: CameraConfig, at: datetime, steps: list[StepResult],
                       grabbed: GrabResult, onvif_problem: tuple[Reason, str] | None,
                       clock_offset: float | None, details: dict[str, DetailValue]) -> ProbeResult:
        details.update({"codec": grabbed.codec, "open_s": round(grabbed.open_s, 3)})
        if grabbed.kbps is not None:
            details["kbps"] = round(grabbed.kbps, 1)
        result = self._verdict(camera, at, steps, list(grabbed.frames), grabbed.fps, onvif_problem,
                               clock_offset, details)
        self._checks_done[camera.id] = self._checks_done.get(camera.id, 0) + 1
        drift = self.drift.observe(camera.id, DriftSample(grabbed.width, grabbed.height, grabbed.fps,
                                                          grabbed.kbps), self._profile(camera))
        if drift is not None and result.state is CameraState.UP:
            result = ProbeResult(camera.id, at, CameraState.DEGRADED, drift[0], f"{camera.address}: {drift[1]}",
                                 result.steps, result.details)
        return ProbeResult(
            result.camera_id, result.at, result.state, result.reason, result.message, result.steps,
            result.details, width=grabbed.width, height=grabbed.height, fps=grabbed.fps,
            first_frame_s=grabbed.first_frame_s, clock_offset_s=clock_offset, codec=grabbed.codec,
        )

    def _verdict(self, camera: CameraConfig, at: datetime, steps: list[StepResult],
                 frames: list[Gray] | None, fps: float | None, onvif_problem: tuple[Reason, str] | None,
                 clock_offset: float | None, details: dict[str, DetailValue]) -> ProbeResult:
        state, reason, message = CameraState.UP, Reason.NONE, f"{camera.address} ok"
        if frames:
            start = time.monotonic()
            reference = self.references.load(camera.id) if self.references else None
            metrics = measure(frames, previous=self._previous.get(camera.id), reference=reference,
                              thresholds=self.checks.picture)
            self._previous[camera.id] = frames[-1]
            picture_reason, picture_message = assess(metrics, fps, self.checks.picture)
            night = self.night.review(camera.id, at, frames[-1], picture_reason,
                                      seen_fine_before=reference is not None)
            if night is not None:
                picture_reason, picture_message = night
            details.update({k: v for k, v in metrics.as_details().items() if v is not None})
            steps.append(StepResult("picture", picture_reason is Reason.NONE, time.monotonic() - start,
                                    picture_message))
            if picture_reason is not Reason.NONE:
                state, reason, message = CameraState.DEGRADED, picture_reason, f"{camera.address}: {picture_message}"
            elif reference is None and self.references is not None and not self.night.dark(at):
                # References come from daylight only: a night picture is a poor one (IR, noise).
                if self.references.save(camera.id, reference_image(frames[-1])):
                    logger.info("%s: scene reference taken", camera.id)
        if state is CameraState.UP and onvif_problem is not None:
            state, reason = CameraState.DEGRADED, onvif_problem[0]
            message = f"{onvif_problem[1]} (the stream works)"
        if (state is CameraState.UP and clock_offset is not None
                and abs(clock_offset) > self.checks.max_clock_skew_s):
            state, reason = CameraState.DEGRADED, Reason.CLOCK_SKEW
            message = f"camera clock of {camera.address} is {_human_offset(clock_offset)}"
        return ProbeResult(camera.id, at, state, reason, message, tuple(steps), details,
                           fps=fps, clock_offset_s=clock_offset)

    def forget(self, camera_id: str) -> None:
        """Drop what is remembered about a camera."""
        self._previous.pop(camera_id, None)
        self._cred_index.pop(camera_id, None)
        self.drift.forget(camera_id)
        self.isolated.discard(camera_id)


def _human_offset(seconds: float) -> str:
    ahead = "ahead" if seconds > 0 else "behind"
    s = abs(seconds)
    if s >= 86400:
        return f"{s / 86400:.0f} days {ahead}"
    if s >= 3600:
        return f"{s / 3600:.0f} h {ahead}"
    return f"{s / 60:.0f} min {ahead}"


async def _none() -> None:
    return None
