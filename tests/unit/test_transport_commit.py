"""Ingest's batch commit: poison messages quarantined, a store that is down never causes an ack (issue 4)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest

from aggregator.ingest.commit import Stopped, commit_batch
from aggregator.ingest.quarantine import Quarantine
from aggregator.store.db import open_db
from aggregator.store.state import ApplyResult, Inbound
from protocol import CameraState, Event, Events, parse_site_topic

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def item(event_id: int) -> Inbound:
    topic = parse_site_topic("camwatch/v1/10/1001/s/events")
    msg = Events(site="s", ts=NOW, seq=event_id % 256, events=[
        Event(id=event_id, camera_id="c", at=NOW, state=CameraState.UP)])
    return Inbound(topic, msg, NOW)


class FakeStore:
    """Stands in for StateStore: fails for chosen event ids, or entirely while ``down``."""

    def __init__(self, poison: set[int] = frozenset(), down_for: int = 0) -> None:  # type: ignore[assignment]
        self.poison, self.down_for, self.committed = poison, down_for, []  # type: list[int]

    def apply(self, items: list[Inbound]) -> ApplyResult:
        if self.down_for > 0:
            self.down_for -= 1
            raise sqlite3.OperationalError("database or disk is full")
        ids = [e.id for i in items for e in i.message.events]  # type: ignore[attr-defined]
        if self.poison & set(ids):
            raise ValueError("camera row missing")
        self.committed += ids
        return ApplyResult(committed_event_ids={"s": max(ids)})


def test_poison_message_is_quarantined_and_the_rest_committed() -> None:
    q = Quarantine(open_db(":memory:"))
    store = FakeStore(poison={2})
    result, done = commit_batch(store, [item(1), item(2), item(3)], q, threading.Event())
    assert [i.message.events[0].id for i in done] == [1, 3]  # type: ignore[attr-defined]
    assert store.committed == [1, 3] and result.committed_event_ids == {"s": 3}
    assert q.counts() == {"store_error": 1}


def test_store_down_is_retried_until_it_commits_and_nothing_is_quarantined() -> None:
    q = Quarantine(open_db(":memory:"))
    store = FakeStore(down_for=7)  # 3 batch tries + 3 single items, then one more batch try
    _, done = commit_batch(store, [item(1), item(2), item(3)], q, threading.Event())
    assert len(done) == 3 and store.committed == [1, 2, 3]
    assert q.counts() == {}


def test_stopping_while_the_store_is_down_acknowledges_nothing() -> None:
    q = Quarantine(open_db(":memory:"))
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        commit_batch(FakeStore(down_for=100), [item(1)], q, stop)
    assert q.counts() == {}
