"""Agent outbox: durable ids and bd_seq, ack deletes, ordered backlog, compaction, full disk (issue 4)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.outbox import Outbox
from protocol import CameraState, Events, Reason, encode
from tests.rig.transport import Change, changes

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_ids_and_bd_seq_survive_a_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for c in changes(["a", "b"], 5, start=T0):
        box.record(c)
    assert box.next_bd_seq() == 1
    box.close()
    again = Outbox(tmp_path / "o.db")
    assert again.last_event_id() == 5
    assert [e.id for e in again.pending()] == [1, 2, 3, 4, 5]
    assert again.next_bd_seq() == 2
    again.record(Change("a", CameraState.UP, Reason.NONE, T0))
    assert again.last_event_id() == 6


def test_wal_and_full_sync(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_ack_deletes_only_covered_events_and_ids_are_never_reused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for c in changes(["a"], 10, start=T0):
        box.record(c)
    assert box.ack(4) == 4
    assert [e.id for e in box.pending()] == [5, 6, 7, 8, 9, 10]
    assert box.ack(10) == 6
    box.record(Change("a", CameraState.UP, Reason.NONE, T0))
    assert [e.id for e in box.pending()] == [11]


def test_pending_pages_in_id_order_and_keeps_edge_times(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    made = list(changes(["a", "b", "c"], 12, start=T0))
    for c in made:
        box.record(c)
    first = box.pending(0, limit=5)
    rest = box.pending(first[-1].id, limit=100)
    assert [e.id for e in first + rest] == list(range(1, 13))
    assert [e.at for e in first + rest] == [c.at for c in made]
    wire = [e.to_wire(historical=True) for e in first]
    assert all(w.historical for w in wire)
    encode(Events(site="s", ts=T0, seq=1, events=wire))  # valid on the wire


def test_compaction_keeps_latest_state_per_camera_and_reports_count(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_events=40)
    made = list(changes(["a", "b"], 100, start=T0, step_s=60))
    for c in made:
        box.record(c)
    assert box.depth() <= 40
    pending = box.pending(limit=1000)
    for cam in ("a", "b"):
        latest_made = [c for c in made if c.camera_id == cam][-1]
        latest = [e for e in pending if e.camera_id == cam][-1]
        assert (latest.state, latest.at) == (latest_made.state, latest_made.at)
    intervals = [e for e in pending if "compacted" in e.details]
    assert intervals, "older history became interval events"
    total_s = sum(v for e in intervals for k, v in e.details.items() if k.startswith("s_"))
    assert total_s > 0
    compacted = box.take_compacted()
    assert compacted == 100 - box.depth()
    assert box.take_compacted() == 0  # reported once


def test_disk_full_compacts_then_holds_latest_in_memory_and_never_raises(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for c in changes(["a", "b"], 20, start=T0):
        box.record(c)
    pages = box._db.execute("PRAGMA page_count").fetchone()[0]
    box._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now answers SQLITE_FULL
    big = {"note": "x" * 3000}
    for i in range(50):
        box.record(Change("a", CameraState.DOWN if i % 2 else CameraState.UP, Reason.NONE, T0 + timedelta(hours=1, seconds=i), big))
    assert box.held_in_memory() == 1  # camera a waits in memory; no exception reached the caller
    box._db.execute("PRAGMA max_page_count = 1073741823")
    box.record(Change("b", CameraState.UP, Reason.NONE, T0 + timedelta(hours=2)))
    assert box.held_in_memory() == 0
    latest_a = [e for e in box.pending(limit=10_000) if e.camera_id == "a"][-1]
    assert latest_a.at == T0 + timedelta(hours=1, seconds=49)


def test_other_sqlite_errors_are_not_swallowed(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box._db.execute("DROP TABLE events")
    with pytest.raises(sqlite3.OperationalError):
        box.record(Change("a", CameraState.UP, Reason.NONE, T0))


def test_an_interval_covering_unsent_events_is_still_ahead_of_the_sent_ones(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_events=10)
    for c in changes(["a"], 10, start=T0):
        box.record(c)
    sent_upto = 5  # the publisher had sent ids 1..5 when the outbox filled up
    box.record(Change("a", CameraState.UP, Reason.NONE, T0 + timedelta(hours=1)))
    rest = box.pending(after_id=sent_upto)
    interval = [e for e in rest if "compacted" in e.details]
    assert interval, "the merged history of the unsent events is still to be sent"
    assert interval[0].at == T0 and interval[0].details["compacted"] == 9  # events 1-9; 10 stays
    assert rest[-1].id == 11 and rest[-1].at == T0 + timedelta(hours=1)


def test_camera_credentials_in_details_never_reach_the_queue(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    uri = "rtsp://admin:Hunter2-cam@10.0.0.9:554/ch1"
    box.record(Change("a", CameraState.DOWN, Reason.STREAM_FAILED, T0, {"uri": uri, "tries": 3}))
    stored = box.pending()[0].details
    assert stored == {"uri": "rtsp://10.0.0.9:554/ch1", "tries": 3}
    box.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("o.db*"))  # db, and WAL if any
    assert b"10.0.0.9" in on_disk and b"Hunter2-cam" not in on_disk
