"""The background checkpointer copies the writer's WAL back while the writer goes on, and truncates it on stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aggregator.schema import open_db
from aggregator.store.checkpointer import Checkpointer


def _writer(path: Path):  # type: ignore[no-untyped-def]
    db = open_db(path, migrate=False)
    db.execute("PRAGMA wal_autocheckpoint = 0")  # only the checkpointer copies pages back
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    return db


def test_one_checkpoint_copies_every_committed_frame(tmp_path: Path) -> None:
    db = _writer(tmp_path / "a.db")
    with db.conn:
        db.conn.executemany("INSERT INTO t(v) VALUES (?)", [("x" * 200,)] * 2000)
    wal = tmp_path / "a.db-wal"
    assert wal.stat().st_size > 100_000
    checkpointer = Checkpointer(tmp_path / "a.db", interval_s=3600).start()
    try:
        busy, frames, copied = checkpointer.checkpoint()
        assert (busy, copied) == (0, frames) and frames > 0
        assert checkpointer.pages == frames
    finally:
        checkpointer.stop()
    assert wal.stat().st_size == 0  # truncated on stop
    assert open_db(tmp_path / "a.db", migrate=False).execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2000


def test_the_thread_keeps_up_while_the_writer_commits(tmp_path: Path) -> None:
    db = _writer(tmp_path / "b.db")
    checkpointer = Checkpointer(tmp_path / "b.db", interval_s=0.01).start()
    try:
        for _ in range(50):
            with db.conn:
                db.conn.executemany("INSERT INTO t(v) VALUES (?)", [("y" * 200,)] * 100)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and checkpointer.checkpoints < 3:
            time.sleep(0.01)
        assert checkpointer.checkpoints >= 3 and checkpointer.pages > 0
    finally:
        checkpointer.stop()
    assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 5000


def test_bad_mode_and_unstarted_use_are_refused(tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "c.db")
    with pytest.raises(RuntimeError, match="not started"):
        checkpointer.checkpoint()
    checkpointer.start()
    try:
        with pytest.raises(ValueError, match="unknown checkpoint mode"):
            checkpointer.checkpoint("NOW; DROP TABLE t")
    finally:
        checkpointer.stop()
