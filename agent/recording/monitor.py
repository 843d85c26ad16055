"""Read every configured recorder on the recording cadence and keep each camera's verdict.

The runner asks :meth:`RecordingMonitor.verdict` on every live check (a cheap dict look-up)
and turns a live ``up`` into ``degraded`` with the recording reason, so the existing
hysteresis confirms it like any other reason. Recorders are read concurrently, each within
its own budget; one that cannot be read leaves its cameras without a recording verdict
(unknown is not a fault) and is logged once when it starts and stops failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from protocol import CameraRecording, RecorderStorage

from .assess import Limits, Verdict, assess, kept_days
from .base import RecorderReading, RecordingError, RecordingSource
from .settings import RecorderConfig, RecordingConfig

__all__ = ["RecordingMonitor", "read_budget"]

logger = logging.getLogger(__name__)


def read_budget(config: RecorderConfig) -> float:
    """Longest one read of a recorder may take: a few calls at its timeout, plus grace."""
    return config.timeout_s * 6 + 2.0


class RecordingMonitor:
    """Recording verdicts and heartbeat figures for every camera under a recorder."""

    def __init__(
        self,
        config: RecordingConfig,
        sources: Sequence[RecordingSource],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.clock = clock
        self._sources = {s.recorder_id: s for s in sources}
        self._recorders = {r.id: r for r in config.recorders}
        self.readings: dict[str, RecorderReading] = {}
        self._verdicts: dict[str, Verdict] = {}
        self._failing: set[str] = set()
        self._checked_at: datetime | None = None

    def verdict(self, camera_id: str) -> Verdict | None:
        """The camera's recording reason from the last read, None when fine or unknown."""
        return self._verdicts.get(camera_id)

    async def check(self) -> None:
        """Read every recorder once (concurrently) and recompute every camera's verdict."""
        now = self.clock()
        ids = list(self._sources)
        results = await asyncio.gather(*(self._read(rid, now) for rid in ids))
        verdicts: dict[str, Verdict] = {}
        for rid, reading in zip(ids, results, strict=True):
            if reading is None:
                self.readings.pop(rid, None)
                continue
            self.readings[rid] = reading
            rec = self._recorders[rid]
            for cam_id, where in rec.cameras.items():
                limits = Limits(
                    not_recording_after_s=self.config.not_recording_after_s,
                    retention_days=self.config.retention_days if where.retention_days is None else where.retention_days,
                    gap_after_s=self.config.gap_after_s,
                    min_free_bytes=rec.min_free_bytes,
                )
                found = assess(rid, reading.channels.get(cam_id), reading.storage, limits, now)
                if found is not None:
                    verdicts[cam_id] = found
        for cam_id in verdicts.keys() - self._verdicts.keys():
            logger.info("%s: %s: %s", cam_id, verdicts[cam_id].reason.value, verdicts[cam_id].message)
        self._verdicts = verdicts
        self._checked_at = now

    async def _read(self, rid: str, now: datetime) -> RecorderReading | None:
        budget = read_budget(self._recorders[rid])
        try:
            reading = await asyncio.wait_for(self._sources[rid].read(now), budget)
        except RecordingError as err:
            self._failed(rid, str(err))
            return None
        except TimeoutError:
            self._failed(rid, f"recorder {rid}: no answer within {budget:g} s")
            return None
        except Exception:  # a backend's bug must not end the agent's live checks
            logger.exception("recorder %s: reading failed", rid)
            self._failed(rid, f"recorder {rid}: reading failed")
            return None
        if rid in self._failing:
            self._failing.discard(rid)
            logger.warning("recorder %s: readable again", rid)
        return reading

    def _failed(self, rid: str, why: str) -> None:
        if rid not in self._failing:
            self._failing.add(rid)
            logger.warning("%s (recording state of its cameras unknown until it answers)", why)
        else:
            logger.debug("%s", why)

    def figures(self) -> tuple[dict[str, CameraRecording], dict[str, RecorderStorage]]:
        """Per-camera recording figures and per-recorder storage for the heartbeat."""
        now = self._checked_at or self.clock()
        cameras: dict[str, CameraRecording] = {}
        storage: dict[str, RecorderStorage] = {}
        for rid, reading in self.readings.items():
            rec = self._recorders[rid]
            if reading.storage is not None:
                s = reading.storage
                storage[rid] = RecorderStorage(status=s.status, free_bytes=s.free_bytes,
                                               total_bytes=s.total_bytes, detail=s.detail[:200])
            for cam_id, where in rec.cameras.items():
                channel = reading.channels.get(cam_id)
                kept = kept_days(channel, now)
                required = self.config.retention_days if where.retention_days is None else where.retention_days
                try:
                    cameras[cam_id] = CameraRecording(
                        recorder=rid,
                        newest=channel.newest if channel else None,
                        oldest=channel.oldest if channel else None,
                        retention_required_days=required,
                        retention_kept_days=None if kept is None else round(min(kept, 36500.0), 3),
                    )
                except ValidationError as err:  # e.g. a recorder whose clock says 1970
                    logger.debug("%s: recording figures left out: %s", cam_id, err)
                    cameras[cam_id] = CameraRecording(recorder=rid, retention_required_days=required)
        return cameras, storage

    async def run(self, stop: asyncio.Event) -> None:
        """Check now, then every ``interval_s`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # never let the recording check end the agent
                logger.exception("recording check failed")
            try:
                await asyncio.wait_for(stop.wait(), self.config.interval_s)
            except TimeoutError:
                continue
