"""What the ingest fast paths must not change: gap bookkeeping, topic and version checks, the collector pause."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.ingest.gcpause import collector_paused, wait_collecting
from aggregator.ingest.sessions import Decision, SiteSessions
from protocol import (
    PROTOCOL_VERSION,
    Birth,
    CameraState,
    Event,
    Events,
    Kind,
    TopicError,
    UnsupportedVersion,
    encode,
    site_topic,
)
from protocol.codec import decode_site_message

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(site: str, seq: int, event_id: int) -> Events:
    return Events(site=site, ts=T0, seq=seq, events=[Event(id=event_id, camera_id="c", at=T0, state=CameraState.UP)])


def test_a_gap_closed_by_its_fillers_is_forgotten_and_a_later_gap_still_expires() -> None:
    s: SiteSessions[str] = SiteSessions(reorder_window_s=5, rebirth_min_interval_s=30)
    for site in ("a", "b"):
        s.route(Birth(site=site, ts=T0, bd_seq=1), f"{site}-birth", 0)
        s.route(ev(site, 1, 1), f"{site}1", 0)
    s.route(ev("a", 3, 3), "a3", 1)  # gap at a: seq 2 missing
    assert s.next_deadline() == 6
    routed, _ = s.route(ev("a", 2, 2), "a2", 2)  # filled in time
    assert [r.decision for r in routed] == [Decision.APPLY, Decision.APPLY]
    assert s.next_deadline() is None
    assert s.expire(100) == ([], [])
    s.route(ev("b", 3, 3), "b3", 10)  # a new gap, at another site
    s.route(ev("a", 5, 5), "a5", 11)  # and again at the first
    assert s.next_deadline() == 15
    dropped, sites = s.expire(16)
    assert [r.tag for r in dropped] == ["a5", "b3"] and sites == ["a", "b"]
    assert s.next_deadline() is None


def test_a_refused_topic_is_refused_every_time() -> None:
    payload = encode(ev("s1", 1, 1))
    bad = "camwatch/v1/10/9999/s1/events"  # a district that does not exist
    for _ in range(2):
        with pytest.raises(TopicError):
            decode_site_message(bad, payload)
    good = site_topic("10", "1001", "s1", Kind.EVENTS)
    first, _ = decode_site_message(good, payload)
    second, _ = decode_site_message(good, payload)
    assert first == second and first.site == "s1" and first.kind is Kind.EVENTS


@pytest.mark.parametrize(("version", "accepted"), [("1.0", True), ("1.7", True), ("01.0", True), ("2.0", False), ("0.9", False)])
def test_protocol_major_is_checked_on_the_fast_path_too(version: str, accepted: bool) -> None:
    payload = encode(ev("s1", 1, 1)).replace(f'"v":"{PROTOCOL_VERSION}"'.encode(), f'"v":"{version}"'.encode())
    topic = site_topic("10", "1001", "s1", Kind.EVENTS)
    if accepted:
        assert decode_site_message(topic, payload)[1].v == version
    else:
        with pytest.raises(UnsupportedVersion):
            decode_site_message(topic, payload)


class _RecordingEvent(threading.Event):
    """An event that notes whether the collector was on while someone waited on it."""

    def __init__(self) -> None:
        super().__init__()
        self.collector_on: list[bool] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.collector_on.append(gc.isenabled())
        return super().wait(timeout)


def test_collector_is_off_in_a_pause_on_while_waiting_and_back_after_an_error() -> None:
    assert gc.isenabled()
    event = _RecordingEvent()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: still off, and the outer pause still owns it
            assert not gc.isenabled()
        assert not gc.isenabled()
        assert wait_collecting(event, 0) is False
        assert not gc.isenabled(), "off again after the wait"
        raise RuntimeError("the batch failed")
    assert gc.isenabled()
    assert event.collector_on == [True]
    assert wait_collecting(event, 0) is False and event.collector_on == [True, True]


def test_a_collector_someone_else_turned_off_is_left_off() -> None:
    gc.disable()
    try:
        event = _RecordingEvent()
        with collector_paused():
            wait_collecting(event, 0)
        assert not gc.isenabled()
        assert event.collector_on == [False]
    finally:
        gc.enable()


def test_paused_batch_of_events_still_decodes_and_commits_every_status() -> None:
    """The pause changes when memory is reclaimed, never what is decoded."""
    topic = site_topic("10", "1001", "s1", Kind.EVENTS)
    message = Events(site="s1", ts=T0, seq=1, events=[
        Event(id=i, camera_id=f"c{i % 7}", at=T0 + timedelta(seconds=i), state=CameraState.DOWN) for i in range(1, 501)])  # fmt: skip
    with collector_paused():
        _, decoded = decode_site_message(topic, encode(message))
    assert decoded == message


def test_a_second_thread_never_leaves_the_collector_off() -> None:
    """Two ingests in one process: only the pause that turned the collector off turns it on."""
    release, done = threading.Event(), threading.Event()
    waiting = _RecordingEvent()

    def other() -> None:
        with collector_paused():  # nested in the first thread's pause: changes nothing
            waiting.collector_on.clear()
            wait_collecting(waiting, 30)  # not this thread's pause: no resume, no re-disable
        done.set()

    with collector_paused():
        thread = threading.Thread(target=other)
        thread.start()
        for _ in range(3000):  # until the other thread is in its wait
            if waiting.collector_on:
                break
            release.wait(0.01)
        assert waiting.collector_on == [False]
    assert gc.isenabled(), "the first pause ended"
    waiting.set()  # the other thread's wait ends after the first pause did
    assert done.wait(30)
    thread.join(30)
    assert gc.isenabled(), "still on once both are done"
