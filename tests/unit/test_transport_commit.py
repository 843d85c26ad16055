"""Ingest's batch commit: poison messages quarantined, a store that is down never causes an ack (issue 4)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest

from aggregator.ingest.commit import CommitHealth, Stopped, commit_batch
from aggregator.ingest.quarantine import Quarantine
from aggregator.schema import open_db
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
    assert q.counts() == {"store_rejected": 1}


def test_store_down_is_retried_until_it_commits_and_nothing_is_quarantined() -> None:
    q = Quarantine(open_db(":memory:"))
    store = FakeStore(down_for=7)  # 3 batch tries, 4 halves and singles, then the retry commits
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


class CountingStore(FakeStore):
    """FakeStore that counts apply calls."""

    def __init__(self, poison: set[int]) -> None:
        super().__init__(poison=poison)
        self.calls = 0

    def apply(self, items: list[Inbound]) -> ApplyResult:
        self.calls += 1
        return super().apply(items)


def test_one_poison_message_in_a_thousand_is_found_in_a_few_commits_not_a_thousand() -> None:
    q = Quarantine(open_db(":memory:"))
    store = CountingStore(poison={517})
    health = CommitHealth()
    _, done = commit_batch(store, [item(i) for i in range(1, 1001)], q, threading.Event(), health)
    assert len(done) == 999 and 517 not in store.committed and sorted(store.committed) == store.committed
    assert q.counts() == {"store_rejected": 1} and health.isolated_total == 1
    assert store.calls <= 3 + 2 * 10 + 1  # three tries, then two halves per level of a binary search


def test_a_store_down_halfway_never_lets_an_item_be_acknowledged_unstored() -> None:
    """Items the store refuses because it is down are retried, not quarantined as poison."""
    q = Quarantine(open_db(":memory:"))
    store = FakeStore(poison={3}, down_for=5)  # down through the tries and the first halves
    _, done = commit_batch(store, [item(i) for i in range(1, 7)], q, threading.Event())
    assert sorted(i.message.events[0].id for i in done) == [1, 2, 4, 5, 6]  # type: ignore[attr-defined]
    assert q.counts() == {"store_rejected": 1}
