"""History retention: camera detail before the floor is deleted, everything kept stays exact."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.days import day_of, day_start, day_to_date, to_ms
from aggregator.geography import load_geography
from aggregator.reports.monthly import build_report, to_csv, to_html, to_json
from aggregator.schema import open_db
from aggregator.service import Service
from aggregator.settings import AggregatorSettings
from aggregator.states import STATE_CODE
from aggregator.store import camera_log
from aggregator.store.retention import (
    MIN_KEEP_DAYS,
    floor_day,
    history_floor,
    last_rows_before,
    next_floor,
)
from aggregator.store.state import Inbound, StateStore
from aggregator.thaidate import date_text
from protocol import CameraState
from tests.unit.test_state_store import T0, birth, brute, events

KEEP = MIN_KEEP_DAYS
_COLS = "up_ms, degraded_ms, down_ms, unknown_ms, maint_ms"


def test_floor_is_the_first_of_a_month_and_keeps_at_least_the_days_asked() -> None:
    for day in range(day_of(to_ms(T0)), day_of(to_ms(T0)) + 400, 7):
        floor = floor_day(day_start(day), KEEP)
        assert day_to_date(floor).day == 1
        assert day - floor >= KEEP  # day: the checkpoint's day, not complete yet
        assert day - floor < KEEP + 32
    with pytest.raises(ValueError, match="at least"):
        floor_day(day_start(20000), KEEP - 1)


def test_settings_refuse_a_window_shorter_than_the_rollups_read() -> None:
    assert AggregatorSettings(history_keep_days=0).retention.history_keep_days == 0
    assert AggregatorSettings(history_keep_days=400).retention.history_keep_days == 400
    with pytest.raises(ValidationError, match="at least"):
        AggregatorSettings(history_keep_days=KEEP - 1)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_pruned_history_keeps_every_kept_total_exact(seed: int) -> None:
    """Random events over four months, late ones up to 70 days back, restarts, and pruning
    at every step after day 40 (as the service does each tick). Events older than the floor
    that arrive after it moved are not stored; every kept camera day and every site day equals
    brute force over what was stored."""
    rng = random.Random(seed)
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0, state_flush_s=3600.0)
    cams = ["a", "b", "c"]
    store.apply([birth("s1", dict.fromkeys(cams, CameraState.UP), T0)])
    timelines = {c: [(to_ms(T0), 0)] for c in cams}
    now, next_id, floors, refused = T0, 1, set(), 0
    for _ in range(230):
        now += timedelta(hours=rng.randint(6, 18))
        floor_ms = store.history_from_ms
        batch = []
        for _ in range(rng.randint(1, 3)):
            back = rng.choice([0, 0, rng.randint(1, 600), rng.randint(600, 60 * 24 * 70)])
            at = max(T0 + timedelta(seconds=1), now - timedelta(minutes=back, seconds=rng.randint(0, 59)))
            state = rng.choice([CameraState.UP, CameraState.DOWN, CameraState.DEGRADED, CameraState.MAINTENANCE])
            batch.append((next_id, rng.choice(cams), at, state))
            next_id += 1
        too_old = [b for b in batch if to_ms(b[2]) < floor_ms]
        for _i, cam, at, state in batch:
            if to_ms(at) >= floor_ms:
                timelines[cam].append((to_ms(at), STATE_CODE[state]))
        result = store.apply([events("s1", batch, now, historical=True)])
        assert result.committed_event_ids["s1"] == next_id - 1  # refused ones are acknowledged too
        if too_old:
            refused += len(too_old)
            assert result.rejected == [("s1", f"{len(too_old)} event(s) older than the kept camera history "
                                              f"(from {day_to_date(day_of(floor_ms))}) not stored")]  # fmt: skip
        else:
            assert result.rejected == []
        if now >= T0 + timedelta(days=40):
            report = store.prune_history(KEEP)
            floors.add(report.floor_day)
        if rng.random() < 0.15:  # restart: tails moved by carry rows come back from the database
            store = StateStore(db, store.geography, state_flush_s=3600.0)
    assert len(floors) >= 2 and refused > 0  # the floor moved more than once; late events hit it
    floor = day_of(store.history_from_ms)
    assert history_floor(db) == floor
    assert db.execute("SELECT COUNT(*) FROM transitions WHERE day < ?", [floor]).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM camera_day WHERE day < ?", [floor]).fetchone()[0] == 0
    horizon, checkpoint = to_ms(now), store.checkpoint
    for cam in cams:  # current state and since, from what was stored
        ordered = sorted(timelines[cam], key=lambda p: p[0])
        i = len(ordered) - 1
        while i > 0 and ordered[i - 1][1] == ordered[-1][1]:
            i -= 1
        state, _, since = store.current("s1", cam)  # type: ignore[misc]
        assert (STATE_CODE[state], to_ms(since)) == (ordered[-1][1], ordered[i][0]), cam
    site = store.site_by_name["s1"].id
    for day in range(day_of(to_ms(T0)), day_of(checkpoint)):
        a, b = day_start(day), day_start(day + 1)
        expected_site = [0] * 5
        for cam in cams:
            exact = brute(timelines[cam], a, min(b, horizon))
            expected_site = [x + y for x, y in zip(expected_site, exact, strict=True)]
            if day >= floor:
                row = db.execute(
                    f"SELECT {_COLS} FROM camera_day c JOIN cameras k ON k.id = c.camera "
                    "WHERE k.camera_id = ? AND day = ?", [cam, day]).fetchone()  # fmt: skip
                assert list(row) == exact, (cam, day)
        row = db.execute(f"SELECT {_COLS} FROM site_day WHERE site = ? AND day = ?", [site, day]).fetchone()
        assert list(row) == expected_site, day


def test_quiet_camera_keeps_its_state_and_since_across_the_floor() -> None:
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0)
    store.apply([birth("s1", {"quiet": CameraState.DOWN, "busy": CameraState.UP}, T0)])
    late = T0 + timedelta(days=90)
    store.apply([events("s1", [(1, "busy", late, CameraState.DEGRADED)], late)])
    report = store.prune_history(KEEP)
    # two moves of the first kept day (to 1 November, then 1 December), two cameras each
    assert report.floor_day is not None and report.carried == 4 and report.days_deleted > 30
    at = day_start(report.floor_day)
    carry = db.execute(
        "SELECT t.old_state, t.new_state, t.reason, t.event_id, t.historical FROM transitions t "
        "JOIN cameras k ON k.id = t.camera "
        "WHERE k.camera_id = 'quiet' AND t.at_ms = ?", [at]).fetchone()  # fmt: skip
    down = STATE_CODE[CameraState.DOWN]
    assert tuple(carry) == (down, down, "none", None, 1)
    state, _, since = store.current("s1", "quiet")  # type: ignore[misc]
    assert (state, to_ms(since)) == (CameraState.DOWN, to_ms(T0))  # down since long before the floor
    # its open interval now starts at the carry row, in memory and in the database, so readers
    # walking back from the tail (camera page, rollups) find its rows
    cam = store.site_by_name["s1"].cameras["quiet"]
    tail = db.execute("SELECT tail_ms FROM camera_state WHERE camera = ?", [cam]).fetchone()[0]
    assert tail == store.cols.tail[cam] == at
    assert [r[0] for r in camera_log.latest(db, cam, 5, tail=tail)] == [at]
    found = camera_log.last_at_or_before(db, cam, to_ms(late), tail=tail)
    assert found is not None and found[2] == down
    # a change after the floor lands on the carry row's open interval: the totals stay exact
    back = day_start(report.floor_day) + 3_600_000
    store.apply([events("s1", [(2, "quiet", T0 + timedelta(milliseconds=back - to_ms(T0)), CameraState.UP)], late)])
    row = db.execute(
        f"SELECT {_COLS} FROM camera_day c JOIN cameras k ON k.id = c.camera "
        "WHERE k.camera_id = 'quiet' AND day = ?", [report.floor_day]).fetchone()  # fmt: skip
    assert list(row) == [86_400_000 - 3_600_000, 0, 3_600_000, 0, 0]
    # a new camera whose birth says "down since" before the floor starts at the floor
    newcomer = birth("s2", {"new": CameraState.DOWN}, T0)  # received now, about a camera down since T0
    store.apply([Inbound(newcomer.topic, newcomer.message, late)])
    state, _, since = store.current("s2", "new")  # type: ignore[misc]
    assert (state, to_ms(since)) == (CameraState.DOWN, at)
    assert db.execute("SELECT COUNT(*) FROM transitions WHERE day < ?", [report.floor_day]).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM camera_day WHERE day < ?", [report.floor_day]).fetchone()[0] == 0
    again = store.prune_history(KEEP)  # nothing left to do until another month passes
    assert (again.floor_day, again.carried, again.days_deleted) == (report.floor_day, 0, 0)


@pytest.mark.calendar
def test_service_deletes_one_day_of_camera_history_per_tick(tmp_path: Path, now: datetime) -> None:
    service = Service(AggregatorSettings(db_path=tmp_path / "agg.db", history_keep_days=KEEP),
                      ingest=False, faults=False, clock=lambda: now)  # fmt: skip
    db = service.db
    born = now - timedelta(days=80)
    service.store.apply([birth("s1", {"c1": CameraState.UP}, born)])

    def days_left(floor: int) -> int:
        return int(db.execute("SELECT COUNT(*) FROM (SELECT day FROM transitions WHERE day < ? UNION "
                              "SELECT day FROM camera_day WHERE day < ?)", [floor, floor]).fetchone()[0])  # fmt: skip

    assert service.store.checkpoint == day_start(day_of(to_ms(now)))  # the store began on the service's clock
    floor = floor_day(service.store.checkpoint, KEEP)
    left = days_left(floor)
    # every day from the birth's to the one before the floor (a month start 35 to 66 days back:
    # 14 to 45 days, depending on the date; issue 12: this once assumed more than 20)
    assert left == floor - day_of(to_ms(born)) > 0
    while left:
        service.prune_history()
        assert days_left(floor) == left - 1
        left -= 1
    assert history_floor(db) == floor
    state, _, _ = service.store.current("s1", "c1")  # type: ignore[misc]
    assert state is CameraState.UP


@pytest.mark.calendar
def test_camera_availability_says_where_the_kept_history_begins(tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "agg.db"
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, start=now - timedelta(days=100))
    store.apply([birth("s1", {"c1": CameraState.UP}, now - timedelta(days=100))])
    store.roll(now)
    report = store.prune_history(KEEP)
    assert report.floor_day is not None and report.days_deleted > 0
    token = create_token(db, "ops", "viewer", [], pepper="pepper-0123456789", geography=geo)[1]
    settings = AggregatorSettings(db_path=path, token_pepper="pepper-0123456789")  # type: ignore[arg-type]
    with TestClient(create_app(settings, geo, store=store)) as client:
        def get(**params: str) -> dict[str, Any]:
            response = client.get("/api/v1/availability/cameras/s1/c1", params=params,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert response.status_code == 200, response.text
            return dict(response.json())

        start = now - timedelta(days=90)
        old = get(window="custom", start=start.isoformat(), end=now.isoformat())
        floor_ms = day_start(report.floor_day)
        assert old["history_from"] == day_to_date(report.floor_day).isoformat()
        # the figures cover the kept days only: the deleted part is in no state, never down
        assert old["up_s"] == pytest.approx((to_ms(now) - floor_ms) / 1000, abs=1)
        assert (old["down_s"], old["unknown_s"], old["usable"]) == (0, 0, 1.0)
        recent = get(window="last_7d")
        assert recent["history_from"] is None and recent["usable"] == 1.0


@pytest.mark.calendar
def test_monthly_report_leaves_never_seen_empty_before_the_kept_history(tmp_path: Path, now: datetime) -> None:
    db = open_db(tmp_path / "agg.db")
    store = StateStore(db, load_geography(db), start=now - timedelta(days=100))
    store.apply([birth("s1", {"c1": CameraState.UP, "c2": CameraState.DOWN}, now - timedelta(days=100))])
    store.roll(now)
    old_month = day_to_date(day_of(to_ms(now - timedelta(days=75)))).strftime("%Y-%m")
    before = build_report(db, old_month, "10", now=now, with_audit=False)
    assert before.total.never_seen == 0 and before.total.cameras == 2  # both seen that month
    report = store.prune_history(KEEP)
    assert report.floor_day is not None and day_to_date(report.floor_day).strftime("%Y-%m") > old_month
    after = build_report(db, old_month, "10", now=now, with_audit=False)
    assert after.total.never_seen is None and {r.never_seen for r in after.rows} == {None}
    assert after.total.totals == before.total.totals  # area totals are kept for ever
    assert ",," in to_csv(after, "en").splitlines()[-1]  # an empty cell, not a count of every camera
    floor_text = day_to_date(report.floor_day).isoformat()
    assert after.camera_history_from is not None and after.camera_history_from.isoformat() == floor_text
    assert to_json(after, "en")["camera_history_from"] == floor_text
    # the printed page says the date in words (Thai: Thai month and Buddhist-era year)
    floor_date = day_to_date(report.floor_day)
    assert f"Per-camera history is kept from {date_text(floor_date, 'en')}" in to_html(after, "en")
    assert f"ประวัติรายกล้องเก็บไว้ตั้งแต่ {date_text(floor_date, 'th')}" in to_html(after, "th")
    assert before.camera_history_from is None and "history-note" not in to_html(before, "th")
    this_month = build_report(db, day_to_date(day_of(to_ms(now))).strftime("%Y-%m"), "10", now=now, with_audit=False)
    assert this_month.total.never_seen == 0


def test_service_waits_before_trying_a_failed_prune_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = Service(AggregatorSettings(db_path=tmp_path / "agg.db", history_keep_days=KEEP),
                      ingest=False, faults=False, clock=lambda: T0)  # fmt: skip
    calls = []

    def failing(keep_days: int, *, max_days: int | None = None) -> None:
        calls.append(keep_days)
        raise OSError("database or disk is full")

    monkeypatch.setattr(service.store, "prune_history", failing)
    with pytest.raises(OSError):
        service.prune_history()
    service.prune_history()  # within PRUNE_RETRY_S: not tried, so the writer's lock is left alone
    assert calls == [KEEP]


def test_the_search_for_a_midnight_state_stops_at_the_current_first_kept_day() -> None:
    """Rows older than the current first kept day are stood for by its carry rows: the next
    move never reads them, even before they are deleted (so no move reads more than a month)."""
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0)
    store.apply([birth("s1", {"old": CameraState.DOWN}, T0)])
    cam = store.site_by_name["s1"].cameras["old"]
    need = bytearray(cam + 1)
    later = day_of(to_ms(T0)) + 60
    need[cam] = 1
    assert [r[0] for r in last_rows_before(db, later, bytearray(need), since=None)] == [cam]
    assert list(last_rows_before(db, later, bytearray(need), since=day_of(to_ms(T0)) + 1)) == []
    assert next_floor(db, None, later) == day_of(to_ms(T0)) + 1  # 31 October -> 1 November
    assert next_floor(db, day_of(to_ms(T0)) + 1, later) == day_of(to_ms(T0)) + 31  # -> 1 December
