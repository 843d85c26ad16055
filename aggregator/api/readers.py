"""Read-only database connections for the API: one per request, each read in one snapshot.

Readers never wait on the writer. A request borrows a connection of its own (``query_only``),
opens a read transaction on it (one WAL snapshot: every query of the request sees the same
committed state, whatever the writer commits meanwhile) and gives it back at the end. No
lock the writer holds is ever taken here (the writer's memory is not read under its lock).

Bounds: a read that runs past ``timeout_s`` is interrupted by SQLite's progress handler and
the API answers 503 with ``Retry-After`` (:class:`StoreBusy`, :mod:`aggregator.api.errors`);
so is one that cannot get a snapshot within it (busy). A snapshot held longer than
``report_s`` holds back WAL checkpoints (they resume when it ends): it is logged and counted
in ``long_reads`` (``camwatch_api_long_reads_total`` in /metrics).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from aggregator.schema import open_db

__all__ = ["RETRY_AFTER_S", "ReaderPool", "StoreBusy"]

logger = logging.getLogger(__name__)

# What a busy answer tells the client to wait before asking again.
RETRY_AFTER_S = 2
# SQLite virtual-machine steps between two looks at the deadline (~a millisecond of work).
_PROGRESS_STEPS = 20_000
# Idle connections kept for the next requests (more are opened under load and closed after).
_KEEP_IDLE = 16


class StoreBusy(Exception):
    """The store could not answer within the read bound: the API says 503, retry later."""


class ReaderPool:
    """Read-only connections lent one per request (:meth:`reading`).

    ``close`` (at the app's shutdown) closes every idle connection and starts a new
    generation: a connection lent before it is closed when it comes back, so an app served
    again (a second lifespan, a second test client) opens fresh ones.
    """

    def __init__(self, path: Path, *, timeout_s: float = 5.0, report_s: float = 30.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.report_s = report_s
        self.long_reads = 0  # snapshots held past report_s (a metric)
        self.busy = 0  # reads refused with 503 (a metric)
        self._idle: list[Database] = []
        self._lock = threading.Lock()
        self._generation = 0

    def _open(self) -> Database:
        db = open_db(self.path, migrate=False)
        db.execute("PRAGMA query_only = ON")  # a reader can never change the database
        # many requests may each hold a reader: 16 MiB of page cache each keeps RSS bounded
        db.execute("PRAGMA cache_size = -16384")
        db.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        return db

    def _borrow(self) -> tuple[Database, int]:
        with self._lock:
            generation = self._generation
            if self._idle:
                return self._idle.pop(), generation
        return self._open(), generation

    def _give_back(self, db: Database, generation: int) -> None:
        with self._lock:
            if generation == self._generation and len(self._idle) < _KEEP_IDLE:
                self._idle.append(db)
                return
        db.close()

    @contextmanager
    def reading(self, timeout_s: float | None = None) -> Iterator[Database]:
        """A connection for this request, inside one read snapshot, bounded by ``timeout_s``
        (the pool's bound unless a longer read, a national report, names its own)."""
        db, generation = self._borrow()
        conn = db.conn
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
        started = time.monotonic()
        healthy = True
        try:
            try:
                conn.execute("BEGIN")
            except sqlite3.OperationalError as err:
                raise StoreBusy(str(err)) from err
            yield db  # a busy error inside the request reaches the app's handler (503) as it is
        finally:
            conn.set_progress_handler(None, 0)
            held = time.monotonic() - started
            try:
                if conn.in_transaction:
                    conn.rollback()  # a reader has nothing to commit; this ends the snapshot
            except sqlite3.Error:
                healthy = False
            if held > self.report_s:
                self.long_reads += 1
                logger.warning("an API read held its snapshot %.1f s (over %.0f s): WAL checkpoints waited for it",
                               held, self.report_s)  # fmt: skip
            if healthy:
                self._give_back(db, generation)
            else:
                db.close()

    def refused(self, err: Exception) -> None:
        """Count and log a read the store could not answer in time."""
        self.busy += 1
        logger.warning("an API read was refused as busy (bound %.1f s): %s", self.timeout_s, err)

    def close(self) -> None:
        """Close the idle connections; those lent now are closed when they come back."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()


def is_busy(err: sqlite3.Error) -> bool:
    """Whether ``err`` means "not now" (interrupted at the deadline, locked, busy), not a fault."""
    text = str(err).lower()
    return "interrupted" in text or "locked" in text or "busy" in text
