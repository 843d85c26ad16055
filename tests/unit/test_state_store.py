"""StateStore: exact daily totals under forward, out-of-order and backfilled events (issue 5)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.days import DAY_MS, day_of, day_start, to_ms
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.states import STATE_CODE, STATES
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Death,
    Event,
    Events,
    Heartbeat,
    Kind,
    Reason,
    SiteTopic,
)

T0 = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)  # 03:00 Bangkok on 31 October
RESTART = 0.2


def topic(site: str, kind: Kind, province: str = "10", district: str = "1001") -> SiteTopic:
    return SiteTopic(province, district, site, kind)


@pytest.fixture
def store() -> StateStore:
    db = open_db(":memory:")
    geo = load_geography(db)
    return StateStore(db, geo, start=T0)


def birth(site: str, cams: dict[str, CameraState], at: datetime, *, bd_seq: int = 0, last_event_id: int = 0) -> Inbound:
    msg = Birth(
        site=site, ts=at, bd_seq=bd_seq, last_event_id=last_event_id,
        cameras=[BirthCamera(camera_id=c, state=s, since=at, inventory=CameraInventory(maker="Hikvision"))
                 for c, s in cams.items()],
    )  # fmt: skip
    return Inbound(topic(site, Kind.BIRTH), msg, at)


def events(site: str, evs: list[tuple[int, str, datetime, CameraState]], received: datetime, *, historical: bool = False) -> Inbound:
    msg = Events(
        site=site, ts=received, seq=1,
        events=[Event(id=i, camera_id=c, at=a, state=s,
                      reason=Reason.NONE if s == CameraState.UP else Reason.UNREACHABLE, historical=historical)
                for i, c, a, s in evs],
    )  # fmt: skip
    return Inbound(topic(site, Kind.EVENTS), msg, received)


def brute(timeline: list[tuple[int, int]], a: int, b: int) -> list[int]:
    """Milliseconds per state over [a, b) of a timeline of (at_ms, state), by brute force."""
    out = [0] * 5
    points = sorted(timeline, key=lambda p: p[0])  # stable: insertion order breaks ties
    for i, (t, s) in enumerate(points):
        end = points[i + 1][0] if i + 1 < len(points) else b
        lo, hi = max(t, a), min(end, b)
        if hi > lo:
            out[s] += hi - lo
    return out


def test_birth_registers_cameras_and_state(store: StateStore) -> None:
    result = store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.DOWN}, T0)])
    assert [(t.camera_id, t.new_state) for t in result.transitions if t.camera_id] == [
        ("c1", CameraState.UP), ("c2", CameraState.DOWN)]  # fmt: skip
    assert store.current("s1", "c2") is not None
    assert store.current("s1", "c2")[0] == CameraState.DOWN  # type: ignore[index]
    row = store.db.execute("SELECT maker, state, missing FROM cameras WHERE camera_id='c1'").fetchone()
    assert row == ("Hikvision", 0, 0)


def test_camera_absent_from_birth_is_missing_not_deleted(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.UP}, T0)])
    later = T0 + timedelta(hours=1)
    result = store.apply([birth("s1", {"c1": CameraState.UP}, later, bd_seq=1)])
    row = store.db.execute("SELECT missing, state, reason FROM cameras WHERE camera_id='c2'").fetchone()
    assert row == (1, STATE_CODE[CameraState.UNKNOWN], "missing")
    assert [(t.camera_id, t.reason) for t in result.transitions] == [("c2", Reason.MISSING)]
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.UP}, later + timedelta(hours=1), bd_seq=2)])
    assert store.db.execute("SELECT missing, state FROM cameras WHERE camera_id='c2'").fetchone() == (0, 0)


def test_duplicate_events_are_counted_not_applied(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])
    e = [(1, "c1", T0 + timedelta(minutes=5), CameraState.DOWN), (2, "c1", T0 + timedelta(minutes=9), CameraState.UP)]
    first = store.apply([events("s1", e, T0 + timedelta(minutes=10))])
    assert first.committed_event_ids == {"s1": 2} and first.duplicates == 0
    again = store.apply([events("s1", e, T0 + timedelta(minutes=11)), events("s1", e[:1], T0 + timedelta(minutes=11))])
    assert again.duplicates == 3 and again.transitions == []
    assert store.db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0] == 3


def test_lower_event_id_after_higher_is_applied(store: StateStore) -> None:
    """After a seq gap and rebirth the agent replays ids lower than committed ones: not duplicates."""
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.UP}, T0)])
    store.apply([events("s1", [(5, "c2", T0 + timedelta(minutes=6), CameraState.DOWN)], T0 + timedelta(minutes=7))])
    late = store.apply([events("s1", [(4, "c1", T0 + timedelta(minutes=5), CameraState.DOWN)], T0 + timedelta(minutes=8))])
    assert late.duplicates == 0 and [t.camera_id for t in late.transitions] == ["c1"]
    assert late.committed_event_ids == {"s1": 5}


def test_death_makes_site_unknown_and_birth_brings_it_back(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.DOWN}, T0, bd_seq=3)])
    stale = store.apply([Inbound(topic("s1", Kind.DEATH), Death(site="s1", ts=T0, bd_seq=2), T0 + timedelta(minutes=1))])
    assert stale.transitions == []
    dead_at = T0 + timedelta(minutes=2)
    died = store.apply([Inbound(topic("s1", Kind.DEATH), Death(site="s1", ts=T0, bd_seq=3), dead_at)])
    assert [(t.camera_id, t.new_state, t.reason, t.at) for t in died.transitions] == [
        (None, CameraState.UNKNOWN, Reason.SITE_OFFLINE, dead_at),
        ("c1", CameraState.UNKNOWN, Reason.SITE_OFFLINE, dead_at),
        ("c2", CameraState.UNKNOWN, Reason.SITE_OFFLINE, dead_at),
    ]
    back = store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.UP}, T0 + timedelta(minutes=3), bd_seq=4)])
    assert back.transitions[0].camera_id is None and back.transitions[0].new_state == CameraState.UP


def test_silent_site_expires_to_unknown(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])
    hb = Heartbeat(site="s1", ts=T0, seq=1, interval_s=60, cameras={"c1": CameraState.UP})
    store.apply([Inbound(topic("s1", Kind.HEARTBEAT), hb, T0 + timedelta(seconds=30))])
    assert store.expire_silent_sites(T0 + timedelta(seconds=120)) == []
    gone = store.expire_silent_sites(T0 + timedelta(seconds=300))
    assert [(t.camera_id, t.new_state, t.at) for t in gone] == [
        (None, CameraState.UNKNOWN, T0 + timedelta(seconds=90)),
        ("c1", CameraState.UNKNOWN, T0 + timedelta(seconds=90)),
    ]
    back = store.apply([Inbound(topic("s1", Kind.HEARTBEAT), hb, T0 + timedelta(seconds=400))])
    assert [(t.camera_id, t.new_state) for t in back.transitions] == [(None, CameraState.UP), ("c1", CameraState.UP)]


def test_unknown_district_is_rejected(store: StateStore) -> None:
    item = birth("s9", {"c1": CameraState.UP}, T0)
    bad = Inbound(SiteTopic("10", "1099", "s9", Kind.BIRTH), item.message, T0)
    result = store.apply([bad])
    assert result.rejected and "1099" in result.rejected[0][1]
    assert store.db.execute("SELECT COUNT(*) FROM sites").fetchone()[0] == 0


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_daily_totals_exact_with_backfill_and_midnights(seed: int) -> None:
    """Random forward and out-of-order events over 4 days; every total equals brute force."""
    _daily_totals_exact(seed, T0)


@pytest.mark.calendar
def test_daily_totals_exact_around_each_calendar_instant(now: datetime) -> None:
    """The same over the days around month ends, 29 February and a Bangkok midnight: the
    midnight roll, the ledgers and the daily totals do not care which day it is."""
    _daily_totals_exact(3, now - timedelta(days=2))


def _daily_totals_exact(seed: int, t0: datetime) -> None:
    rng = random.Random(seed)
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=t0, state_flush_s=3600.0)
    cams = ["a", "b", "c"]
    store.apply([birth("s1", dict.fromkeys(cams, CameraState.UP), t0)])
    timelines = {c: [(to_ms(t0), 0)] for c in cams}
    now = t0
    next_id = 1
    for _ in range(40):
        now += timedelta(minutes=rng.randint(20, 300))
        batch = []
        for _ in range(rng.randint(1, 4)):
            cam = rng.choice(cams)
            # mostly recent, sometimes hours or a day in the past (backfill)
            back = rng.choice([0, 0, 0, rng.randint(1, 600), rng.randint(600, 1800)])
            at = max(t0 + timedelta(seconds=1), now - timedelta(minutes=back, seconds=rng.randint(0, 59)))
            state = rng.choice([CameraState.UP, CameraState.DOWN, CameraState.DEGRADED, CameraState.MAINTENANCE])
            batch.append((next_id, cam, at, state))
            next_id += 1
        for _i, cam, at, state in batch:
            timelines[cam].append((to_ms(at), STATE_CODE[state]))
        store.apply([events("s1", batch, now, historical=True)])
        if rng.random() < RESTART:  # restart: camera_state written lazily, rebuilt from transitions
            store = StateStore(db, store.geography, state_flush_s=3600.0)
    horizon = to_ms(now)
    for cam in cams:  # current state and since (start of the last run of equal states), by brute force
        ordered = [st for _, st in sorted(timelines[cam], key=lambda p: p[0])]
        times = [t for t, _ in sorted(timelines[cam], key=lambda p: p[0])]
        i = len(ordered) - 1
        while i > 0 and ordered[i - 1] == ordered[-1]:
            i -= 1
        state, _, since = store.current("s1", cam)  # type: ignore[misc]
        assert (STATE_CODE[state], to_ms(since)) == (ordered[-1], times[i]), cam
    site_rowid = store.site_by_name["s1"].id
    checkpoint = store.checkpoint
    assert checkpoint == day_start(day_of(horizon))
    first_day = day_of(to_ms(t0))
    for day in range(first_day, day_of(horizon) + 1):
        a, b = day_start(day), day_start(day + 1)
        expected_site = [0] * 5
        for cam in cams:
            exact = brute(timelines[cam], a, min(b, horizon))
            row = db.execute(
                "SELECT up_ms, degraded_ms, down_ms, unknown_ms, maint_ms FROM camera_day c JOIN cameras k "
                "ON k.id = c.camera WHERE k.camera_id = ? AND day = ?", [cam, day]).fetchone() or (0,) * 5  # fmt: skip
            # camera rows hold complete days only: every day before the checkpoint, none after it
            assert list(row) == (exact if b <= checkpoint else [0] * 5), (cam, day)
            expected_site = [x + y for x, y in zip(expected_site, brute(timelines[cam], a, min(b, checkpoint)), strict=True)]
        site = db.execute(
            "SELECT up_ms, degraded_ms, down_ms, unknown_ms, maint_ms, up_n, degraded_n, down_n, unknown_n, maint_n "
            "FROM site_day WHERE site = ? AND day = ?", [site_rowid, day]).fetchone() or (0,) * 10  # fmt: skip
        if b <= checkpoint:
            assert list(site[:5]) == expected_site, day
        province = db.execute("SELECT up_ms, up_n FROM province_day WHERE province='10' AND day=?", [day]).fetchone()
        assert province is None or (province[0], province[1]) == (site[0], site[5])
        if a <= checkpoint:
            counts = [0] * 5
            for cam in cams:
                at_midnight = [s for t, s in sorted(timelines[cam], key=lambda p: p[0]) if t <= a]
                if at_midnight:
                    counts[at_midnight[-1]] += 1
            assert list(site[5:]) == counts, day
    assert sum(1 for _ in STATES) == 5


def test_state_survives_reload(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.DOWN}, T0)])
    store.apply([events("s1", [(1, "c1", T0 + timedelta(minutes=1), CameraState.DEGRADED)], T0 + timedelta(minutes=2))])
    again = StateStore(store.db, store.geography)
    assert again.current("s1", "c1")[0] == CameraState.DEGRADED  # type: ignore[index]
    assert again.site_by_name["s1"].last_event_id == 1
    assert again.state_counts()["1001"][STATE_CODE[CameraState.DOWN]] == 1
    assert store.state_counts() == again.state_counts()


def test_failed_batch_rolls_back_memory(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])

    class Boom(Exception):
        pass

    def broken(force: bool = False) -> None:
        raise Boom

    store.flusher.flush = broken  # type: ignore[method-assign]  # the reload builds a new flusher
    with pytest.raises(Boom):
        store.apply([events("s1", [(1, "c1", T0 + timedelta(minutes=1), CameraState.DOWN)], T0 + timedelta(minutes=2))])
    assert store.current("s1", "c1")[0] == CameraState.UP  # type: ignore[index]
    assert store.db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0] == 1
    assert DAY_MS == 86_400_000


def test_lazily_written_states_are_replayed_on_start(store: StateStore) -> None:
    """With camera_state written at most every few seconds, a restart rebuilds it from transitions."""
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.UP}, T0)])
    store.state_flush_s = 3600.0
    store.apply([events("s1", [(1, "c1", T0 + timedelta(minutes=1), CameraState.DOWN),
                               (2, "c2", T0 + timedelta(minutes=2), CameraState.DEGRADED)], T0 + timedelta(minutes=3))])  # fmt: skip
    store.apply([events("s1", [(3, "c1", T0 + timedelta(seconds=30), CameraState.MAINTENANCE)], T0 + timedelta(minutes=4))])
    assert store.db.execute("SELECT state FROM cameras WHERE camera_id = 'c1'").fetchone() == (0,)  # not written yet
    again = StateStore(store.db, store.geography)
    for cam in ("c1", "c2"):
        assert again.current("s1", cam) == store.current("s1", cam)
    assert again.state_counts() == store.state_counts()
    store.flush_state()
    assert store.db.execute("SELECT state FROM cameras WHERE camera_id = 'c1'").fetchone() == (STATE_CODE[CameraState.DOWN],)


def test_redelivered_birth_and_events_are_never_stored_twice(store: StateStore) -> None:
    """A broker restart redelivers an old birth (lower last_event_id) then its events: the
    high-water mark must not go back and the old snapshot must not rewind the cameras."""
    first = birth("s1", {"c1": CameraState.UP}, T0, bd_seq=7)
    store.apply([first])
    e = [(1, "c1", T0 + timedelta(minutes=1), CameraState.DOWN), (2, "c1", T0 + timedelta(minutes=2), CameraState.UP),
         (3, "c1", T0 + timedelta(minutes=3), CameraState.DOWN)]  # fmt: skip
    store.apply([events("s1", e, T0 + timedelta(minutes=4))])
    rows = store.db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0]
    # the same birth again, after a restart of the store too (the birth's ts is persisted)
    store = StateStore(store.db, store.geography, start=T0)
    again = store.apply([first, events("s1", e, T0 + timedelta(minutes=5))])
    assert again.transitions == [] and again.duplicates == 4
    assert store.db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0] == rows
    assert store.current("s1", "c1")[0] == CameraState.DOWN  # type: ignore[index]
    # a birth with a lower last_event_id but a newer ts (a rebirth or a reset outbox) is applied,
    # and the mark stays: a redelivered old event is still a duplicate, a new one with a low id is not
    later = T0 + timedelta(minutes=6)
    reborn = store.apply([birth("s1", {"c1": CameraState.UP}, later, bd_seq=7, last_event_id=0)])
    assert [t.new_state for t in reborn.transitions] == [CameraState.UP]
    mixed = store.apply([events("s1", [e[2], (1, "c1", later + timedelta(minutes=1), CameraState.DOWN)],
                                later + timedelta(minutes=2))])  # fmt: skip
    assert mixed.duplicates == 1 and [t.new_state for t in mixed.transitions] == [CameraState.DOWN]
    assert mixed.committed_event_ids == {"s1": 3}


def test_interval_pieces_follow_the_seconds_per_state() -> None:
    from aggregator.store.compacted import interval_pieces

    at = to_ms(T0)
    until = (T0 + timedelta(hours=4)).isoformat()
    details = {"compacted": 5, "until": until, "s_down": 7200.0, "s_up": 3600.0, "s_degraded": 3600.0}
    assert interval_pieces(at, CameraState.DOWN, details) == [
        (at, CameraState.DOWN), (at + 7_200_000, CameraState.UP), (at + 10_800_000, CameraState.DEGRADED)]
    # rounding past `until` drops a piece; no usable until or seconds: the event alone
    short = {**details, "until": (T0 + timedelta(hours=3)).isoformat()}
    assert interval_pieces(at, CameraState.DOWN, short)[-1] == (at + 7_200_000, CameraState.UP)
    assert interval_pieces(at, CameraState.DOWN, {"compacted": 2, "until": "yesterday"}) == [(at, CameraState.DOWN)]
    assert interval_pieces(at, CameraState.UP, {"compacted": 2, "until": until}) == [(at, CameraState.UP)]


def test_compacted_interval_applies_each_states_seconds(store: StateStore) -> None:
    """The agent merged history into one event (down longest): 2 h down, 1 h up, 1 h degraded
    within [T0+1h, T0+5h). The stored time per state is exact, not 4 h of down."""
    from aggregator.availability import Window
    from aggregator.store.rollups import camera_totals

    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])
    until = T0 + timedelta(hours=5)
    details = {"compacted": 7, "until": until.isoformat(), "s_down": 7200.0, "s_up": 3600.0, "s_degraded": 3600.0}
    merged = Events(site="s1", ts=until, seq=1, events=[
        Event(id=5, camera_id="c1", at=T0 + timedelta(hours=1), state=CameraState.DOWN, reason=Reason.NO_VIDEO,
              details=details, historical=True),
        Event(id=6, camera_id="c1", at=until, state=CameraState.UP, historical=True)])  # fmt: skip
    inbound = Inbound(topic("s1", Kind.EVENTS), merged, until)
    result = store.apply([inbound])
    assert [t.new_state for t in result.transitions] == [
        CameraState.DOWN, CameraState.UP, CameraState.DEGRADED, CameraState.UP]
    h = 3_600_000
    cam = store.site_by_name["s1"].cameras["c1"]
    totals = camera_totals(store.db, cam, Window(to_ms(T0), to_ms(T0) + 6 * h))
    assert (totals.up_ms, totals.degraded_ms, totals.down_ms) == (3 * h, 1 * h, 2 * h)
    again = store.apply([inbound])
    assert again.duplicates == 2 and again.transitions == []


def test_compacted_interval_whose_last_event_is_stored_is_a_duplicate(store: StateStore) -> None:
    store.apply([birth("s1", {"c1": CameraState.UP}, T0)])
    plain = [(4, "c1", T0 + timedelta(hours=1), CameraState.DOWN), (5, "c1", T0 + timedelta(hours=3), CameraState.UP)]
    store.apply([events("s1", plain, T0 + timedelta(hours=3))])
    rows = store.db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0]
    details = {"compacted": 2, "until": (T0 + timedelta(hours=4)).isoformat(), "s_down": 7200.0, "s_up": 3600.0}
    merged = Events(site="s1", ts=T0 + timedelta(hours=4), seq=2, events=[
        Event(id=5, camera_id="c1", at=T0 + timedelta(hours=1), state=CameraState.DOWN, details=details)])  # fmt: skip
    result = store.apply([Inbound(topic("s1", Kind.EVENTS), merged, T0 + timedelta(hours=4))])
    assert result.duplicates == 1 and result.transitions == []
    assert store.db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0] == rows


def test_midnight_roll_writes_complete_camera_days_around_early_clocks(store: StateStore) -> None:
    """The roll writes every camera's whole day, also for a camera whose clock ran ahead and one
    that changed at midnight, both received an hour before it: nothing is stored later than the
    centre's now (issue 18), so both changes are placed at their receive time."""
    day0 = day_of(to_ms(T0))
    c0, c1 = day_start(day0), day_start(day0 + 1)
    store.apply([birth("s1", {"steady": CameraState.UP, "early": CameraState.UP, "edge": CameraState.UP,
                              "busy": CameraState.UP}, T0)])  # fmt: skip
    hour = timedelta(hours=1)
    at_c1 = datetime.fromtimestamp(c1 / 1000, UTC)
    before_midnight = at_c1 - hour
    store.apply([events("s1", [
        (1, "busy", T0 + hour, CameraState.DOWN),
        (2, "busy", T0 + 2 * hour, CameraState.UP),
        (3, "early", at_c1 + 2 * hour, CameraState.DOWN),  # an agent clock 3 h ahead
        (4, "edge", at_c1, CameraState.DEGRADED),
    ], before_midnight)])  # fmt: skip
    assert store.checkpoint == c0  # not rolled yet
    assert db_max_at(store) == to_ms(before_midnight)  # nothing dated after its receive time
    store.roll(at_c1 + 3 * hour)
    db = store.db
    rows = dict(db.execute(
        "SELECT k.camera_id, d.up_ms || ',' || d.degraded_ms || ',' || d.down_ms FROM camera_day d "
        "JOIN cameras k ON k.id = d.camera WHERE d.day = ?", [day0]).fetchall())  # fmt: skip
    t0 = to_ms(T0)
    full_up = f"{c1 - t0},0,0"
    last_hour = f"{c1 - t0 - 3_600_000}"
    assert rows == {"steady": full_up, "early": f"{last_hour},0,3600000", "edge": f"{last_hour},3600000,0",
                    "busy": f"{last_hour},0,3600000"}  # fmt: skip
    counts = db.execute("SELECT up_n, degraded_n, down_n FROM site_day WHERE day = ?", [day0 + 1]).fetchone()
    assert tuple(counts) == (2, 1, 1)  # at the midnight: "edge" degraded, "early" down since their receipt


def db_max_at(store: StateStore) -> int:
    return int(store.db.execute("SELECT MAX(at_ms) FROM transitions").fetchone()[0])
