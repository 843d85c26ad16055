"""Per-site session rules of ingest, without MQTT (issue 4: bd_seq, seq gaps, reorder window, acks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.ingest.sessions import Decision, SiteSessions
from protocol import Birth, CameraState, Death, Event, Events, Heartbeat

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def birth(bd: int, ts: datetime = T0) -> Birth:
    return Birth(site="s", ts=ts, bd_seq=bd)


def ev(seq: int, *ids: int) -> Events:
    return Events(site="s", ts=T0, seq=seq, events=[
        Event(id=i, camera_id="c", at=T0 + timedelta(seconds=i), state=CameraState.UP) for i in ids])


def decisions(routed: list) -> list[tuple[str, Decision]]:  # type: ignore[type-arg]
    return [(r.tag, r.decision) for r in routed]


class Sessions(SiteSessions[str]):
    """SiteSessions whose applied messages the (imaginary) store commits at once."""

    def route(self, message, tag, now, *, birth_last_seq=None):  # type: ignore[no-untyped-def]
        routed, rebirth = super().route(message, tag, now, birth_last_seq=birth_last_seq)
        for r in routed:
            if r.decision is Decision.APPLY:
                self.committed(r.message)
        return routed, rebirth


def test_in_order_messages_apply_and_advance_the_ack() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    assert decisions(s.route(birth(1), "b", 0)[0]) == [("b", Decision.APPLY)]
    assert decisions(s.route(ev(1, 1, 2), "e1", 0)[0]) == [("e1", Decision.APPLY)]
    assert decisions(s.route(Heartbeat(site="s", ts=T0, seq=2), "h", 0)[0]) == [("h", Decision.APPLY)]
    assert s.ack_upto("s") == 2


def test_split_birth_continues_from_its_last_part_seq() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    s.route(birth(1), "b", 0, birth_last_seq=2)
    assert decisions(s.route(ev(3, 1), "e", 0)[0]) == [("e", Decision.APPLY)]


def test_gap_filled_within_window_releases_in_seq_order() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    s.route(birth(1), "b", 0)
    s.route(ev(1, 1), "e1", 0)
    assert decisions(s.route(ev(4, 4), "e4", 1)[0]) == [("e4", Decision.HOLD)]
    assert decisions(s.route(ev(5, 5), "e5", 1)[0]) == [("e5", Decision.HOLD)]
    assert decisions(s.route(ev(3, 3), "e3", 2)[0]) == [("e3", Decision.HOLD)]
    assert s.ack_upto("s") == 1, "no ack past a gap"
    routed, rebirth = s.route(ev(2, 2), "e2", 3)
    assert not rebirth
    assert decisions(routed) == [("e2", Decision.APPLY), ("e3", Decision.APPLY), ("e4", Decision.APPLY), ("e5", Decision.APPLY)]
    assert s.ack_upto("s") == 5
    assert s.expire(100) == ([], [])


def test_gap_not_filled_drops_held_messages_and_asks_rebirth_once() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    s.route(birth(1), "b", 0)
    s.route(ev(1, 1), "e1", 0)
    s.route(ev(3, 3), "e3", 1)
    assert s.next_deadline() == 6
    assert s.expire(5.9) == ([], [])
    dropped, sites = s.expire(6)
    assert decisions(dropped) == [("e3", Decision.DROP)] and sites == ["s"]
    # Until the new birth, everything is dropped (the agent replays it after the birth).
    routed, rebirth = s.route(ev(4, 4), "e4", 7)
    assert decisions(routed) == [("e4", Decision.DROP)] and not rebirth  # asked 1 s ago already
    routed, rebirth = s.route(ev(5, 5), "e5", 40)
    assert rebirth, "asked again after the minimum interval"
    s.route(birth(1, T0 + timedelta(minutes=1)), "b2", 41)
    assert decisions(s.route(ev(1, 2, 3, 4, 5), "r", 41)[0]) == [("r", Decision.APPLY)]
    assert s.ack_upto("s") == 5


def test_late_will_is_ignored_and_current_death_applies() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    s.route(birth(1), "b1", 0)
    s.route(birth(2, T0 + timedelta(seconds=1)), "b2", 0)
    assert decisions(s.route(Death(site="s", ts=T0, bd_seq=1), "d1", 0)[0]) == [("d1", Decision.DROP)]
    assert s.late_wills == 1 and s.online("s")
    assert decisions(s.route(Death(site="s", ts=T0, bd_seq=2), "d2", 0)[0]) == [("d2", Decision.APPLY)]
    assert not s.online("s")


def test_no_session_asks_rebirth_and_duplicate_birth_is_dropped() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    routed, rebirth = s.route(ev(9, 1), "e", 0)
    assert decisions(routed) == [("e", Decision.DROP)] and rebirth
    s.route(birth(3), "b", 1)
    assert decisions(s.route(birth(3), "again", 2)[0]) == [("again", Decision.DROP)]
    assert s.duplicate_births == 1
    assert decisions(s.route(birth(3, T0 + timedelta(seconds=5)), "rebirth", 3)[0]) == [("rebirth", Decision.APPLY)]


def test_nothing_is_acknowledged_before_the_store_commits() -> None:
    s: SiteSessions[str] = SiteSessions(reorder_window_s=5, rebirth_min_interval_s=30)
    s.route(birth(1), "b", 0)
    routed, _ = s.route(ev(1, 1, 2), "e", 0)
    assert decisions(routed) == [("e", Decision.APPLY)] and s.ack_upto("s") == 0
    s.committed(routed[0].message)
    assert s.ack_upto("s") == 2


def test_redelivered_old_message_is_not_a_gap() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    s.route(birth(1), "b", 0)
    s.route(ev(1, 1), "e1", 0)
    s.route(ev(2, 2), "e2", 0)
    assert decisions(s.route(ev(1, 1), "dup", 0)[0]) == [("dup", Decision.APPLY)]  # the store de-duplicates
    assert s.next_deadline() is None


def test_a_death_before_any_birth_goes_to_the_store_which_knows_the_session() -> None:
    s = Sessions(reorder_window_s=5, rebirth_min_interval_s=30)
    routed, rebirth = s.route(Death(site="s", ts=T0, bd_seq=4), "d", 0)
    assert decisions(routed) == [("d", Decision.APPLY)] and not rebirth
    routed, rebirth = s.route(ev(9, 1), "e", 1)  # events after it wait for the next birth
    assert decisions(routed) == [("e", Decision.DROP)] and rebirth
