"""A recorder the agent runs beside: segments a local FFmpeg, GStreamer, ZoneMinder, Shinobi
or Frigate write into a directory.

Per camera a glob under the recording root (Frigate: ``recordings/*/*/<camera>/*.mp4``;
a splitmuxsink or ``ffmpeg -f segment``: ``<camera>/*.ts``): the newest segment's mtime is
the newest recorded time (a recorder appends to its open segment), the oldest segment's
mtime the oldest kept time, and the largest step between consecutive mtimes in the last day
a gap. Free space comes from statvfs, disk health from smartctl when configured. Everything
runs in a worker thread: tens of thousands of stat calls must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from protocol import StorageStatus

from .base import ChannelRecording, RecorderReading, RecordingError, StorageReading
from .settings import RecorderConfig
from .smart import read_smart

__all__ = ["DirectorySource", "scan_segments"]

logger = logging.getLogger(__name__)

GAP_WINDOW_S = 86400.0  # gaps are looked for in the last day only


@dataclass(frozen=True, slots=True)
class _Scan:
    channels: dict[str, ChannelRecording]
    free: int
    total: int


def scan_segments(paths: list[str], now: datetime) -> ChannelRecording | None:
    """Newest, oldest and the largest recent gap of a set of segment files (None when empty)."""
    stamps: list[float] = []
    for path in paths:
        try:
            stamps.append(os.stat(path).st_mtime)
        except OSError:  # deleted between glob and stat (the recorder's own clean-up)
            continue
    if not stamps:
        return None
    stamps.sort()
    since = now.timestamp() - GAP_WINDOW_S
    recent = [s for s in stamps if s >= since]
    gap = max((b - a for a, b in zip(recent, recent[1:], strict=False)), default=0.0)
    return ChannelRecording(
        newest=datetime.fromtimestamp(stamps[-1], UTC),
        oldest=datetime.fromtimestamp(stamps[0], UTC),
        largest_gap_s=gap if len(recent) > 1 else None,
    )


class DirectorySource:
    """RecordingSource over a local recording directory."""

    def __init__(self, config: RecorderConfig) -> None:
        assert config.path is not None  # the settings refuse a directory recorder without one
        self._config = config
        self._root = Path(config.path)

    @property
    def recorder_id(self) -> str:
        """The recorder's id from the agent config."""
        return self._config.id

    def _files(self, camera_id: str, channel: str) -> list[str]:
        pattern = channel or f"{glob.escape(camera_id)}/**/*"
        found = glob.glob(pattern, root_dir=self._root, recursive=True)
        return [p for p in (os.path.join(self._root, f) for f in found) if not os.path.isdir(p)]

    def _scan(self, now: datetime) -> _Scan:
        try:
            vfs = os.statvfs(self._root)
        except OSError as err:
            raise RecordingError(f"recorder {self.recorder_id}: cannot read {self._root}: {err.strerror}") from err
        channels: dict[str, ChannelRecording] = {}
        for cam_id, where in self._config.cameras.items():
            found = scan_segments(self._files(cam_id, where.channel), now)
            if found is not None:
                channels[cam_id] = found
        return _Scan(channels, vfs.f_bavail * vfs.f_frsize, vfs.f_blocks * vfs.f_frsize)

    async def read(self, now: datetime) -> RecorderReading:
        """Scan the directory (in a thread) and read the disk's health when configured."""
        scan = await asyncio.to_thread(self._scan, now)
        status, detail = StorageStatus.OK, ""
        device = self._config.smartctl_device
        if device:
            passed, detail = await read_smart(device, self._config.timeout_s)
            if passed is False:
                status = StorageStatus.FAULT
            elif passed is None:
                logger.info("recorder %s: disk health unread: %s", self.recorder_id, detail)
        storage = StorageReading(status=status, free_bytes=scan.free, total_bytes=scan.total, detail=detail[:200])
        return RecorderReading(storage=storage, channels=scan.channels)
