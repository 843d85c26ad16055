"""The agent's outbox on a really full disk (issue 13): one log line entering full-disk mode
and one leaving it, the latest state of every camera kept, what was merged reported in the
next heartbeat's count, and everything written once space returns.

As root (CI) the outbox lives on a 1 MiB tmpfs the test mounts and fills with a file;
otherwise SQLite's ``max_page_count`` makes the same SQLITE_FULL on the same code path.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.outbox import Outbox
from protocol import CameraState, Reason
from tests.rig.transport import Change

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T0 = datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
CAMERAS = [f"cam-{i:02d}" for i in range(10)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[[Outbox], None], Callable[[Outbox], None]]]:
    """(directory, fill(box), free(box)): a tiny filesystem, or SQLite's page limit when not root."""
    where = tmp_path / "fs"
    where.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], check=True)
        filler = where / "filler"

        def fill(box: Outbox) -> None:
            try:
                with filler.open("wb") as f:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
            except OSError:
                pass  # ENOSPC: the disk is full

        def free(box: Outbox) -> None:
            filler.unlink()

        try:
            yield where, fill, free
        finally:
            subprocess.run(["umount", "-l", str(where)], check=False)
    else:
        def limit(box: Outbox) -> None:
            pages = box._db.execute("PRAGMA page_count").fetchone()[0]
            box._db.execute(f"PRAGMA max_page_count = {pages}")

        def unlimit(box: Outbox) -> None:
            box._db.execute("PRAGMA max_page_count = 1073741823")

        yield where, limit, unlimit


def test_full_disk_logs_once_keeps_the_latest_states_reports_merges_and_recovers(
    small_disk: tuple[Path, Callable[[Outbox], None], Callable[[Outbox], None]], caplog: pytest.LogCaptureFixture
) -> None:
    where, fill, free = small_disk
    box = Outbox(where / "outbox.db")
    note = {"note": "x" * 200}
    for i, camera in enumerate(CAMERAS):  # a few rows before the disk fills
        box.record(Change(camera, CameraState.UP, Reason.NONE, T0 + timedelta(seconds=i), note))
    fill(box)
    latest: dict[str, Change] = {}
    caplog.set_level(logging.DEBUG, logger="agent.outbox")
    for n in range(3000):
        camera = CAMERAS[n % len(CAMERAS)]
        state = CameraState.DOWN if (n // len(CAMERAS)) % 2 else CameraState.UP
        change = Change(camera, state, Reason.UNREACHABLE if state is CameraState.DOWN else Reason.NONE,
                        T0 + timedelta(minutes=1, seconds=n), note)  # fmt: skip
        box.record(change)  # never raises
        latest[camera] = change
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(errors) == 1 and "disk full" in errors[0].getMessage()
    assert len(warnings) <= 2  # the first failed write and at most one compaction
    assert box.disk_full and box.held_in_memory() == len(CAMERAS)
    reported = box.take_compacted()  # what the next heartbeat says, while the disk is still full
    assert reported >= 3000 - 2 * len(CAMERAS) - box.depth()
    assert box.take_compacted() == 0  # never reported twice
    caplog.clear()
    free(box)
    box.record(Change(CAMERAS[0], CameraState.UP, Reason.NONE, T0 + timedelta(hours=2), note))
    latest[CAMERAS[0]] = Change(CAMERAS[0], CameraState.UP, Reason.NONE, T0 + timedelta(hours=2), note)
    assert not box.disk_full and box.held_in_memory() == 0
    back = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(back) == 1 and "room again" in back[0]
    queued = box.pending(limit=100_000)
    for camera, change in latest.items():
        last = [e for e in queued if e.camera_id == camera][-1]
        assert (last.state, last.at) == (change.state, change.at), camera
    assert box.take_compacted() == 0  # the merges were reported once, while the disk was full
    box.close()
