"""Maintenance windows (issue 6): one-off and weekly (Asia/Bangkok), levels, exact intervals."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from aggregator.days import BANGKOK
from aggregator.schema import open_db
from aggregator.store.maintenance import (
    MaintenanceCalendar,
    MaintenanceTarget,
    TargetKind,
    WindowSpec,
)

MON = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 07:00 in Bangkok
CAM = MaintenanceTarget("1001", "s1", "cam-1")


@pytest.fixture
def calendar() -> MaintenanceCalendar:
    return MaintenanceCalendar(open_db(":memory:"))


def test_weekly_window_is_in_bangkok_time(calendar: MaintenanceCalendar) -> None:
    # Tuesdays 01:00-03:00 Bangkok = Monday 18:00-20:00 UTC.
    spec = WindowSpec(target_kind=TargetKind.SITE, target_id="s1", weekday=1, start_time=time(1, 0), duration_min=120)
    calendar.add(spec, MON)
    assert calendar.in_maintenance(CAM, MON + timedelta(hours=18, minutes=30))
    assert not calendar.in_maintenance(CAM, MON + timedelta(hours=20))
    assert not calendar.in_maintenance(CAM, MON + timedelta(hours=1))
    assert calendar.in_maintenance(CAM, MON + timedelta(days=7, hours=19))
    assert calendar.window_end(CAM, MON + timedelta(hours=19)) == MON + timedelta(hours=20)
    spans = calendar.intervals(CAM, MON, MON + timedelta(days=14))
    assert spans == [(MON + timedelta(hours=18), MON + timedelta(hours=20)),
                     (MON + timedelta(days=7, hours=18), MON + timedelta(days=7, hours=20))]  # fmt: skip


def test_window_on_a_district_covers_its_cameras_but_not_others(calendar: MaintenanceCalendar) -> None:
    calendar.add(WindowSpec(target_kind=TargetKind.DISTRICT, target_id="1001", starts_at=MON,
                            ends_at=MON + timedelta(hours=2)), MON)  # fmt: skip
    assert calendar.in_maintenance(CAM, MON + timedelta(hours=1))
    assert not calendar.in_maintenance(MaintenanceTarget("1002", "s7", "cam-9"), MON + timedelta(hours=1))
    assert not calendar.in_maintenance(CAM, MON + timedelta(hours=2))


def test_overlapping_windows_merge_and_clip(calendar: MaintenanceCalendar) -> None:
    calendar.add(WindowSpec(target_kind=TargetKind.CAMERA, target_id="cam-1", starts_at=MON,
                            ends_at=MON + timedelta(hours=2)), MON)  # fmt: skip
    calendar.add(WindowSpec(target_kind=TargetKind.SITE, target_id="s1", starts_at=MON + timedelta(hours=1),
                            ends_at=MON + timedelta(hours=3)), MON)  # fmt: skip
    spans = calendar.intervals(CAM, MON + timedelta(minutes=30), MON + timedelta(hours=10))
    assert spans == [(MON + timedelta(minutes=30), MON + timedelta(hours=3))]


def test_delete_and_reload(calendar: MaintenanceCalendar) -> None:
    w = calendar.add(WindowSpec(target_kind=TargetKind.SITE, target_id="s1", starts_at=MON,
                                ends_at=MON + timedelta(hours=1)), MON)  # fmt: skip
    calendar.reload()
    assert [x.id for x in calendar.windows()] == [w.id]
    assert calendar.delete(w.id) and not calendar.delete(w.id)
    assert not calendar.in_maintenance(CAM, MON + timedelta(minutes=5))


@pytest.mark.parametrize(
    "fields",
    [
        {"starts_at": MON},  # no end
        {"starts_at": MON, "ends_at": MON - timedelta(hours=1)},  # end before start
        {"weekday": 1, "start_time": "01:00"},  # no duration
        {"starts_at": MON, "ends_at": MON + timedelta(hours=1), "weekday": 1},  # both kinds
        {},  # neither
        {"weekday": 7, "start_time": "01:00", "duration_min": 10},
        {"starts_at": MON, "ends_at": MON + timedelta(hours=1), "colour": "red"},  # unknown field
    ],
)
def test_window_spec_refuses_bad_windows(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WindowSpec.model_validate({"target_kind": "site", "target_id": "s1", **fields})


@pytest.mark.calendar
def test_windows_around_each_calendar_instant(calendar: MaintenanceCalendar, now: datetime) -> None:
    """A weekly window from 23:00 Bangkok for three hours crosses midnight (a month's end, the
    year's, 29 February) and covers the same hours a week later; a one-off window covers now."""
    tonight = now.astimezone(BANGKOK).replace(hour=23, minute=0, second=0, microsecond=0)
    calendar.add(WindowSpec(target_kind=TargetKind.SITE, target_id="s1", weekday=tonight.weekday(),
                            start_time=time(23, 0), duration_min=180), now)  # fmt: skip
    three = timedelta(hours=3)
    week = timedelta(days=7)
    spans = calendar.intervals(CAM, tonight - timedelta(hours=1), tonight + week + timedelta(hours=4))
    assert spans == [(tonight, tonight + three), (tonight + week, tonight + week + three)]
    assert calendar.in_maintenance(CAM, tonight + three - timedelta(minutes=1))
    assert not calendar.in_maintenance(CAM, tonight + three)
    other = MaintenanceTarget("1002", "s2", "cam-2")
    calendar.add(WindowSpec(target_kind=TargetKind.CAMERA, target_id="cam-2", starts_at=now - timedelta(minutes=1),
                            ends_at=now + timedelta(hours=1)), now)  # fmt: skip
    assert calendar.in_maintenance(other, now) and calendar.window_end(other, now) == now + timedelta(hours=1)
