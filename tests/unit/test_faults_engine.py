"""Fault rules (issue 6): one fault per real problem, site hold-back, flapping, areas, lifecycle."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.faults.model import (
    FaultAction,
    FaultKind,
    FaultRules,
    FaultStatus,
    RepairNote,
    Resolution,
)
from aggregator.faults.rules import FaultEngine, FaultNotFound, FaultStateError, StillFailing
from aggregator.faults.stats import response_figures
from aggregator.store.state import Transition
from protocol import CameraState, Reason

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
UP, DOWN, DEG, UNK = CameraState.UP, CameraState.DOWN, CameraState.DEGRADED, CameraState.UNKNOWN


def cam(at: float, camera: str, new: CameraState, reason: Reason = Reason.NONE, *, site: str = "s1",
        district: str = "1001", historical: bool = False) -> Transition:
    return Transition(site, district[:2], district, camera, None, new, reason, T0 + timedelta(seconds=at), historical)


def site(at: float, new: CameraState, *, name: str = "s1", district: str = "1001") -> Transition:
    reason = Reason.SITE_OFFLINE if new is UNK else Reason.NONE
    return Transition(name, district[:2], district, None, None, new, reason, T0 + timedelta(seconds=at), False)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_down_opens_with_reason_and_up_resolves_with_duration() -> None:
    engine = FaultEngine()
    [opened] = engine.process([cam(0, "c1", DOWN, Reason.UNREACHABLE)], t(1))
    assert opened.action is FaultAction.OPENED and opened.fault.reason is Reason.UNREACHABLE
    assert opened.fault.kind is FaultKind.CAMERA and opened.fault.site == "s1"
    [resolved] = engine.process([cam(300, "c1", UP)], t(301))
    assert resolved.action is FaultAction.RESOLVED and resolved.fault.resolution is Resolution.AUTO
    assert resolved.fault.duration_s == 300
    assert engine.active() == []


def test_unknown_and_maintenance_states_neither_open_nor_resolve() -> None:
    engine = FaultEngine()
    assert engine.process([cam(0, "c1", UNK, Reason.SITE_OFFLINE)], t(0)) == []
    engine.process([cam(1, "c2", DOWN, Reason.FROZEN)], t(1))
    assert engine.process([cam(2, "c2", CameraState.MAINTENANCE, Reason.PLANNED)], t(2)) == []
    assert [f.camera_id for f in engine.active()] == ["c2"]


def test_site_power_cut_is_one_site_fault_and_cameras_still_down_get_their_own() -> None:
    engine = FaultEngine()
    cams = [f"c{i}" for i in range(64)]
    # Core's death: the site-level transition first, then every camera unknown/site_offline.
    death = [site(0, UNK)] + [cam(0, c, UNK, Reason.SITE_OFFLINE) for c in cams]
    changes = engine.process(death, t(0))
    assert [(c.action, c.fault.kind) for c in changes] == [(FaultAction.OPENED, FaultKind.SITE)]
    # Birth after power returns: site up first, then 60 cameras up and 4 still down.
    birth = [site(600, UP)] + [cam(600, c, UP if i >= 4 else DOWN, Reason.UNREACHABLE) for i, c in enumerate(cams)]
    changes = engine.process(birth, t(600))
    assert changes[0].action is FaultAction.RESOLVED and changes[0].fault.kind is FaultKind.SITE
    opened = [c.fault.camera_id for c in changes if c.action is FaultAction.OPENED]
    assert opened == ["c0", "c1", "c2", "c3"]


def test_camera_failures_inside_a_dead_site_are_held_until_it_returns() -> None:
    engine = FaultEngine()
    engine.process([site(0, UNK)], t(0))
    # A camera down reported while the site fault is open (ordering within a batch).
    assert engine.process([cam(1, "c9", DOWN, Reason.STREAM_FAILED)], t(1)) == []
    changes = engine.process([site(60, UP)], t(60))
    assert [(c.action, c.fault.kind, c.fault.camera_id) for c in changes] == [
        (FaultAction.RESOLVED, FaultKind.SITE, None),
        (FaultAction.OPENED, FaultKind.CAMERA, "c9"),
    ]


def test_flapping_camera_gets_one_flapping_fault_not_a_stream() -> None:
    engine = FaultEngine(FaultRules(flap_changes=4, flap_window_s=600))
    ids = set()
    actions = []
    for i in range(40):  # every 30 s for 20 minutes
        state = DOWN if i % 2 == 0 else UP
        for c in engine.process([cam(30 * i, "c1", state, Reason.UNREACHABLE)], t(30 * i)):
            ids.add(c.fault.id)
            actions.append(c.action)
    assert ids == {1}
    assert actions.count(FaultAction.FLAPPING) == 1
    assert engine.active()[0].kind is FaultKind.FLAPPING
    # Still up for a whole window: the flapping fault ends.
    engine.process([cam(30 * 40, "c1", UP)], t(30 * 40))
    [end] = engine.tick(t(30 * 40 + 601))
    assert end.action is FaultAction.RESOLVED and end.fault.kind is FaultKind.FLAPPING


def test_failure_within_reopen_window_reopens_same_fault() -> None:
    engine = FaultEngine(FaultRules(reopen_window_s=3600))
    engine.process([cam(0, "c1", DOWN, Reason.FROZEN)], t(0))
    engine.process([cam(1000, "c1", UP)], t(1000))
    [again] = engine.process([cam(2000, "c1", DOWN, Reason.FROZEN)], t(2000))
    assert again.action is FaultAction.REOPENED and again.fault.id == 1 and again.fault.reopen_count == 1
    engine.process([cam(3000, "c1", UP)], t(3000))
    [new] = engine.process([cam(9000, "c1", DOWN, Reason.FROZEN)], t(9000))
    assert new.action is FaultAction.OPENED and new.fault.id == 2


def test_whole_district_silent_is_one_district_fault_holding_site_faults() -> None:
    engine = FaultEngine(FaultRules(area_min_sites=3, area_fraction=0.9), sites_in_district=lambda d: 4)
    changes = []
    for i in range(4):
        changes += engine.process([site(i, UNK, name=f"s{i}")], t(i))
    kinds = [(c.action, c.fault.kind) for c in changes]
    assert kinds.count((FaultAction.OPENED, FaultKind.DISTRICT)) == 1
    assert kinds.count((FaultAction.HELD, FaultKind.SITE)) == 4
    district = next(f for f in engine.active() if f.kind is FaultKind.DISTRICT)
    assert all(f.parent_id == district.id for f in engine.active() if f.kind is FaultKind.SITE)
    # Three sites return: the district fault ends; the one still gone stands alone now.
    back = []
    for i in range(3):
        back += engine.process([site(100 + i, UP, name=f"s{i}")], t(100 + i))
    assert (FaultAction.RESOLVED, FaultKind.DISTRICT) in [(c.action, c.fault.kind) for c in back]
    released = [c for c in back if c.action is FaultAction.RELEASED]
    assert [c.fault.site for c in released] == ["s3"]


def test_province_fault_when_most_districts_go_silent() -> None:
    engine = FaultEngine(
        FaultRules(area_min_sites=3, area_fraction=0.9),
        sites_in_district=lambda d: 3,
        districts_in_province=lambda p: 2,
    )
    changes = []
    for d in ("1001", "1002"):
        for i in range(3):
            changes += engine.process([site(i, UNK, name=f"{d}-{i}", district=d)], t(i))
    assert [c.fault.kind for c in changes if c.action is FaultAction.OPENED].count(FaultKind.PROVINCE) == 1
    assert sum(1 for f in engine.active() if f.parent_id is None) == 1


def test_historical_transitions_make_faults_that_are_not_live() -> None:
    engine = FaultEngine()
    [c] = engine.process([cam(0, "c1", DOWN, Reason.UNREACHABLE, historical=True)], t(5000))
    assert not c.live and c.fault.historical


def test_backfilled_recovery_older_than_a_live_fault_does_not_resolve_it() -> None:
    # A replay of 30 days of history after a birth used to close the current live fault with a
    # resolution time before its opening: negative repair times in the committee report.
    engine = FaultEngine()
    [opened] = engine.process([cam(1000, "c1", DOWN, Reason.UNREACHABLE)], t(1001))
    assert engine.process([cam(-86400, "c1", UP, historical=True)], t(1002)) == []
    [fault] = engine.active()
    assert fault.id == opened.fault.id and fault.resolved_at is None
    [resolved] = engine.process([cam(1600, "c1", UP)], t(1601))
    assert resolved.fault.duration_s == 600


def test_lifecycle_acknowledge_resolve_with_note_and_wont_fix() -> None:
    engine = FaultEngine(FaultRules(escalate_after_s=(60.0,)))
    [a] = engine.process([cam(0, "c1", DOWN, Reason.OBSTRUCTED)], t(0))
    engine.mark_alerted(a.fault.id, t(1))
    [esc] = engine.tick(t(61))
    assert esc.action is FaultAction.ESCALATED and esc.fault.escalation_level == 1
    [ack] = engine.acknowledge(1, "somchai", t(120))
    assert ack.fault.status is FaultStatus.ACKNOWLEDGED and ack.fault.acknowledged_by == "somchai"
    with pytest.raises(FaultStateError):
        engine.acknowledge(1, "somchai", t(121))
    with pytest.raises(StillFailing, match=r"^camera c1 is still down \(obstructed\)$"):
        engine.resolve(1, "somchai", RepairNote("cleaned the lens", "none", 150.0), t(890))
    engine.process([cam(895, "c1", UP)], t(895))  # the clean lens works: resolved by the recovery
    [done] = engine.resolve(1, "somchai", RepairNote("cleaned the lens", "none", 150.0), t(900))
    assert done.fault.resolution is Resolution.TECHNICIAN and done.fault.cost == 150.0
    assert done.fault.note == "cleaned the lens" and done.fault.resolved_at == t(895)
    with pytest.raises(FaultNotFound):
        engine.resolve(1, "x", RepairNote("again"), t(901))
    engine.process([cam(1000, "c2", DOWN, Reason.SCENE_CHANGED)], t(1000))
    [closed] = engine.resolve(2, "lead", RepairNote("camera is to be replaced next year"), t(1100), wont_fix=True)
    assert closed.fault.status is FaultStatus.WONT_FIX and closed.action is FaultAction.CLOSED


def test_engine_rebuilds_from_active_faults() -> None:
    first = FaultEngine()
    first.process([site(0, UNK)], t(0))
    again = FaultEngine(next_id=2, active=first.active())
    assert again.site_offline("s1")
    assert again.process([cam(1, "c1", DOWN, Reason.UNREACHABLE)], t(1)) == []


def test_mtta_mttr_per_province_district_and_agency() -> None:
    engine = FaultEngine(agency_of=lambda s: "police" if s == "s1" else "city")
    engine.process([cam(0, "a", DOWN, Reason.UNREACHABLE, site="s1", district="1001")], t(0))
    engine.process([cam(0, "b", DOWN, Reason.UNREACHABLE, site="s2", district="5001")], t(0))
    changes = engine.acknowledge(1, "x", t(60)) + engine.acknowledge(2, "y", t(180))
    changes += engine.process([cam(600, "a", UP, site="s1", district="1001")], t(600))
    changes += engine.process([cam(1200, "b", UP, site="s2", district="5001")], t(1200))
    faults = [c.fault for c in changes if c.action is FaultAction.RESOLVED]
    by_province = response_figures(faults, t(-1), t(10), by="province")
    assert [(r.group, r.mtta_s, r.mttr_s) for r in by_province] == [("10", 60.0, 600.0), ("50", 180.0, 1200.0)]
    [nation] = response_figures(faults, t(-1), t(10), by="nation")
    assert nation.mtta_s == 120.0 and nation.mttr_s == 900.0
    assert [r.group for r in response_figures(faults, t(-1), t(10), by="agency")] == ["city", "police"]
    assert response_figures(faults, t(10), t(20)) == []


# -- replayed history against the real StateStore (issue 6: faults consistent with the present) --

def _store_and_engine() -> tuple[object, FaultEngine]:
    from aggregator.geography import load_geography
    from aggregator.schema import open_db
    from aggregator.store.state import StateStore

    db = open_db(":memory:")
    return StateStore(db, load_geography(db), start=T0), FaultEngine()


def _inbound_birth(state: CameraState, at: datetime, bd_seq: int = 1) -> object:
    from aggregator.store.state import Inbound
    from protocol import Birth, BirthCamera, Kind, SiteTopic

    msg = Birth(site="s1", ts=at, bd_seq=bd_seq,
                cameras=[BirthCamera(camera_id="c1", state=state, since=at,
                                     reason=Reason.NONE if state is UP else Reason.UNREACHABLE)])  # fmt: skip
    return Inbound(SiteTopic("10", "1001", "s1", Kind.BIRTH), msg, at)


def _inbound_replay(evs: list[tuple[int, float, CameraState]], received: datetime) -> object:
    from aggregator.store.state import Inbound
    from protocol import Event, Events, Kind, SiteTopic

    msg = Events(site="s1", ts=received, seq=1, events=[
        Event(id=i, camera_id="c1", at=t(at), state=s, historical=True,
              reason=Reason.NONE if s is UP else Reason.UNREACHABLE) for i, at, s in evs])  # fmt: skip
    return Inbound(SiteTopic("10", "1001", "s1", Kind.EVENTS), msg, received)


def test_replayed_outage_whose_recovery_is_already_stored_does_not_stay_open() -> None:
    """The birth says c1 is up since 2 h; the replay brings a down at 0 s whose recovery (the
    birth's row) is already in the timeline: the fault is recorded, closed, never alerted."""
    store, engine = _store_and_engine()
    now = t(7200)
    changes = engine.process(store.apply([_inbound_birth(UP, now)]).transitions, now)  # type: ignore[attr-defined]
    assert changes == []
    result = store.apply([_inbound_replay([(1, 0, DOWN)], now)])  # type: ignore[attr-defined]
    [down] = result.transitions
    assert down.ends_at == now and down.current is UP and down.historical
    changes = engine.process(result.transitions, now)
    assert [(c.action, c.live) for c in changes] == [(FaultAction.OPENED, False), (FaultAction.RESOLVED, False)]
    assert changes[-1].fault.resolved_at == now and engine.active() == []


def test_replayed_outage_with_its_own_recovery_resolves_at_the_recovery() -> None:
    store, engine = _store_and_engine()
    now = t(7200)
    store.apply([_inbound_birth(UP, now)])  # type: ignore[attr-defined]
    result = store.apply([_inbound_replay([(1, 0, DOWN), (2, 600, UP)], now)])  # type: ignore[attr-defined]
    changes = engine.process(result.transitions, now)
    assert [(c.action, c.fault.resolved_at) for c in changes] == [(FaultAction.OPENED, None),
                                                                  (FaultAction.RESOLVED, t(600))]
    assert engine.active() == []


def test_backfilled_recovery_cannot_close_a_current_live_fault() -> None:
    """c1 is down now (live fault since 1 h); a replay inserts up-then-down episodes inside the
    fault's run: the live fault stays open (the camera is still down)."""
    store, engine = _store_and_engine()
    store.apply([_inbound_birth(UP, t(0))])  # type: ignore[attr-defined]
    from aggregator.store.state import Inbound
    from protocol import Event, Events, Kind, SiteTopic

    down_now = Events(site="s1", ts=t(3600), seq=2, events=[
        Event(id=5, camera_id="c1", at=t(3600), state=DOWN, reason=Reason.UNREACHABLE)])  # fmt: skip
    result = store.apply([Inbound(SiteTopic("10", "1001", "s1", Kind.EVENTS), down_now, t(3600))])  # type: ignore[attr-defined]
    [opened] = engine.process(result.transitions, t(3600))
    assert opened.action is FaultAction.OPENED and opened.live
    # a replay of an older id: a down at 30 min (before the live one, after the birth's up)
    result = store.apply([_inbound_replay([(3, 1800, DOWN), (4, 2400, UP)], t(3700))])  # type: ignore[attr-defined]
    assert [(tr.new_state, tr.current) for tr in result.transitions] == [(DOWN, DOWN), (UP, DOWN)]
    changes = engine.process(result.transitions, t(3700))
    assert [c.action for c in changes] == []  # the live fault's camera key is taken: nothing to record
    [still] = engine.active()
    assert still.id == opened.fault.id and still.status is FaultStatus.OPEN


def test_camera_failing_in_replayed_history_alerts_when_its_site_returns() -> None:
    """Site silent; the replay shows c1 failing (historical, held under the site fault); the
    site returns with no change for c1: it is failing NOW, so its fault is live (alerted)."""
    engine = FaultEngine()
    engine.process([site(0, UNK)], t(0))
    assert engine.process([cam(10, "c1", DOWN, Reason.UNREACHABLE, historical=True)], t(20)) == []
    changes = engine.process([site(60, UP)], t(60))
    opened = [c for c in changes if c.fault.camera_id == "c1"]
    assert [(c.action, c.live) for c in opened] == [(FaultAction.OPENED, True)]


def test_fault_opened_from_history_alerts_once_confirmed_live() -> None:
    engine = FaultEngine()
    [opened] = engine.process([cam(0, "c1", DOWN, Reason.UNREACHABLE, historical=True)], t(1))
    assert not opened.live
    changes = engine.process([cam(30, "c1", DOWN, Reason.NO_VIDEO)], t(31))
    assert [(c.action, c.live) for c in changes] == [(FaultAction.UPDATED, True), (FaultAction.RELEASED, True)]
    assert not changes[-1].fault.historical
    # a further live confirmation does not alert again
    assert engine.process([cam(40, "c1", DOWN, Reason.UNREACHABLE)], t(41))[-1].action is FaultAction.UPDATED


@pytest.mark.calendar
@pytest.mark.parametrize("check", [
    test_down_opens_with_reason_and_up_resolves_with_duration,
    test_flapping_camera_gets_one_flapping_fault_not_a_stream,
    test_failure_within_reopen_window_reopens_same_fault,
    test_mtta_mttr_per_province_district_and_agency,
], ids=lambda check: check.__name__.removeprefix("test_"))  # fmt: skip
def test_fault_timing_at_each_calendar_instant(
    check: Callable[[], None], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    """The same timing rules with the transitions at month ends, 29 February and a Bangkok midnight."""
    monkeypatch.setattr(sys.modules[__name__], "T0", now)
    check()
