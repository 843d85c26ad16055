"""Background WAL checkpoints: copy committed pages into the database file off the writer's thread.

In WAL mode every commit appends pages to the -wal file; a checkpoint copies them back into
the database and syncs it. SQLite's automatic checkpoint runs inside the committing
transaction, so the one writer (and with it ingest) stalls for the copy and the sync. Here a
thread with its own connection runs PASSIVE checkpoints (they never wait for the writer or
the readers) every ``interval_s``; the sqlite3 module releases the GIL meanwhile, so the copy
runs on another core while the writer goes on. Measured at 998,400 cameras
(bench/aggregator_bench.py write path, 16-event site messages): 123k -> 150k statuses/s.

The writer keeps an automatic checkpoint as a backstop (:data:`WRITER_BACKSTOP_PAGES`), so the
WAL stays bounded even if this thread stops.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["CHECKPOINT_INTERVAL_S", "WRITER_BACKSTOP_PAGES", "Checkpointer"]

logger = logging.getLogger(__name__)

# Often enough that the WAL holds a second or two of commits (tens of MiB at full rate), rarely
# enough that an idle aggregator does next to nothing.
CHECKPOINT_INTERVAL_S = 0.5
# The writer's own automatic checkpoint when this thread runs: ~1 GiB of 4 KiB pages, reached
# only if the background checkpoints stop keeping up.
WRITER_BACKSTOP_PAGES = 250_000
# A checkpoint waits this long for a lock (PASSIVE takes none it must wait for; the final
# TRUNCATE on stop does).
_BUSY_TIMEOUT_S = 10.0


class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection every ``interval_s``.

    Example::

        checkpointer = Checkpointer("camwatch.db").start()  # while the writer commits
        checkpointer.stop()  # a last full checkpoint, the WAL truncated
    """

    def __init__(self, path: str | Path, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.path = str(path)
        self.interval_s = interval_s
        self.checkpoints = 0  # completed calls (what /metrics and tests can read)
        self.pages = 0  # WAL frames copied back by them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._conn: sqlite3.Connection | None = None

    def start(self) -> Checkpointer:
        """Open the connection and start the thread."""
        self._conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        self._thread.start()
        return self

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint now: ``(busy, wal_frames, frames_checkpointed)`` as SQLite reports it."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        if self._conn is None:
            raise RuntimeError("checkpointer not started")
        busy, log, done = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        self.checkpoints += 1
        self.pages += max(0, int(done))
        return int(busy), int(log), int(done)

    def stop(self) -> None:
        """Stop the thread, then checkpoint everything and truncate the WAL (on shutdown)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self._conn is None:
            return
        try:
            self.checkpoint("TRUNCATE")
        except sqlite3.Error as err:  # the writer may still hold it; the next start copes
            logger.warning("checkpoint: final checkpoint failed: %s", err)
        self._conn.close()
        self._conn = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.checkpoint()
            except sqlite3.Error as err:  # busy or locked for a moment: the next tick retries
                logger.warning("checkpoint: %s", err)
