"""Where a skewed site's changes are placed (issue 18): aggregator.store.clocks with the StateStore."""

from __future__ import annotations

from datetime import timedelta

from aggregator.days import to_ms
from aggregator.store.records import Inbound
from aggregator.store.state import StateStore
from protocol import CameraState, Event, Events, Heartbeat, Kind
from tests.unit.test_state_store import T0, birth, events, store, topic

__all__ = ["store"]

AHEAD = timedelta(hours=2)


def _shifted_events(evs: list[tuple[int, str, CameraState]], received: timedelta, shift: timedelta, *,
                    historical: bool = False) -> Inbound:  # fmt: skip
    at = T0 + received + shift
    msg = Events(site="s1", ts=at, seq=1, events=[
        Event(id=i, camera_id=c, at=at, state=s, historical=historical) for i, c, s in evs])  # fmt: skip
    return Inbound(topic("s1", Kind.EVENTS), msg, T0 + received)


def test_a_fast_sites_live_events_are_placed_at_receipt_and_their_edge_time_kept(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])
    item = _shifted_events([(1, "c1", CameraState.DOWN)], timedelta(minutes=5), AHEAD)
    result = store.apply([item])
    recv = to_ms(T0 + timedelta(minutes=5))
    assert store.clocks.skewed(store.site_by_name["s1"].id)
    assert [t.at for t in result.transitions] == [T0 + timedelta(minutes=5)]  # centre time for faults and the feed
    assert store.db.execute("SELECT MAX(at_ms) FROM transitions").fetchone()[0] == recv
    assert store.db.execute("SELECT edge_ms, placed_ms FROM clock_placements").fetchall() == [
        (recv + to_ms(T0 + AHEAD) - to_ms(T0), recv)]
    again = store.apply([item])  # redelivered: recognised by its edge time
    assert again.duplicates == 1 and again.transitions == []
    flag = store.db.execute("SELECT clock_skew, clock_offset_ms FROM sites WHERE site_id = 's1'").fetchone()
    assert tuple(flag) == (1, 2 * 3600 * 1000)


def test_replays_keep_edge_times_but_never_the_future(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])
    earlier = T0 + timedelta(minutes=1)
    store.apply([events("s1", [(1, "c1", earlier, CameraState.DOWN)], T0 + timedelta(minutes=10), historical=True)])
    future = _shifted_events([(2, "c1", CameraState.UP)], timedelta(minutes=11), AHEAD, historical=True)
    store.apply([future])
    rows = [r[0] for r in store.db.execute("SELECT at_ms FROM transitions WHERE event_id IS NOT NULL ORDER BY id")]
    assert rows == [to_ms(earlier), to_ms(T0 + timedelta(minutes=11))]


def test_a_fixed_clock_clears_the_flag_and_the_newest_live_state_is_current(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP, "c3": CameraState.DOWN}, T0)])
    store.apply([_shifted_events([(1, "c1", CameraState.DOWN), (2, "c3", CameraState.UP)], timedelta(minutes=1), AHEAD)])
    fixed = Heartbeat(site="s1", ts=T0 + timedelta(minutes=2), seq=2)
    store.apply([Inbound(topic("s1", Kind.HEARTBEAT), fixed, T0 + timedelta(minutes=2))])
    assert not store.clocks.skewed(store.site_by_name["s1"].id)
    store.apply([_shifted_events([(3, "c1", CameraState.UP), (4, "c3", CameraState.DOWN)], timedelta(minutes=3),
                                 timedelta(0))])  # fmt: skip
    assert store.current("s1", "c1")[0] is CameraState.UP  # type: ignore[index]
    assert store.current("s1", "c3")[0] is CameraState.DOWN  # type: ignore[index]
