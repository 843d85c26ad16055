"""A real segment recorder for recording-health tests: GStreamer recording an RTSP stream.

``gst-launch-1.0 rtspsrc ! rtph264depay ! h264parse ! splitmuxsink`` writes MPEG-TS
segments of ``segment_s`` seconds into a directory, as a site's FFmpeg/GStreamer recorder
does. :func:`small_disk` gives a tiny tmpfs to record into when the test may mount one
(root in a mount namespace), so filling it is filling a real filesystem.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SegmentRecorder", "small_disk"]


class SegmentRecorder:
    """gst-launch-1.0 recording ``uri`` into ``directory/seg%05d.ts``."""

    def __init__(self, uri: str, directory: Path, segment_s: float = 1.0) -> None:
        self.uri = uri
        self.directory = directory
        self.segment_ns = int(segment_s * 1e9)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SegmentRecorder:
        """Start recording (returns at once; segments appear within a second or two)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("gst-launch-1.0")
        assert binary is not None, "gst-launch-1.0 is installed by scripts/setup.sh"
        self._proc = subprocess.Popen(
            [binary, "-q", "rtspsrc", f"location={self.uri}", "latency=0", "protocols=tcp", "!",
             "rtph264depay", "!", "h264parse", "!", "splitmuxsink",
             f"location={self.directory / 'seg%05d.ts'}", "muxer=mpegtsmux",
             f"max-size-time={self.segment_ns}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        return self

    def segments(self) -> list[Path]:
        """Segment files written so far, oldest name first."""
        return sorted(p for p in self.directory.glob("seg*.ts") if p.stat().st_size > 0)

    def stop(self) -> None:
        """Kill the recorder (a crashed recorder, not a clean end of recording)."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
        self._proc = None


@contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[tuple[Path, bool]]:
    """A tmpfs of ``size`` at ``where`` when mounting is allowed: (path, True); else (where, False)."""
    where.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    mounted = False
    if mount is not None and os.geteuid() == 0:
        done = subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                              capture_output=True, timeout=10)
        mounted = done.returncode == 0
    try:
        yield where, mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=10)
