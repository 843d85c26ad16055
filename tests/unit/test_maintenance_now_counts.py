"""Cameras per state now: cameras under an active maintenance window count as maintenance in
what operators see (summaries, feed rollups), while the writer's own counts stay as reported."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from aggregator.days import BANGKOK
from aggregator.feed import Feed, FeedEvent
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.maintenance import MaintenanceCalendar, WindowSpec, load_windows
from aggregator.store.maintenance_now import (
    ActiveCover,
    CoveredCamera,
    DbCameras,
    LiveCameras,
    active_cover,
    adjust_counts,
    counts_now,
)
from aggregator.store.state import ApplyResult, Inbound, StateStore
from protocol import Birth, BirthCamera, CameraState, Kind, Reason, SiteTopic

NOW = datetime(2026, 11, 7, 23, 30, tzinfo=BANGKOK)  # a Saturday night in Bangkok
T0 = NOW - timedelta(days=3)
FLEET = {
    ("10", "1001", "A"): {"cam1": CameraState.UP, "cam2": CameraState.DOWN, "cam3": CameraState.UNKNOWN},
    ("10", "1001", "A2"): {"camX": CameraState.DEGRADED},
    ("10", "1002", "C"): {"camC": CameraState.DOWN, "camD": CameraState.UP},
    ("50", "5001", "B"): {"camB": CameraState.DOWN},
}
REPORTED = {"1001": [1, 1, 1, 1, 0], "1002": [1, 0, 1, 0, 0], "5001": [0, 0, 1, 0, 0]}


def _store(db: Database, start: datetime = T0) -> StateStore:
    store = StateStore(db, load_geography(db), start=start)
    store.apply([
        Inbound(SiteTopic(p, d, s, Kind.BIRTH), Birth(site=s, ts=start, bd_seq=0, cameras=[
            BirthCamera(camera_id=c, state=st, since=start, reason=Reason.NONE if st is CameraState.UP else Reason.UNREACHABLE)
            for c, st in cams.items()]), start)
        for (p, d, s), cams in FLEET.items()
    ])  # fmt: skip
    return store


def _add(db: Database, **spec: object) -> None:
    MaintenanceCalendar(db).add(WindowSpec.model_validate(spec), T0)


@pytest.fixture
def db() -> Iterator[Database]:
    database = open_db(":memory:")
    yield database
    database.close()


def test_weekly_window_across_midnight_is_active_only_inside() -> None:
    db = open_db(":memory:")
    _store(db)
    # Saturday 22:00 Bangkok for 4 h: active at 23:30 Saturday and 01:30 Sunday, not at 02:30
    _add(db, target_kind="site", target_id="C", weekday=5, start_time=time(22, 0), duration_min=240)
    windows = load_windows(db)
    assert active_cover(windows, NOW).sites == {"C"}
    assert active_cover(windows, NOW + timedelta(hours=2)).sites == {"C"}
    assert not active_cover(windows, NOW + timedelta(hours=3))
    assert not active_cover(windows, NOW - timedelta(hours=2))
    db.close()


def test_covered_cameras_count_as_maintenance_once(db: Database) -> None:
    store = _store(db)
    _add(db, target_kind="district", target_id="5001", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
    _add(db, target_kind="site", target_id="A", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
    # cam2 is also under its site's window: moved once; camC alone in district 1002
    _add(db, target_kind="camera", target_id="cam2", starts_at=NOW - timedelta(hours=2), ends_at=NOW + timedelta(hours=2))
    _add(db, target_kind="camera", target_id="camC", starts_at=NOW - timedelta(minutes=5), ends_at=NOW + timedelta(minutes=5))
    # over already, and not started yet
    _add(db, target_kind="district", target_id="1002", starts_at=NOW - timedelta(hours=3), ends_at=NOW - timedelta(hours=2))
    _add(db, target_kind="site", target_id="A2", starts_at=NOW + timedelta(minutes=1), ends_at=NOW + timedelta(hours=2))
    want = {"1001": [0, 1, 0, 0, 3], "1002": [1, 0, 0, 0, 1], "5001": [0, 0, 0, 0, 1]}
    assert counts_now(db, store, NOW) == want  # the writer's memory
    assert counts_now(db, None, NOW) == want  # the database (an API without the writer in-process)
    # the writer's own counts (used by the exact rollups) are untouched
    assert store.state_counts() == REPORTED
    # after the windows: as reported again
    assert counts_now(db, store, NOW + timedelta(hours=3)) == REPORTED


class _NoLookups:
    """A camera source that fails the test if it is asked anything."""

    def of_site(self, site_id: str) -> list[CoveredCamera]:
        raise AssertionError(f"site {site_id} looked up")

    def named(self, camera_id: str) -> list[CoveredCamera]:
        raise AssertionError(f"camera {camera_id} looked up")


def test_no_active_window_reads_no_camera_and_district_windows_none_either() -> None:
    counts = {"1001": [5, 1, 2, 3, 0], "1002": [1, 0, 0, 0, 0]}
    assert adjust_counts(counts, ActiveCover(), _NoLookups()) == counts
    # a whole district moves in one step, without listing its cameras
    cover = ActiveCover(districts=frozenset({"1001"}), window_ids=frozenset({1}))
    assert adjust_counts(counts, cover, _NoLookups()) == {"1001": [0, 0, 0, 0, 11], "1002": [1, 0, 0, 0, 0]}
    assert counts["1001"] == [5, 1, 2, 3, 0]  # the input is not changed


def test_a_camera_whose_state_moved_meanwhile_never_goes_below_zero() -> None:
    counts = {"1001": [0, 0, 1, 0, 0]}
    cover = ActiveCover(sites=frozenset({"A"}), window_ids=frozenset({1}))

    class Stale:
        def of_site(self, site_id: str) -> list[CoveredCamera]:
            # the camera is up in memory but the counts were read while it was still down
            return [CoveredCamera(1, "A", "1001", 0), CoveredCamera(2, "A", "1001", 2)]

        def named(self, camera_id: str) -> list[CoveredCamera]:
            return []

    assert adjust_counts(counts, cover, Stale()) == {"1001": [0, 0, 0, 0, 1]}


def test_both_camera_sources_agree(db: Database) -> None:
    store = _store(db)
    live, stored = LiveCameras(store, db), DbCameras(db)
    assert sorted(live.of_site("A")) == sorted(stored.of_site("A"))
    assert sorted(live.named("camC")) == sorted(stored.named("camC"))
    assert [c.state for c in stored.named("camC")] == [2]
    assert list(live.of_site("nowhere")) == [] and list(stored.named("nothing")) == []


@pytest.mark.calendar
def test_feed_rollups_count_maintenance_and_follow_window_edges(tmp_path: Path, now: datetime) -> None:
    """The service builds ``Feed(store.state_counts)``: the feed reads the windows (and the clock) itself."""
    db = open_db(tmp_path / "agg.db")
    store = _store(db, now - timedelta(days=1))
    clock = [100.0]
    feed = Feed(store.state_counts, clock=lambda: clock[0])

    async def run() -> list[FeedEvent]:
        client = feed.subscribe(None, asyncio.get_running_loop())
        feed.on_applied(ApplyResult())  # nothing active: nothing to say
        _add(db, target_kind="district", target_id="5001", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
        _add(db, target_kind="site", target_id="C", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
        clock[0] += 0.5
        feed.on_applied(ApplyResult())  # within the rollup interval: not looked at yet
        clock[0] += 1.0
        feed.on_applied(ApplyResult())  # windows started: every province's rollup
        clock[0] += 1.0
        feed.on_applied(ApplyResult())  # nothing new
        events, _ = await client.take(1.0)
        return events

    events = asyncio.run(run())
    assert [(e.kind, e.province) for e in events] == [("rollup", "10"), ("rollup", "50")]
    assert events[0].data["states"] == {"up": 1, "degraded": 1, "down": 1, "unknown": 1, "maintenance": 2}
    assert events[1].data["states"] == {"up": 0, "degraded": 0, "down": 0, "unknown": 0, "maintenance": 1}
    snap = feed.snapshot(frozenset({"50"}))
    assert snap.data["provinces"] == {"50": {"up": 0, "degraded": 0, "down": 0, "unknown": 0, "maintenance": 1}}
    db.close()


@pytest.mark.parametrize("name", ["aggregator.store.maintenance_now", "aggregator.store.site_totals", "aggregator.feed",
                                  "aggregator.reports.monthly", "aggregator.store.maintenance"])  # fmt: skip
def test_exported_members_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    assert not [member for member in exported if not hasattr(module, member)]
