"""Read-only database connections for the API: one per server thread."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlite_utils import Database

from aggregator.schema import open_db

__all__ = ["ReaderPool"]


class ReaderPool:
    """One read connection per server thread (SQLite connections are not shared).

    ``close`` (at the app's shutdown) closes every connection and starts a new generation:
    a thread still holding a closed one opens a fresh one on its next request, so an app
    served again (a second lifespan, a second test client) does not answer 500.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[Database] = []
        self._lock = threading.Lock()
        self._generation = 0

    def get(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "generation", -1) != self._generation:
            db = None  # closed by a shutdown since this thread opened it
        if db is None:
            db = open_db(self.path, migrate=False)
            db.execute("PRAGMA query_only = ON")  # a reader can never change the database
            # up to 40 server threads each hold a reader: 16 MiB of page cache each keeps RSS bounded
            db.execute("PRAGMA cache_size = -16384")
            with self._lock:
                self._local.db = db
                self._local.generation = self._generation
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            for db in self._all:
                db.close()
            self._all.clear()
