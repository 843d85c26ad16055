"""Schedule checks for every camera, confirm state changes, hand them to the event sink.

One asyncio loop; each camera has its own task that checks it every ``interval_s`` (plus a
random jitter, so 64 cameras do not all open their streams in the same second), and a
semaphore caps how many checks run at once. Every check has a hard deadline: a camera
whose ONVIF or RTSP hangs costs its own slot for that long and never delays the others.
OpenCV work runs in threads; the runner gives the loop a thread pool large enough that
a thread stuck in FFmpeg cannot starve the other cameras.

Usage::

    runner = Runner(config, secrets, sink=PrintSink())
    results = await runner.check_all()          # one pass (``camwatch-agent check``)
    await runner.run(stop_event)                # until stop_event is set (``run``)
    runner.current_snapshot()                   # -> list[protocol.BirthCamera]
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import ValidationError

from protocol import BirthCamera, CameraInventory, CameraState, Reason

from .config import AgentConfig, CameraConfig, Credential, Secrets
from .frames import OUTER_GRACE_S
from .health import HealthTracker
from .inventory import read_inventory
from .models import EventSink, ProbeResult, StateChange, StepResult
from .probes import Prober
from .recording.monitor import RecordingMonitor
from .recording.sources import build_sources
from .references import ReferenceStore

__all__ = ["InventoryReader", "Runner", "check_deadline"]

logger = logging.getLogger(__name__)

# Extra worker threads beyond the concurrency: room for grabs whose FFmpeg call is stuck
# past its outer deadline (each such thread is abandoned, not killed, by Python).
SPARE_THREADS = 8
# Maker, model, firmware and serial change rarely (a firmware upgrade, a swapped camera):
# reading them at start and every 6 h keeps births current at ~10 SOAP calls per camera.
INVENTORY_REFRESH_S = 6 * 3600.0
# A camera clock that jumps by more than this between two checks was reset: the camera
# rebooted (cameras without a battery-backed clock start at 1970 or their build date, and
# one syncing NTP after boot jumps back). Well above drift and our own check-to-check noise.
REBOOT_CLOCK_JUMP_S = 120.0

# (camera_id, address, onvif port, video source, [(user, password), ...]) -> inventory or None
InventoryReader = Callable[
    [str, str, int, str, Sequence[tuple[str, str]]], Awaitable[CameraInventory | None]
]


def check_deadline(config: AgentConfig) -> float:
    """Longest one camera check may take: every step's timeout plus grace, summed."""
    c = config.checks
    packets = c.drift.bitrate_packets if c.drift.enabled else 0
    stream = c.rtsp_open_timeout_s + c.rtsp_read_timeout_s * (c.burst_frames + packets) + OUTER_GRACE_S
    # TCP, then ONVIF beside (stream, DESCRIBE diagnosis, one retry), then a snapshot.
    return c.tcp_timeout_s + max(c.onvif_timeout_s, 2 * stream + c.rtsp_open_timeout_s) + (
        c.snapshot_timeout_s + c.tcp_timeout_s
    )


class Runner:
    """Check all configured cameras, once or forever, feeding the health tracker and sink."""

    def __init__(
        self,
        config: AgentConfig,
        secrets: Secrets | None,
        sink: EventSink,
        *,
        prober: Prober | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        deadline_s: float | None = None,
        inventory: InventoryReader | None = read_inventory,
        recording: RecordingMonitor | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.sink = sink
        self.clock = clock
        self.inventory: dict[str, CameraInventory] = {}
        self.prober = prober or Prober(
            config.checks, references=ReferenceStore(config.state_dir / "references"), clock=clock,
            site=(config.site.lat, config.site.lon), profiles=self.inventory,
        )
        self.health = HealthTracker(config.health)
        self.started = clock()
        self.last: dict[str, ProbeResult] = {}
        self.on_result: Callable[[ProbeResult], None] | None = None
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(config.checks.concurrency)
        self._deadline = deadline_s if deadline_s is not None else check_deadline(config)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_loop: asyncio.AbstractEventLoop | None = None
        self._inventory_reader = inventory
        # Recording health (issue 16): read on its own cadence, applied on every live check.
        if recording is None and config.recording.recorders:
            recording = RecordingMonitor(config.recording, build_sources(config, secrets), clock=clock)
        self.recording = recording
        # Change events for the centre (aggregator/store/changes.py): reboots seen here, and a
        # callback (the publisher's request_birth) when a camera's identity or reboot changes.
        self.reboots: dict[str, datetime] = {}
        self.on_identity_change: Callable[[], None] | None = None
        self._reread: set[str] = set()

    @property
    def cameras(self) -> list[CameraConfig]:
        """The cameras this runner checks (enabled ones)."""
        return [cam for cam in self.config.cameras if cam.enabled]

    def _credentials(self, camera: CameraConfig) -> Sequence[Credential]:
        return self.secrets.for_camera(camera) if self.secrets is not None else ()

    def _install_executor(self) -> None:
        # One pool per event loop: asyncio.run() shuts the loop's default executor down.
        loop = asyncio.get_running_loop()
        if self._executor is None or self._executor_loop is not loop:
            workers = self.config.checks.concurrency + SPARE_THREADS
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="camwatch-grab")
            loop.set_default_executor(self._executor)
            self._executor_loop = loop

    async def check_camera(self, camera: CameraConfig) -> ProbeResult:
        """Check one camera within the semaphore and its hard deadline; record the outcome."""
        async with self._semaphore:
            start = time.monotonic()
            at = self.clock()
            try:
                result = await asyncio.wait_for(
                    self.prober.probe(camera, self._credentials(camera)), self._deadline
                )
            except TimeoutError:
                logger.error("%s: check did not finish within %.0f s", camera.id, self._deadline)
                result = ProbeResult(
                    camera.id, at, CameraState.DOWN, Reason.STREAM_FAILED,
                    f"{camera.address} hangs: check did not finish within {self._deadline:.0f} s",
                    (StepResult("deadline", False, time.monotonic() - start),),
                )
        result = self._record(result)
        if camera.id in self._reread:
            self._reread.discard(camera.id)
            await self.refresh_inventory({camera.id})
        return result

    def _with_recording(self, result: ProbeResult) -> ProbeResult:
        """A live-fine camera whose footage is not recorded as required is degraded, never up."""
        if self.recording is None or result.state is not CameraState.UP:
            return result
        verdict = self.recording.verdict(result.camera_id)
        if verdict is None:
            return result
        return replace(result, state=CameraState.DEGRADED, reason=verdict.reason, message=verdict.message)

    def _record(self, result: ProbeResult) -> ProbeResult:
        """Apply the recording verdict, keep and confirm the result; return what was recorded."""
        result = self._with_recording(result)
        before = self.last.get(result.camera_id)
        if (before is not None and before.clock_offset_s is not None and result.clock_offset_s is not None
                and abs(result.clock_offset_s - before.clock_offset_s) > REBOOT_CLOCK_JUMP_S):
            logger.info("%s: camera clock jumped by %.0f s: it rebooted", result.camera_id,
                        result.clock_offset_s - before.clock_offset_s)
            self.reboots[result.camera_id] = result.at
            self._identity_changed()
        self.last[result.camera_id] = result
        if result.state is not CameraState.UP:
            logger.debug("%s: %s %s: %s", result.camera_id, result.state.value, result.reason.value,
                         result.message)
        change = self.health.observe(result)
        if change is not None:
            self._emit(change)
            if change.previous is CameraState.DOWN and change.state is not CameraState.DOWN:
                self._reread.add(result.camera_id)  # back after an outage: swapped? re-read it
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _emit(self, change: StateChange) -> None:
        level = logging.INFO if change.state is CameraState.UP else logging.WARNING
        logger.log(level, "%s: %s -> %s (%s) since %s", change.camera_id, change.previous.value,
                   change.state.value, change.reason.value, change.at.isoformat(timespec="seconds"))
        try:
            self.sink.record(change)
        except Exception:  # the sink is another module's; its trouble must not stop checks
            logger.exception("%s: event sink refused a state change", change.camera_id)

    async def check_all(self, *, jitter: bool = False) -> list[ProbeResult]:
        """Check every camera once (bounded concurrency), in config order."""
        self._install_executor()

        async def one(camera: CameraConfig) -> ProbeResult:
            if jitter and self.config.checks.jitter_s > 0:
                await asyncio.sleep(self._rng.uniform(0, self.config.checks.jitter_s))
            return await self.check_camera(camera)

        return list(await asyncio.gather(*(one(cam) for cam in self.cameras)))

    def _identity_changed(self) -> None:
        if self.on_identity_change is not None:
            try:
                self.on_identity_change()
            except Exception:  # the publisher's trouble must not stop checks
                logger.exception("identity change callback failed")

    async def refresh_inventory(self, only: set[str] | None = None) -> int:
        """Read every ONVIF camera's inventory (maker, model, firmware, serial, MAC); count read.

        ``only``: just these cameras. A serial or firmware that differs from the last read
        (camera replaced, firmware changed) asks for a fresh birth (``on_identity_change``)."""
        reader = self._inventory_reader
        if reader is None:
            return 0
        changed: list[str] = []

        async def one(cam: CameraConfig) -> None:
            assert reader is not None and cam.onvif_port is not None
            pairs = [(c.username, c.password.get_secret_value()) for c in self._credentials(cam)]
            async with self._semaphore:
                try:
                    found = await asyncio.wait_for(
                        reader(cam.id, cam.address, cam.onvif_port, cam.video_source, pairs),
                        self._deadline,
                    )
                except TimeoutError:
                    logger.info("%s: inventory not read within %.0f s", cam.id, self._deadline)
                    return
            if found is not None:
                old = self.inventory.get(cam.id)
                if old is not None and (old.serial, old.firmware) != (found.serial, found.firmware):
                    logger.warning("%s: identity changed: serial %s -> %s, firmware %s -> %s", cam.id,
                                   old.serial, found.serial, old.firmware, found.firmware)
                    changed.append(cam.id)
                    forget = getattr(self.prober, "forget", None)
                    if forget is not None:  # another unit: its drift figures start afresh
                        forget(cam.id)
                self.inventory[cam.id] = found

        await asyncio.gather(*(one(c) for c in self.cameras
                               if c.onvif_port is not None and (only is None or c.id in only)))
        if changed:
            self._identity_changed()
        return sum(1 for c in self.cameras if c.id in self.inventory)

    async def _inventory_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                count = await self.refresh_inventory()
                logger.info("%s: inventory read for %d cameras", self.config.site.site_id, count)
            except Exception:  # optional data: never let it end the agent
                logger.exception("%s: inventory refresh failed", self.config.site.site_id)
            if await _stopped(stop, INVENTORY_REFRESH_S):
                return

    async def _camera_loop(self, camera: CameraConfig, stop: asyncio.Event) -> None:
        interval = self.config.checks.interval_s
        jitter = self.config.checks.jitter_s
        # Spread first checks over the jitter window, then keep a steady period.
        due = time.monotonic() + self._rng.uniform(0, jitter)
        night = getattr(self.prober, "night", None)
        while not stop.is_set():
            delay = due - time.monotonic()
            if night is not None:  # no night may pass without a check in darkness
                shorter = night.delay_s(camera.id, self.clock(), delay)
                due -= delay - shorter
                delay = shorter
            if delay > 0 and await _stopped(stop, delay):
                return
            await self.check_camera(camera)
            due += interval
            now = time.monotonic()
            if due < now:  # the check overran its interval: skip, do not pile up
                logger.warning("%s: check took longer than the %.0f s interval", camera.id, interval)
                due = now + self._rng.uniform(0, jitter)

    async def run(self, stop: asyncio.Event) -> None:
        """Check every camera every interval until ``stop`` is set; cancel checks in flight."""
        self._install_executor()
        logger.info("%s: checking %d cameras every %.0f s (%d at a time)", self.config.site.site_id,
                    len(self.cameras), self.config.checks.interval_s, self.config.checks.concurrency)
        tasks = [asyncio.create_task(self._camera_loop(cam, stop), name=f"camera-{cam.id}")
                 for cam in self.cameras]
        tasks.append(asyncio.create_task(self._inventory_loop(stop), name="inventory"))
        if self.recording is not None:
            tasks.append(asyncio.create_task(self.recording.run(stop), name="recording"))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.close()
            logger.info("%s: stopped", self.config.site.site_id)

    def close(self) -> None:
        """Release grab threads and processes (never waiting for one stuck in FFmpeg)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        close = getattr(self.prober, "close", None)
        if close is not None:
            close()

    def current_snapshot(self) -> list[BirthCamera]:
        """Every configured camera with its confirmed state, for births and heartbeats."""
        out = []
        for cam in self.config.cameras:
            health = self.health.get(cam.id)
            last = self.last.get(cam.id)
            figures: dict[str, object] = {
                "address": cam.address, "onvif_port": cam.onvif_port,
            }
            for key, value in (("video_source", cam.video_source), ("stream_uri", cam.stream_uri),
                               ("snapshot_uri", cam.snapshot_uri)):
                if value:
                    figures[key] = value
            if cam.id in self.reboots:
                figures["rebooted_at"] = self.reboots[cam.id]
            if last is not None:
                measured: tuple[tuple[str, object], ...] = (
                    ("width", last.width), ("height", last.height),
                    ("fps", round(last.fps, 2) if last.fps is not None else None),
                    ("codec", last.codec[:32]), ("clock_offset_s", last.clock_offset_s))
                for key, measured_value in measured:
                    if measured_value not in (None, ""):
                        figures[key] = measured_value
            # ONVIF identity (maker, serial, ...) merged with what this agent measured itself.
            base = self.inventory.get(cam.id)
            known = base.model_dump() if base is not None else {}
            try:
                inventory = CameraInventory.model_validate(known | figures)
            except ValidationError as err:  # e.g. a 200-character host name: send less, not nothing
                logger.debug("%s: inventory figures left out of the birth: %s", cam.id, err)
                inventory = base or CameraInventory()
            state = health.state if cam.enabled else CameraState.MAINTENANCE
            out.append(BirthCamera(
                camera_id=cam.id, name=cam.name, inventory=inventory, state=state,
                reason=health.reason if cam.enabled else Reason.PLANNED,
                since=health.since or self.started,
            ))
        return out


async def _stopped(stop: asyncio.Event, delay: float) -> bool:
    """Sleep ``delay`` seconds unless ``stop`` is set first; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return False
    return True
