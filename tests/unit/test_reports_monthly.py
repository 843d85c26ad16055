"""Committee reports: exact monthly figures from a fleet written by the real StateStore."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from aggregator.days import BANGKOK
from aggregator.geography import load_geography
from aggregator.reports.monthly import build_report, to_csv, to_html, to_json
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    parse_site_topic,
    site_topic,
)

OCT1 = datetime(2026, 10, 1, tzinfo=BANGKOK)


def _topic(site: str, kind: Kind, province: str = "10", district: str = "1001"):  # type: ignore[no-untyped-def]
    return parse_site_topic(site_topic(province, district, site, kind))


@pytest.fixture
def fleet():  # type: ignore[no-untyped-def]
    db = open_db(":memory:")
    geo = load_geography(db)
    store = StateStore(db, geo, start=OCT1)
    t0 = OCT1
    # site A in Bangkok (1001): two cameras up from Oct 1; cam2 down Oct 11..21 (10 days)
    birth_a = Birth(site="A", ts=t0, bd_seq=0, last_event_id=0, cameras=[
        BirthCamera(camera_id="cam1", state=CameraState.UP, since=t0),
        BirthCamera(camera_id="cam2", state=CameraState.UP, since=t0),
    ])
    # site B in Chiang Mai (5001): one camera, down the whole month
    birth_b = Birth(site="B", ts=t0, bd_seq=0, last_event_id=0, cameras=[
        BirthCamera(camera_id="camB", state=CameraState.DOWN, reason=Reason.UNREACHABLE, since=t0),
    ])
    # site C in Bangkok (1002): one camera that nobody ever saw (unknown all month)
    birth_c = Birth(site="C", ts=t0, bd_seq=0, last_event_id=0, cameras=[
        BirthCamera(camera_id="camC", state=CameraState.UNKNOWN, since=t0),
    ])
    store.apply([
        Inbound(_topic("A", Kind.BIRTH), birth_a, t0),
        Inbound(_topic("B", Kind.BIRTH, "50", "5001"), birth_b, t0),
        Inbound(_topic("C", Kind.BIRTH, "10", "1002"), birth_c, t0),
    ])
    down_at, up_at = t0 + timedelta(days=10), t0 + timedelta(days=20)
    store.apply([Inbound(_topic("A", Kind.EVENTS), Events(site="A", ts=down_at, seq=1, events=[
        Event(id=1, camera_id="cam2", at=down_at, state=CameraState.DOWN, reason=Reason.STREAM_FAILED)]), down_at)])
    store.apply([Inbound(_topic("A", Kind.EVENTS), Events(site="A", ts=up_at, seq=2, events=[
        Event(id=2, camera_id="cam2", at=up_at, state=CameraState.UP)]), up_at)])
    store.roll(datetime(2026, 11, 5, tzinfo=BANGKOK))
    # two faults: one opened and closed in October (5 h), one opened in October still open
    from aggregator.faults.store import migrate_faults  # faults' own tables

    migrate_faults(db)
    # fault 3: a resolution stamped before its opening (a backfilled recovery): no repair time
    faults = ((1, down_at, down_at + timedelta(hours=5)), (2, up_at, None), (3, up_at, up_at - timedelta(hours=50)))
    for fid, opened, resolved in faults:
        db["faults"].insert({
            "id": fid, "kind": "camera", "status": "resolved" if resolved else "open", "province": "10",
            "district": "1001", "site": "A", "camera_id": "cam2", "state": "down", "reason": "stream_failed",
            "opened_at": opened.isoformat(), "first_opened_at": opened.isoformat(),
            "resolved_at": resolved.isoformat() if resolved else None, "resolution": "repaired" if resolved else None,
        })
    yield db
    db.close()


NOW = datetime(2026, 11, 5, 12, tzinfo=BANGKOK)


def test_nation_report_is_exact(fleet) -> None:  # type: ignore[no-untyped-def]
    report = build_report(fleet, "2026-10", now=NOW)
    assert len(report.rows) == 77  # every province, even those without cameras
    bkk = next(r for r in report.rows if r.code == "10")
    day = 86_400_000
    assert bkk.cameras == 3
    assert bkk.totals.up_ms == 31 * day + 21 * day
    assert bkk.totals.down_ms == 10 * day
    assert bkk.totals.available == pytest.approx(52 / 62)
    assert bkk.never_seen == 1  # camC
    assert (bkk.faults_opened, bkk.faults_closed) == (3, 2)
    assert bkk.mttr_h == pytest.approx(5.0)  # the backwards one is not averaged in
    cm = next(r for r in report.rows if r.code == "50")
    assert cm.totals.available == 0.0
    assert report.total.cameras == 4
    assert report.total.totals.down_ms == 41 * day
    # worst site first: B (0 %), then A
    assert [s.site_id for s in report.worst_sites] == ["B", "A"]


def test_province_report_rows_are_districts(fleet) -> None:  # type: ignore[no-untyped-def]
    report = build_report(fleet, "2026-10", "10", now=NOW)
    codes = [r.code for r in report.rows]
    assert "1001" in codes and "1002" in codes and all(c.startswith("10") for c in codes)
    assert next(r for r in report.rows if r.code == "1002").never_seen == 1
    assert report.total.totals.available == pytest.approx(52 / 62)
    assert [s.site_id for s in report.worst_sites] == ["A"]  # C was never known: no figure to rank


def test_current_month_is_cut_at_now(fleet) -> None:  # type: ignore[no-untyped-def]
    report = build_report(fleet, "2026-11", "10", now=NOW)
    # 4.5 days of November so far, three cameras known up (A: 2) / unknown (C)
    assert report.total.totals.up_ms == 2 * int(4.5 * 86_400_000)
    with pytest.raises(ValueError):
        build_report(fleet, "2026-12", now=NOW)


def test_exports_in_thai_and_english(fleet) -> None:  # type: ignore[no-untyped-def]
    report = build_report(fleet, "2026-10", now=NOW)
    rows = list(csv.reader(io.StringIO(to_csv(report, "th"))))
    assert rows[0][:4] == ["รหัส", "พื้นที่", "กล้อง", "พร้อมใช้งาน"]
    bkk = next(r for r in rows if r[0] == "10")
    assert bkk[1] == "กรุงเทพมหานคร" and bkk[3] == f"{52 / 62 * 100:.2f}"
    en = list(csv.reader(io.StringIO(to_csv(report, "en"))))
    assert en[0][1] == "Area" and next(r for r in en if r[0] == "10")[1] == "Bangkok"
    html = to_html(report, "th")
    assert "กรุงเทพมหานคร" in html and 'lang="th"' in html and "<script" not in html
    assert "83.9%" in html  # 52/62
    data = to_json(report, "en")
    assert data["rows"][-1]["code"] == "TH" and data["worst_sites"][0]["site_id"] == "B"
    audit = data["audit"]  # the register audit's section rides along (no register imported: zeros)
    assert isinstance(audit, dict) and audit["declared"] == 0 and "verified" in audit["classes"]


def test_never_seen_inside_the_day_not_rolled_yet() -> None:
    """A window after the last midnight rolled has no daily rows: a camera known through it
    (changing only after its end) is seen; one unknown through it (known only after) is not."""
    from aggregator.availability import Window
    from aggregator.days import to_ms
    from aggregator.reports.monthly import _never_seen

    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=OCT1)
    hour = timedelta(hours=1)
    birth = Birth(site="A", ts=OCT1 + hour, bd_seq=0, last_event_id=0, cameras=[
        BirthCamera(camera_id="known", state=CameraState.UP, since=OCT1 + hour),
        BirthCamera(camera_id="dark", state=CameraState.UNKNOWN, since=OCT1 + hour),
    ])  # fmt: skip
    later = OCT1 + 5 * hour
    events = Events(site="A", ts=later, seq=1, events=[
        Event(id=1, camera_id="known", at=later, state=CameraState.DOWN, reason=Reason.UNREACHABLE),
        Event(id=2, camera_id="dark", at=later, state=CameraState.UP),
    ])  # fmt: skip
    store.apply([Inbound(_topic("A", Kind.BIRTH), birth, OCT1 + hour), Inbound(_topic("A", Kind.EVENTS), events, later)])
    assert store.checkpoint == to_ms(OCT1)  # the whole window is in the day not rolled yet
    window = Window(to_ms(OCT1 + 2 * hour), to_ms(OCT1 + 4 * hour))
    site = store.site_by_name["A"].id
    assert _never_seen(db, window, None) == {site: 1}
    # once the day is rolled its daily rows answer for whole days (report windows are whole months)
    store.roll(OCT1 + timedelta(days=1, hours=1))
    assert _never_seen(db, Window(to_ms(OCT1), to_ms(OCT1 + timedelta(days=1))), None) == {}
    assert _never_seen(db, Window(to_ms(OCT1 + timedelta(days=1)), to_ms(OCT1 + timedelta(days=1, hours=2))), None) == {}
