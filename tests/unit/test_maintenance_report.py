"""The monthly report counts time inside maintenance windows as maintenance, once per camera,
and its figures equal the availability API's for the same area and month.

Hand-computed cases over October 2026 (Bangkok; Oct 1 is a Thursday, Oct 31 a Saturday).
Fleet: site A (Bangkok district 1001) cam1, cam2 up all month; site C (district 1002) camC
up all month; site B (Chiang Mai 5001) camB down all month.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlite_utils import Database

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.availability import Totals
from aggregator.days import BANGKOK, to_ms
from aggregator.geography import load_geography
from aggregator.reports.monthly import build_report, to_csv
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.maintenance import MaintenanceCalendar, WindowSpec
from aggregator.store.site_totals import planned_site_totals, raw_site_totals
from aggregator.store.state import Inbound, StateStore
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, Reason, SiteTopic

OCT1 = datetime(2026, 10, 1, tzinfo=BANGKOK)
NOW = datetime(2026, 11, 5, 12, tzinfo=BANGKOK)
H = 3_600_000
D = 24 * H
PEPPER = "test-pepper-0123456789"


def _at(day: int, hour: int = 0) -> datetime:
    """October ``day`` at ``hour`` o'clock, Bangkok."""
    return datetime(2026, 10, day, hour, tzinfo=BANGKOK)


def _fleet(db: Database, *, cam2_outage: bool = False) -> StateStore:
    store = StateStore(db, load_geography(db), start=OCT1)
    births = {
        ("10", "1001", "A"): {"cam1": CameraState.UP, "cam2": CameraState.UP},
        ("10", "1002", "C"): {"camC": CameraState.UP},
        ("50", "5001", "B"): {"camB": CameraState.DOWN},
    }
    store.apply([
        Inbound(SiteTopic(prov, dist, site, Kind.BIRTH), Birth(site=site, ts=OCT1, bd_seq=0, last_event_id=0, cameras=[
            BirthCamera(camera_id=c, state=s, since=OCT1,
                        reason=Reason.NONE if s is CameraState.UP else Reason.UNREACHABLE)
            for c, s in cams.items()]), OCT1)
        for (prov, dist, site), cams in births.items()
    ])  # fmt: skip
    if cam2_outage:  # cam2 down from Oct 11 00:00 to Oct 21 00:00 (10 days)
        for seq, (at, state) in enumerate(((_at(11), CameraState.DOWN), (_at(21), CameraState.UP)), start=1):
            reason = Reason.UNREACHABLE if state is CameraState.DOWN else Reason.NONE
            ev = Events(site="A", ts=at, seq=seq, events=[Event(id=seq, camera_id="cam2", at=at, state=state, reason=reason)])
            store.apply([Inbound(SiteTopic("10", "1001", "A", Kind.EVENTS), ev, at)])
    store.roll(NOW)
    return store


def _windows(db: Database, *specs: dict[str, object]) -> None:
    cal = MaintenanceCalendar(db)
    for spec in specs:
        cal.add(WindowSpec.model_validate(spec), OCT1)


@pytest.fixture
def db() -> Iterator[Database]:
    database = open_db(":memory:")
    yield database
    database.close()


def _row(report, code: str):  # type: ignore[no-untyped-def]
    return next(r for r in report.rows if r.code == code)


def test_no_window_changes_nothing(db: Database) -> None:
    _fleet(db, cam2_outage=True)
    window = build_report(db, "2026-10", now=NOW).window
    assert planned_site_totals(db, window) == raw_site_totals(db, window)
    report = build_report(db, "2026-10", now=NOW)
    assert _row(report, "10").totals == Totals(up_ms=62 * D + 21 * D, down_ms=10 * D)


def test_district_window_over_part_of_the_month(db: Database) -> None:
    _fleet(db, cam2_outage=True)
    # district 1001 from Oct 10 18:00 to Oct 12 06:00 (36 h): cam2 was up 6 h and down 30 h of it
    _windows(db, {"target_kind": "district", "target_id": "1001", "starts_at": _at(10, 18), "ends_at": _at(12, 6)})
    report = build_report(db, "2026-10", now=NOW)
    bkk = _row(report, "10")
    assert bkk.totals == Totals(up_ms=83 * D - 42 * H, down_ms=10 * D - 30 * H, maint_ms=72 * H)
    assert bkk.totals.available == pytest.approx((83 * D - 42 * H) / (93 * D - 72 * H))
    assert _row(report, "50").totals == Totals(down_ms=31 * D)  # another province: untouched
    assert build_report(db, "2026-10", "50", now=NOW).total.totals == Totals(down_ms=31 * D)
    # the province report: only district 1001's row moves
    prov = build_report(db, "2026-10", "10", now=NOW)
    assert _row(prov, "1001").totals.maint_ms == 72 * H
    assert _row(prov, "1002").totals == Totals(up_ms=31 * D)
    assert prov.total.totals == bkk.totals
    # the worst-sites table and the CSV carry the same figures
    site_a = next(s for s in prov.worst_sites if s.site_id == "A")
    assert site_a.totals.maint_ms == 72 * H
    lines = to_csv(prov, "en").splitlines()
    column = lines[0].split(",").index("Maintenance (h)")
    assert next(line for line in lines if line.startswith("1001,")).split(",")[column] == "72.00"


def test_overlapping_district_site_and_camera_windows_count_once(db: Database) -> None:
    _fleet(db)
    _windows(
        db,
        {"target_kind": "district", "target_id": "1001", "starts_at": _at(5), "ends_at": _at(6)},
        {"target_kind": "site", "target_id": "A", "starts_at": _at(5, 12), "ends_at": _at(6, 12)},
        {"target_kind": "camera", "target_id": "cam2", "starts_at": _at(6, 6), "ends_at": _at(7)},
        # inside the site's window: adds nothing
        {"target_kind": "camera", "target_id": "cam1", "starts_at": _at(5, 13), "ends_at": _at(5, 14)},
        # a camera window alone, in district 1002
        {"target_kind": "camera", "target_id": "camC", "starts_at": _at(8), "ends_at": _at(8, 10)},
    )
    report = build_report(db, "2026-10", "10", now=NOW)
    # cam1: Oct 5 00:00 - Oct 6 12:00 (36 h); cam2: Oct 5 00:00 - Oct 7 00:00 (48 h); camC: 10 h
    assert _row(report, "1001").totals == Totals(up_ms=62 * D - 84 * H, maint_ms=84 * H)
    assert _row(report, "1002").totals == Totals(up_ms=31 * D - 10 * H, maint_ms=10 * H)
    assert report.total.totals.maint_ms == 94 * H


def test_weekly_window_across_bangkok_midnight(db: Database) -> None:
    _fleet(db)
    # every Saturday 22:00-02:00 Bangkok at site B: Oct 3, 10, 17, 24 whole (4 x 4 h), and
    # Oct 31 22:00 - Nov 1 02:00 of which 2 h fall in October
    _windows(db, {"target_kind": "site", "target_id": "B", "weekday": 5, "start_time": time(22, 0),
                  "duration_min": 240})  # fmt: skip
    cm = _row(build_report(db, "2026-10", now=NOW), "50")
    assert cm.totals == Totals(down_ms=31 * D - 18 * H, maint_ms=18 * H)
    assert cm.totals.available == 0.0  # planned time is not known time: still all down
    # November so far (to Nov 5 12:00): the 2 h after midnight on Nov 1
    nov = _row(build_report(db, "2026-11", now=NOW), "50")
    assert nov.totals == Totals(down_ms=4 * D + 12 * H - 2 * H, maint_ms=2 * H)


def test_window_inside_the_current_day_is_exact(db: Database) -> None:
    """A span in the part of the month the writer has not rolled yet (read from transitions)."""
    store = _fleet(db, cam2_outage=True)
    # one more outage today (Nov 5, not rolled): cam1 down 08:00 - 10:00, district window 09:00 - 11:00
    for seq, (at, state) in enumerate(((datetime(2026, 11, 5, 8, tzinfo=BANGKOK), CameraState.DOWN),
                                        (datetime(2026, 11, 5, 10, tzinfo=BANGKOK), CameraState.UP)), start=3):  # fmt: skip
        ev = Events(site="A", ts=at, seq=seq, events=[Event(id=seq, camera_id="cam1", at=at, state=state,
                                                            reason=Reason.NONE)])  # fmt: skip
        store.apply([Inbound(SiteTopic("10", "1001", "A", Kind.EVENTS), ev, at)])
    _windows(db, {"target_kind": "district", "target_id": "1001", "starts_at": datetime(2026, 11, 5, 9, tzinfo=BANGKOK),
                  "ends_at": datetime(2026, 11, 5, 11, tzinfo=BANGKOK)})  # fmt: skip
    a = _row(build_report(db, "2026-11", "10", now=NOW), "1001").totals
    # two cameras from Nov 1 00:00 to Nov 5 12:00 (108 h each); cam1 down 08:00-09:00, the window 2 h each
    assert a == Totals(up_ms=2 * 108 * H - H - 4 * H, down_ms=H, maint_ms=4 * H)


# ----- the report equals the availability API ------------------------------------------------


def _previous_month(now: datetime) -> tuple[str, datetime]:
    first = now.astimezone(BANGKOK).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev = (first - timedelta(days=1)).replace(day=1)
    return prev.strftime("%Y-%m"), prev


@pytest.mark.calendar
def test_report_equals_the_availability_api(tmp_path: Path, now: datetime) -> None:
    month, start = _previous_month(now)
    path = tmp_path / "agg.db"
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, start=start)
    cams = {("10", "1001", "A"): ["cam1", "cam2", "cam3"], ("10", "1002", "C"): ["camC"], ("50", "5001", "B"): ["camB"]}
    store.apply([Inbound(SiteTopic(p, d, s, Kind.BIRTH), Birth(site=s, ts=start, bd_seq=0, cameras=[
        BirthCamera(camera_id=c, state=CameraState.UP, since=start) for c in ids]), start)
        for (p, d, s), ids in cams.items()])  # fmt: skip
    # outages that overlap the windows below, some crossing midnight
    seq = 0
    for day, hour, site, cam, state in ((3, 20, "A", "cam2", CameraState.DOWN), (4, 3, "A", "cam2", CameraState.UP),
                                        (6, 5, "A", "cam3", CameraState.DEGRADED), (9, 1, "A", "cam3", CameraState.UP),
                                        (7, 12, "B", "camB", CameraState.UNKNOWN), (8, 2, "B", "camB", CameraState.DOWN),
                                        (12, 0, "C", "camC", CameraState.DOWN), (12, 9, "C", "camC", CameraState.UP)):  # fmt: skip
        at = start + timedelta(days=day - 1, hours=hour)
        prov, dist = next((p, d) for (p, d, s) in cams if s == site)
        seq += 1
        ev = Events(site=site, ts=at, seq=seq, events=[Event(id=seq, camera_id=cam, at=at, state=state)])
        store.apply([Inbound(SiteTopic(prov, dist, site, Kind.EVENTS), ev, at)])
    store.roll(now)
    _windows(
        db,
        {"target_kind": "district", "target_id": "1001", "starts_at": start + timedelta(days=2, hours=22),
         "ends_at": start + timedelta(days=3, hours=2)},
        {"target_kind": "site", "target_id": "A", "weekday": 2, "start_time": time(23, 0), "duration_min": 180},
        {"target_kind": "camera", "target_id": "cam3", "starts_at": start + timedelta(days=5),
         "ends_at": start + timedelta(days=7, hours=6)},
        {"target_kind": "camera", "target_id": "camC", "starts_at": start + timedelta(days=11, hours=4),
         "ends_at": start + timedelta(days=11, hours=5)},
        {"target_kind": "site", "target_id": "B", "starts_at": start + timedelta(days=6),
         "ends_at": start + timedelta(days=6, hours=20)},
    )  # fmt: skip
    token = create_token(db, "viewer", "viewer", [], pepper=PEPPER, geography=geo)[1]
    app = create_app(AggregatorSettings(db_path=path, token_pepper=PEPPER), geo, store=store)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        nation = build_report(db, month)
        province = build_report(db, month, "10")
        asked = [("nation", None, nation.total.totals), ("province", "10", _row(nation, "10").totals),
                 ("province", "50", _row(nation, "50").totals), ("district", "1001", _row(province, "1001").totals),
                 ("district", "1002", _row(province, "1002").totals)]  # fmt: skip
        for level, key, totals in asked:
            params = {"level": level, "window": "month", "month": month, **({"key": key} if key else {})}
            api = client.get("/api/v1/availability", params=params, headers=auth).json()
            got = [round(api[f"{s}_s"] * 1000) for s in ("up", "degraded", "down", "unknown", "maintenance")]
            assert got == totals.as_list(), (level, key)
            assert api["available"] == pytest.approx(totals.available)
        # the report served over HTTP says the same
        served = client.get("/api/v1/reports/monthly", params={"month": month, "lang": "en"}, headers=auth).json()
        total = served["rows"][-1]
        assert total["maintenance_h"] == pytest.approx(nation.total.totals.maint_ms / H)
    assert nation.total.totals.maint_ms > 0
    assert to_ms(start) == nation.window.start_ms
    db.close()


def test_a_change_at_exactly_midnight_of_the_current_day_counts_once(db: Database) -> None:
    """Today's stored day-start counts already include a change at exactly midnight: the part of
    the month after the last roll must not add it again."""
    store = _fleet(db)
    midnight = datetime(2026, 11, 5, tzinfo=BANGKOK)  # the last roll; NOW is 12:00 the same day
    ev = Events(site="A", ts=midnight, seq=1, events=[Event(id=1, camera_id="cam1", at=midnight, state=CameraState.DOWN,
                                                            reason=Reason.UNREACHABLE)])  # fmt: skip
    store.apply([Inbound(SiteTopic("10", "1001", "A", Kind.EVENTS), ev, midnight)])
    a = _row(build_report(db, "2026-11", "10", now=NOW), "1001").totals
    # cam1 up Nov 1-4, down Nov 5 00:00-12:00; cam2 up throughout
    assert a == Totals(up_ms=4 * D + 108 * H, down_ms=12 * H)
