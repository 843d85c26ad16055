"""Availability maths against hand-computed cases, Bangkok midnights and month ends (issue 5)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.availability import (
    Totals,
    Window,
    WindowKind,
    advance_counts,
    integrate_timeline,
    month_window,
    plan_window,
    resolve_window,
    segment_totals,
)
from aggregator.days import (
    DAY_MS,
    date_to_day,
    day_of,
    day_start,
    day_to_date,
    from_ms,
    split_days,
    to_ms,
)

H = 3_600_000
UP, DEGRADED, DOWN, UNKNOWN, MAINT = range(5)


def ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def test_figures_leave_unknown_and_maintenance_out_of_known() -> None:
    t = Totals(up_ms=6 * H, degraded_ms=2 * H, down_ms=2 * H, unknown_ms=10 * H, maint_ms=4 * H)
    assert t.known_ms == 10 * H
    assert t.available == pytest.approx(0.8)
    assert t.usable == pytest.approx(0.6)
    assert Totals(unknown_ms=5).available is None and Totals().usable is None


def test_bangkok_days_match_zoneinfo() -> None:
    tz = ZoneInfo("Asia/Bangkok")
    for instant in (ms(2026, 10, 31, 16, 59, 59), ms(2026, 10, 31, 17, 0), ms(2000, 1, 1), ms(2030, 2, 28, 23)):
        local = from_ms(instant).astimezone(tz)
        assert day_to_date(day_of(instant)) == local.date()
        midnight = datetime.combine(local.date(), datetime.min.time(), tz)
        assert day_start(day_of(instant)) == to_ms(midnight)


def test_split_days_cuts_at_bangkok_midnight() -> None:
    # 16:00 UTC = 23:00 Bangkok; 19:00 UTC = 02:00 next Bangkok day
    parts = list(split_days(ms(2026, 10, 31, 16), ms(2026, 10, 31, 19)))
    assert [p[1] for p in parts] == [H, 2 * H]
    assert day_to_date(parts[0][0]) == date(2026, 10, 31) and day_to_date(parts[1][0]) == date(2026, 11, 1)


def test_timeline_across_midnight_hand_computed() -> None:
    # up from 22:00 Bangkok (15:00 UTC), down at 23:30 Bangkok, up again at 01:00 Bangkok
    points = [(ms(2026, 10, 31, 15), UP), (ms(2026, 10, 31, 16, 30), DOWN), (ms(2026, 10, 31, 18), UP)]
    day1 = Window(day_start(date_to_day(date(2026, 10, 31))), day_start(date_to_day(date(2026, 11, 1))))
    day2 = Window(day1.end_ms, day1.end_ms + DAY_MS)
    assert integrate_timeline(points, day1) == Totals(up_ms=int(1.5 * H), down_ms=int(0.5 * H))
    assert integrate_timeline(points, day2) == Totals(up_ms=23 * H, down_ms=H)


def test_camera_before_it_existed_counts_nothing() -> None:
    points = [(ms(2026, 1, 1, 12), UP)]
    assert integrate_timeline(points, Window(ms(2026, 1, 1), ms(2026, 1, 2))) == Totals(up_ms=12 * H)


def test_month_window_is_bangkok_calendar_month() -> None:
    w = month_window("2026-12")
    assert from_ms(w.start_ms) == datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert from_ms(w.end_ms) == datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert month_window("2026-02").end_ms - month_window("2026-02").start_ms == 28 * DAY_MS
    with pytest.raises(ValueError):
        month_window("2026-13")


def test_month_boundary_splits_outage_between_months() -> None:
    # down from 31 Oct 20:00 Bangkok to 1 Nov 04:00 Bangkok: 4 h in October, 4 h in November
    points = [(ms(2026, 10, 1), UP), (ms(2026, 10, 31, 13), DOWN), (ms(2026, 10, 31, 21), UP)]
    october = integrate_timeline(points, month_window("2026-10"))
    november = integrate_timeline(points, Window(month_window("2026-11").start_ms, ms(2026, 11, 2)))
    assert october.down_ms == 4 * H and november.down_ms == 4 * H
    assert october.up_ms == month_window("2026-10").end_ms - ms(2026, 10, 1) - 4 * H


def test_resolve_window_kinds() -> None:
    now = datetime(2026, 11, 15, 3, 30, tzinfo=UTC)  # 10:30 Bangkok
    assert resolve_window(WindowKind.LAST_HOUR, now) == Window(to_ms(now - timedelta(hours=1)), to_ms(now))
    assert resolve_window(WindowKind.TODAY, now).start_ms == ms(2026, 11, 14, 17)
    current = resolve_window(WindowKind.MONTH, now)
    assert current == Window(ms(2026, 10, 31, 17), to_ms(now))
    with pytest.raises(ValueError):
        resolve_window(WindowKind.CUSTOM, now, start=now, end=now - timedelta(hours=1))
    with pytest.raises(ValueError):
        resolve_window(WindowKind.MONTH, now, month="2027-01")


def test_segment_totals_delta_method_hand_computed() -> None:
    # 3 cameras up at 00:00; at 02:00 one goes down; at 05:00 it comes back; a 4th camera appears at 04:00 up
    start, end = 0, 6 * H
    changes = [(UP, DOWN, 1, 2 * H), (DOWN, UP, 1, 5 * H), (-1, UP, 1, 4 * H)]
    t = segment_totals([3, 0, 0, 0, 0], start, end, changes)
    assert t == Totals(up_ms=3 * 6 * H - 3 * H + 2 * H, down_ms=3 * H)
    assert advance_counts([3, 0, 0, 0, 0], [(UP, DOWN, 1), (-1, UNKNOWN, 2)]) == [2, 0, 1, 2, 0]


def test_plan_window_uses_whole_days_only_before_checkpoint() -> None:
    d = date_to_day(date(2026, 11, 1))
    w = Window(day_start(d) + 5 * H, day_start(d + 3) + 2 * H)
    plan = plan_window(w, checkpoint_ms=day_start(d + 2))
    assert (plan.first_day, plan.last_day) == (d + 1, d + 1)
    assert plan.segments == (
        (d, day_start(d) + 5 * H, day_start(d + 1)),
        (d + 2, day_start(d + 2), day_start(d + 3)),
        (d + 3, day_start(d + 3), day_start(d + 3) + 2 * H),
    )


# -- maintenance windows (hand-computed) ------------------------------------------------------

def test_span_union_subtraction_and_clipping() -> None:
    from aggregator.availability import clip_spans, merge_spans, subtract_spans

    assert merge_spans([(5, 9), (0, 2), (2, 3), (8, 12), (20, 20)]) == [(0, 3), (5, 12)]
    assert subtract_spans([(0, 10), (20, 30)], [(2, 4), (8, 22), (25, 26)]) == [(0, 2), (4, 8), (22, 25), (26, 30)]
    assert subtract_spans([(0, 10)], [(0, 10)]) == [] and subtract_spans([(0, 10)], []) == [(0, 10)]
    assert clip_spans([(-5, 3), (8, 40)], Window(0, 10)) == [(0, 3), (8, 10)]


def test_time_inside_maintenance_moves_to_maintenance() -> None:
    from aggregator.availability import with_maintenance

    total = Totals(up_ms=700, degraded_ms=100, down_ms=150, unknown_ms=40, maint_ms=10)
    inside = Totals(up_ms=50, degraded_ms=0, down_ms=150, unknown_ms=20, maint_ms=10)
    moved = with_maintenance(total, inside)
    assert moved == Totals(up_ms=650, degraded_ms=100, down_ms=0, unknown_ms=20, maint_ms=230)
    assert moved.available == 750 / 750 and moved.usable == 650 / 750


def test_weekly_window_crossing_bangkok_midnight() -> None:
    """A weekly window Sunday 22:00 Bangkok for 4 h covers Sun 22:00 - Mon 02:00. The camera is
    up from Sunday 00:00 except down from 23:00 to 01:00 (inside the window). Over the two
    Bangkok days Sun+Mon: 44 h up, 0 h down, 4 h maintenance; availability 1.0. Over Monday
    alone: 22 h up, 2 h maintenance."""
    from datetime import time as clock

    from aggregator.geography import load_geography
    from aggregator.schema import open_db
    from aggregator.store.maintenance import MaintenanceCalendar, WindowSpec
    from aggregator.store.rollups import Level, camera_totals, rollup_totals
    from aggregator.store.state import Inbound, StateStore
    from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, SiteTopic

    bkk = ZoneInfo("Asia/Bangkok")
    sunday = datetime(2026, 11, 22, 0, 0, tzinfo=bkk)  # a Sunday
    assert sunday.weekday() == 6
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=sunday)
    topic = SiteTopic("10", "1001", "s1", Kind.BIRTH)
    store.apply([Inbound(topic, Birth(site="s1", ts=sunday, bd_seq=0, cameras=[
        BirthCamera(camera_id="c1", state=CameraState.UP, since=sunday)]), sunday)])  # fmt: skip
    down, up = sunday + timedelta(hours=23), sunday + timedelta(hours=25)
    evs = Events(site="s1", ts=up, seq=1, events=[Event(id=1, camera_id="c1", at=down, state=CameraState.DOWN),
                                                  Event(id=2, camera_id="c1", at=up, state=CameraState.UP)])
    store.apply([Inbound(SiteTopic("10", "1001", "s1", Kind.EVENTS), evs, up)])
    end = sunday + timedelta(days=2)
    store.roll(end)
    h = 3_600_000
    two_days = Window(to_ms(sunday), to_ms(end))
    monday = Window(to_ms(sunday + timedelta(days=1)), to_ms(end))
    cam = store.site_by_name["s1"].cameras["c1"]
    assert camera_totals(db, cam, two_days) == Totals(up_ms=46 * h, down_ms=2 * h)  # no window yet
    MaintenanceCalendar(db).add(WindowSpec(target_kind="site", target_id="s1", weekday=6,
                                           start_time=clock(22, 0), duration_min=240), sunday)  # fmt: skip
    planned = Totals(up_ms=44 * h, maint_ms=4 * h)
    assert camera_totals(db, cam, two_days) == planned
    assert camera_totals(db, cam, monday) == Totals(up_ms=22 * h, maint_ms=2 * h)
    for level, key in [(Level.SITE, "s1"), (Level.DISTRICT, "1001"), (Level.PROVINCE, "10"), (Level.NATION, None)]:
        assert rollup_totals(db, level, key, two_days) == planned, level
        assert rollup_totals(db, level, key, two_days, live=store, now_ms=to_ms(end)) == planned, level
    assert planned.available == 1.0


@pytest.mark.calendar
def test_windows_at_each_calendar_instant(now: datetime) -> None:
    """Today and this month begin at a Bangkok midnight of the right date, whatever the date;
    the month window is as long as the month; the last-N windows are exact."""
    bangkok = now.astimezone(ZoneInfo("Asia/Bangkok"))
    midnight = bangkok.replace(hour=0, minute=0, second=0, microsecond=0)
    assert resolve_window(WindowKind.TODAY, now) == Window(to_ms(midnight), to_ms(now))
    month = resolve_window(WindowKind.MONTH, now)
    assert month == Window(to_ms(midnight.replace(day=1)), to_ms(now))
    whole = month_window(bangkok.strftime("%Y-%m"))
    assert whole.start_ms == month.start_ms
    assert whole.end_ms - whole.start_ms == calendar.monthrange(bangkok.year, bangkok.month)[1] * DAY_MS
    assert day_to_date(day_of(to_ms(now))) == bangkok.date()
    for kind, span in ((WindowKind.LAST_HOUR, timedelta(hours=1)), (WindowKind.LAST_24H, timedelta(days=1)),
                       (WindowKind.LAST_7D, timedelta(days=7)), (WindowKind.LAST_30D, timedelta(days=30))):  # fmt: skip
        assert resolve_window(kind, now) == Window(to_ms(now - span), to_ms(now))
