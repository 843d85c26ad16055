"""Exact gap fill after a province link cut (issue 17): a site's messages held two hours in the
bridge queue, delivered late in order, leave the store exactly as a run without the cut.

Two stores get the same site messages on an injected clock (no wall clock, no sleeping): one
live, the other with a two-hour cut across Bangkok midnight during which the silence watch
runs every minute (the site goes ``unknown``: provisional) and after which the queue arrives.
Every transition, every daily total (site, province, camera, after the day is rolled) and the
site's clock flag are the same; each event is stored once, also when the queue is delivered twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Heartbeat,
    Kind,
    Reason,
    SiteMessage,
    SiteTopic,
)

T0 = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # 23:00 in Bangkok: the cut spans midnight
CUT = (T0 + timedelta(minutes=20), T0 + timedelta(minutes=140))  # two hours
END = T0 + timedelta(hours=3)
RESTART = CUT[0] + timedelta(minutes=50)  # the aggregator restarts while s1's link is cut
TRANSPORT = timedelta(milliseconds=200)
SITES = {"s1": ("c1", "c2"), "s2": ("c3",)}
EVENTS = {  # site: [(id, camera, minutes after T0, state)]
    "s1": [(1, "c1", 30, CameraState.DOWN), (2, "c1", 70, CameraState.UP), (3, "c2", 100, CameraState.DOWN),
           (4, "c1", 150, CameraState.DOWN)],
    "s2": [(1, "c3", 45, CameraState.DOWN), (2, "c3", 160, CameraState.UP)],
}  # fmt: skip


def _topic(site: str, message: SiteMessage) -> SiteTopic:
    kind = {Birth: Kind.BIRTH, Events: Kind.EVENTS, Heartbeat: Kind.HEARTBEAT}[type(message)]
    return SiteTopic("10", "1001", site, kind)


def _script() -> list[tuple[datetime, str, SiteMessage]]:
    """(built at, site, message) of everything the two sites send, in time order."""
    out: list[tuple[datetime, str, SiteMessage]] = []
    for site, cams in SITES.items():
        out.append((T0, site, Birth(site=site, ts=T0, bd_seq=1, cameras=[
            BirthCamera(camera_id=c, state=CameraState.UP, since=T0 - timedelta(days=2)) for c in cams])))  # fmt: skip
        states = dict.fromkeys(cams, CameraState.UP)
        seq = 0
        for minute in range(1, 181):
            at = T0 + timedelta(minutes=minute)
            for i, cam, m, state in EVENTS[site]:
                if m == minute:
                    seq += 1
                    reason = Reason.UNREACHABLE if state == CameraState.DOWN else Reason.NONE
                    out.append((at, site, Events(site=site, ts=at, seq=seq, events=[
                        Event(id=i, camera_id=cam, at=at - timedelta(seconds=5), state=state, reason=reason)])))  # fmt: skip
                    states[cam] = state
            seq += 1
            out.append((at + timedelta(seconds=1), site, Heartbeat(site=site, ts=at + timedelta(seconds=1), seq=seq,
                                                                   interval_s=60, cameras=dict(states))))  # fmt: skip
    return sorted(out, key=lambda m: m[0])


def _run(cut: bool, deliver_twice: bool = False, restart: Path | None = None, clean: bool = True,
         drain: bool = False) -> StateStore:  # fmt: skip
    """One run; with ``restart`` (a database file) the aggregator stops in the middle of the cut
    (``drain``: halfway through the delivery of the queue instead; ``clean``: flushing its state
    as on shutdown, else as a crash) and starts again from the file."""
    db = open_db(restart if restart is not None else ":memory:")
    store = StateStore(db, load_geography(db), start=T0)

    def again() -> StateStore:
        assert restart is not None
        if clean:
            store.flush_state()
        store.db.close()
        db = open_db(restart)
        return StateStore(db, load_geography(db), start=T0)

    queued: list[tuple[str, SiteMessage]] = []
    watch = T0
    for at, site, message in _script():
        while watch + timedelta(minutes=1) <= at:  # the silence watch, every minute of the injected clock
            watch += timedelta(minutes=1)
            store.expire_silent_sites(watch)
            if restart is not None and not drain and watch == RESTART:
                store = again()
        if cut and site == "s1" and CUT[0] <= at < CUT[1]:
            queued.append((site, message))
            continue
        if queued and at >= CUT[1]:  # the link is back: the bridge delivers its queue first, in order
            for copy in range(2 if deliver_twice else 1):
                recv = CUT[1] + timedelta(seconds=copy)
                if restart is not None and drain:
                    half = len(queued) // 2
                    store.apply([Inbound(_topic(s, m), m, recv + TRANSPORT) for s, m in queued[:half]])
                    store = again()
                    store.apply([Inbound(_topic(s, m), m, recv + TRANSPORT) for s, m in queued[half:]])
                    continue
                store.apply([Inbound(_topic(s, m), m, recv + TRANSPORT) for s, m in queued])
            queued = []
        store.apply([Inbound(_topic(site, message), message, at + TRANSPORT)])
    store.expire_silent_sites(END)
    store.roll(END + timedelta(days=1))
    store.flush_state()
    return store


def _figures(store: StateStore) -> dict[str, list[tuple[object, ...]]]:
    q = store.db.execute
    return {
        "transitions": q("SELECT i.camera_id, t.at_ms, t.old_state, t.new_state, t.reason, t.event_id FROM transitions t "
                         "JOIN camera_inventory i ON i.id = t.camera ORDER BY 1, 2, 6").fetchall(),  # fmt: skip
        "site_day": q("SELECT * FROM site_day ORDER BY day, site").fetchall(),
        "province_day": q("SELECT * FROM province_day ORDER BY day, province").fetchall(),
        "camera_day": q("SELECT * FROM camera_day ORDER BY day, camera").fetchall(),
        "clock": q("SELECT site_id, clock_skew FROM sites ORDER BY 1").fetchall(),
        "cameras": q("SELECT camera_id, state, since_ms FROM cameras ORDER BY 1").fetchall(),
    }


def test_a_two_hour_cut_filled_from_the_queue_equals_a_run_without_it(caplog: pytest.LogCaptureFixture) -> None:
    live = _figures(_run(cut=False))
    caplog.set_level(logging.INFO, "aggregator.store.state")
    cut_store = _run(cut=True)
    said = [r.getMessage() for r in caplog.records]
    assert "s1: silent since 2026-10-30 16:19:01.200000+00:00; cameras now unknown" in said, "no silence in the cut"
    assert any("s1: late messages from before its deadline" in m and "2 camera(s)" in m for m in said)
    filled = _figures(cut_store)
    assert live["transitions"] and not any(r[3] == 3 for r in live["transitions"] if r[0] != "c1" or r[5]), "no silence live"
    for name, rows in live.items():
        assert filled[name] == rows, f"{name} differs after the gap fill"
    assert [r for r in filled["clock"] if r[1]] == [], "late messages read as a skewed clock"
    assert not cut_store.messages.gapfill.provisional and not cut_store.messages.gapfill.late


def test_the_cut_site_is_unknown_while_the_link_is_down() -> None:
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0)
    gone = []
    for at, site, message in _script():
        if at >= CUT[0] + timedelta(minutes=10):
            break
        if site == "s1" and at >= CUT[0]:
            continue
        store.apply([Inbound(_topic(site, message), message, at + TRANSPORT)])
        gone += store.expire_silent_sites(at)
    assert {(t.site, t.camera_id, t.new_state) for t in gone} == {
        ("s1", None, CameraState.UNKNOWN), ("s1", "c1", CameraState.UNKNOWN), ("s1", "c2", CameraState.UNKNOWN)}
    assert store.current("s1", "c1")[0] == CameraState.UNKNOWN  # type: ignore[index]
    assert store.current("s2", "c3")[0] == CameraState.UP  # type: ignore[index]


@pytest.mark.parametrize(("clean", "drain"), [(True, False), (False, False), (True, True)],
                         ids=["shutdown", "crash", "while-draining"])  # fmt: skip
def test_an_aggregator_restart_in_the_middle_of_the_cut_still_fills_the_gap(
    tmp_path: Path, clean: bool, drain: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The provisional silence is kept in the database (store.silences): the store started again
    from the same file undoes it when the queue arrives, giving the figures of a run without the
    cut; restarted while the queue drains, the rest of it is still read as late (no clock flag)."""
    caplog.set_level(logging.INFO, "aggregator.store.state")
    restarted = _run(cut=True, restart=tmp_path / "camwatch.db", clean=clean, drain=drain)
    said = [r.getMessage() for r in caplog.records]
    assert any("s1: late messages from before its deadline" in m and "2 camera(s)" in m for m in said)
    assert not any("clock skewed" in m for m in said)
    assert _figures(restarted) == _figures(_run(cut=False))
    assert not restarted.messages.gapfill.provisional and not restarted.messages.gapfill.late
    assert restarted.db.execute("SELECT COUNT(*) FROM silences").fetchone()[0] == 0
    assert restarted.db.execute("SELECT COUNT(*) FROM silence_cameras").fetchone()[0] == 0


def test_a_silence_kept_across_a_restart_is_final_when_the_site_speaks_after_its_deadline(tmp_path: Path) -> None:
    """A site that really stopped: its first message, built after the deadline, keeps the unknown
    interval and removes the kept silence (a redelivery of an older message decides nothing)."""
    path = tmp_path / "camwatch.db"
    db = open_db(path)
    store = StateStore(db, load_geography(db), start=T0)
    last: tuple[str, SiteMessage] | None = None
    for at, site, message in _script():
        if at >= CUT[0] + timedelta(minutes=10):
            break
        if site == "s1" and at >= CUT[0]:
            continue
        if site == "s1":
            last = (site, message)
        store.apply([Inbound(_topic(site, message), message, at + TRANSPORT)])
        store.expire_silent_sites(at)
    assert db.execute("SELECT site FROM silences").fetchall() and last is not None
    db.close()
    db = open_db(path)
    store = StateStore(db, load_geography(db), start=T0)
    assert list(store.messages.gapfill.provisional) == [store.site_by_name["s1"].id]
    recv = CUT[1] + TRANSPORT
    store.apply([Inbound(_topic(*last), last[1], recv)])  # redelivered: built before the silence
    assert store.messages.gapfill.provisional, "a redelivery decided the silence"
    after = Heartbeat(site="s1", ts=CUT[1], seq=200, interval_s=60, cameras={"c1": CameraState.UP, "c2": CameraState.UP})
    store.apply([Inbound(_topic("s1", after), after, recv)])
    assert not store.messages.gapfill.provisional and not store.messages.gapfill.late
    assert db.execute("SELECT COUNT(*) FROM silences").fetchone()[0] == 0
    unknown = db.execute("SELECT COUNT(*) FROM transitions t JOIN camera_inventory i ON i.id = t.camera "
                         "WHERE i.camera_id IN ('c1', 'c2') AND t.new_state = 3").fetchone()[0]  # fmt: skip
    assert unknown == 2, "the unknown interval of a real silence stays"


def test_a_queue_delivered_twice_is_stored_once() -> None:
    assert _figures(_run(cut=True, deliver_twice=True)) == _figures(_run(cut=False))


def test_the_first_late_message_brings_the_site_and_its_cameras_back() -> None:
    """What faults and feeds see when the supposed silence is undone: the site up, each camera
    back in the state it had, at receipt (as when a silent site's heartbeat returns)."""
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0)
    queued: list[tuple[str, SiteMessage]] = []
    for at, site, message in _script():
        if at >= CUT[0] + timedelta(minutes=10):
            break
        if site == "s1" and at >= CUT[0]:
            queued.append((site, message))
            continue
        store.apply([Inbound(_topic(site, message), message, at + TRANSPORT)])
        store.expire_silent_sites(at)
    assert store.current("s1", "c1")[0] == CameraState.UNKNOWN  # type: ignore[index]
    recv = CUT[0] + timedelta(minutes=10)
    site, first = queued[0]
    back = store.apply([Inbound(_topic(site, first), first, recv)])
    assert [(t.site, t.camera_id, t.old_state, t.new_state, t.at) for t in back.transitions] == [
        ("s1", None, CameraState.UNKNOWN, CameraState.UP, recv),
        ("s1", "c1", CameraState.UNKNOWN, CameraState.UP, recv),
        ("s1", "c2", CameraState.UNKNOWN, CameraState.UP, recv),
    ]
    assert store.current("s1", "c1")[0] == CameraState.UP  # type: ignore[index]
    assert store.current("s1", "c1")[2] < CUT[0]  # type: ignore[index]  # up since before the cut, not since now
