"""The committee pack (issue 14): every section's figures on a worked country, the page in Thai
(Thai month names, Buddhist-era years, no raw keys), the charts' structure, and the calendar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from aggregator.days import BANGKOK
from aggregator.geography import load_geography
from aggregator.reports.monthly import build_report
from aggregator.reports.pack import SECTIONS, build_pack
from aggregator.reports.pack_render import pack_html, pack_json
from aggregator.reports.render import CSV_BOM, csv_bytes, to_csv, to_html
from aggregator.reports.svg import Bar, Series, column_chart, hbar_chart, line_chart
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.settings.report import ReportSettings, parse_targets
from aggregator.store.state import Inbound, StateStore
from aggregator.thaidate import date_text, datetime_text, month_text, previous_month
from protocol import Birth, BirthCamera, CameraState, Kind, SiteTopic
from tests.rig.pack_fleet import MONTH, NOW, build_pack_fleet

SETTINGS = ReportSettings(province_targets="50=80")


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = build_pack_fleet(tmp_path_factory.mktemp("pack") / "agg.db")
    yield db
    db.close()


def test_thai_words_for_dates() -> None:
    assert month_text("2026-12", "th") == "ธันวาคม 2569" and month_text("2026-12", "en") == "December 2026"
    assert previous_month("2027-01") == "2026-12" and previous_month("2028-03") == "2028-02"
    assert date_text(date(2028, 2, 29), "th") == "29 กุมภาพันธ์ 2571"
    assert date_text(date(2026, 12, 31), "th", short=True) == "31 ธ.ค. 2569"
    # Bangkok midnight at the turn of the year: 17:00 UTC on 31 December is already 2570 in Thailand
    assert datetime_text(datetime(2026, 12, 31, 16, 59, tzinfo=UTC), "th") == "31 ธันวาคม 2569 23:59 น."
    assert datetime_text(datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "th") == "1 มกราคม 2570 00:00 น."
    with pytest.raises(ValueError):
        month_text("2026-13", "th")


def test_targets_setting() -> None:
    assert parse_targets("10=97, 50 = 92.5;\n11:90") == {"10": 97.0, "50": 92.5, "11": 90.0}
    for bad in ("10=101", "1=90", "10=97,10=98", "Bangkok=90"):
        with pytest.raises(ValueError):
            ReportSettings(province_targets=bad)
    settings = AggregatorSettings.model_validate({"report": {"target_pct": 90, "province_targets": "10=97"}})
    assert settings.report.targets() == {"10": 97.0} and settings.report.target_figure == "usable"


def test_pack_sections_on_the_worked_country(country: Database) -> None:
    pack = build_pack(country, MONTH, None, SETTINGS, now=NOW)
    assert [s.key for s in pack.sections] == ["ranking", "comparison", "daily", "ageing", "mttr", "repairs", "plan",
                                              "audit", "completeness", "risk", "recording", "advisories",
                                              "signoff"]  # fmt: skip
    assert len(pack.sections) == len(SECTIONS)
    data = pack_json(pack, "th")
    sec = data["sections"]
    assert isinstance(sec, dict)
    assert data["month_text"] == "พฤศจิกายน 2569" and "พฤศจิกายน 2569" in str(data["title"])
    # ranking: Chiang Mai 0 % against its own 80 %, Bangkok 56/60 against the national 95 %
    ranking = sec["ranking"]
    top = [(r["code"], r["rank"], r["target"], r["gap_pts"], r["meets"]) for r in ranking["rows"][:2]]
    assert top == [("50", 1, 0.8, -80.0, False), ("10", 2, 0.95, pytest.approx(-1.6667), False)]
    assert (ranking["met"], ranking["missed"], ranking["no_data"]) == (0, 2, 75)
    assert ranking["total"]["value"] == pytest.approx(56 / 90) and ranking["total"]["target"] == 0.95
    # month on month: October 52/62 in Bangkok
    bkk = next(r for r in sec["comparison"]["rows"] if r["code"] == "10")
    assert bkk["usable_before"] == pytest.approx(52 / 62)
    assert bkk["usable_change_pts"] == pytest.approx((56 / 60 - 52 / 62) * 100, abs=1e-3)
    assert sec["comparison"]["previous_month"] == "2026-10"
    # by day: 30 days, Bangkok's a2 down 10-13 November: 1 of 3 cameras usable
    days = sec["daily"]["days"]
    assert len(days) == 30 and days[0]["date"] == "2026-11-01"
    assert days[10]["usable"] == pytest.approx(1 / 3) and days[20]["usable"] == pytest.approx(2 / 3)
    assert sec["ageing"]["total"] == {"lt_1d": 1, "1_7d": 1, "7_30d": 1, "gt_30d": 1, "open": 4}
    assert sec["mttr"]["total"] == {"resolved": 2, "mean_h": 27.0, "median_h": 27.0,
                                    "before": {"resolved": 1, "mean_h": 240.0, "median_h": 240.0}}  # fmt: skip
    assert sec["repairs"]["total"] == {"opened": 6, "resolved": 2, "wont_fix": 1, "with_cost": 2, "with_parts": 2,
                                       "cost": 2000.5}  # fmt: skip
    assert sec["repairs"]["parts"] == [{"name": "PSU", "count": 2}, {"name": "lens", "count": 1}]
    audit = {r["code"]: r for r in sec["audit"]["rows"]}
    assert audit["10"]["classes"]["verified"] == 2 and audit["10"]["verified_share"] == 1.0
    assert audit["50"]["classes"]["declared_but_broken"] == 1 and audit["50"]["classes"]["ghost"] == 1
    assert sec["audit"]["total"]["declared"] == 4
    assert [p["name"] for p in sec["risk"]["uncovered"]] == ["ประตูท่าแพ"] and sec["risk"]["uncovered_total"] == 1
    # no agent of the worked country reports recording figures, no camera has a maker: both sections say so
    assert sec["recording"]["rows"] == [] and sec["recording"]["total"]["cameras"] == 0
    assert sec["advisories"]["rows"] == [] and sec["advisories"]["origin"] == "shipped"


def test_province_pack_ranks_districts_against_the_province_target(country: Database) -> None:
    pack = build_pack(country, MONTH, "50", SETTINGS, now=NOW)
    ranking = pack.section("ranking").data
    assert ranking["total"] == {**ranking["total"], "code": "50", "target": 0.8, "value": 0.0}  # type: ignore[dict-item]
    rows = ranking["rows"]
    assert isinstance(rows, list) and {r["target"] for r in rows} == {0.8} and rows[0]["code"] == "5001"
    assert pack.section("ageing").data["total"] == {"lt_1d": 1, "1_7d": 0, "7_30d": 0, "gt_30d": 1, "open": 2}
    assert pack_json(build_pack(country, MONTH, "10", SETTINGS, now=NOW), "en")["sections"]["risk"]["uncovered"] == []  # type: ignore[index]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_pack_page_is_thai_with_charts_and_no_script(country: Database) -> None:
    pack = build_pack(country, MONTH, None, SETTINGS, now=NOW)
    html = pack_html(pack, "th")
    assert "<script" not in html and html.count("<svg") == 3
    text = _text(html)
    for words in ("พฤศจิกายน 2569", "ตุลาคม 2569", "1 ธันวาคม 2569 00:00 น.", "ตามทะเบียนแต่ชำรุด",
                  "มีในทะเบียนแต่ไม่พบจริง", "จุดเสี่ยงอาชญากรรม", "มากกว่า 30 วัน", "2,000.50", "−1.7", "ผู้อนุมัติ"):  # fmt: skip
        assert words in text, words
    for raw in ("declared_but_broken", "ghost", "gt_30d", "2026-11", "crime"):  # no key, no ISO month for a reader
        assert raw not in text, raw
    for key in ("ranking", "comparison", "daily", "ageing", "mttr", "repairs", "plan", "audit", "completeness", "risk",
                "recording", "advisories", "signoff"):  # fmt: skip
        assert f'id="sec-{key}"' in html
    # charts: a bar per province (two short of target), two lines of 30 days, four age columns
    hbar = re.search(r'<svg[^>]*class="chart hbar".*?</svg>', html, re.S)
    assert hbar and hbar.group(0).count('class="bar ') == 77 and hbar.group(0).count('class="bar short"') == 2
    line = re.search(r'<svg[^>]*class="chart line".*?</svg>', html, re.S)
    assert line and line.group(0).count('class="series"') == 2 and line.group(0).count('class="point"') == 60
    cols = re.search(r'<svg[^>]*class="chart columns".*?</svg>', html, re.S)
    assert cols and cols.group(0).count('class="column"') == 4
    english = _text(pack_html(pack, "en"))
    assert "November 2026" in english and "Declared but broken" in english and "พฤศจิกายน" not in english
    assert "Repair plan by province" in english and "Verified by an agent" in english and "No register yet (75)" in english
    assert html == pack_html(build_pack(country, MONTH, None, SETTINGS, now=NOW), "th")  # deterministic


def test_svg_charts_are_deterministic_and_escaped() -> None:
    bars = [Bar("<ก>", 0.97, 0.95), Bar("b", 0.5, 0.95), Bar("c", None, 0.95)]
    svg = hbar_chart(bars)
    assert svg == hbar_chart(bars) and "&lt;ก&gt;" in svg and "<ก>" not in svg
    assert re.findall(r'class="bar (\w+)"', svg) == ["meets", "short", "none"]
    assert svg.count('class="target"') == 3 and "97.0%" in svg
    line = line_chart([Series("usable", [0.9, None, 1.0])], ["1", "2", "3"], target=0.95)
    assert line.count('class="point"') == 2 and line.count('class="target"') == 1 and ">90%<" in line
    assert column_chart([("a", 0), ("b", 3)]).count("<title>b: 3</title>") == 1


def test_monthly_report_speaks_thai_and_its_csv_has_a_bom(country: Database) -> None:
    report = build_report(country, MONTH, now=NOW)
    html = to_html(report, "th")
    assert "ประจำเดือนพฤศจิกายน 2569" in html and "ตามทะเบียนแต่ชำรุด" in html and "declared_but_broken" not in html
    data = csv_bytes(to_csv(report, "th"))
    assert data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8-sig").startswith("รหัส,พื้นที่")
    assert CSV_BOM == "\ufeff"


# The Bangkok month of every calendar instant (tests/clock.py CALENDAR and PINNED): its words and
# last month's, written out rather than computed, so the code under test is not its own oracle.
_MONTH_WORDS = {
    "2027-03": ("มีนาคม 2570", "กุมภาพันธ์ 2570"), "2027-01": ("มกราคม 2570", "ธันวาคม 2569"),
    "2027-02": ("กุมภาพันธ์ 2570", "มกราคม 2570"), "2027-04": ("เมษายน 2570", "มีนาคม 2570"),
    "2027-05": ("พฤษภาคม 2570", "เมษายน 2570"), "2027-12": ("ธันวาคม 2570", "พฤศจิกายน 2570"),
    "2026-12": ("ธันวาคม 2569", "พฤศจิกายน 2569"), "2028-02": ("กุมภาพันธ์ 2571", "มกราคม 2571"),
    "2028-03": ("มีนาคม 2571", "กุมภาพันธ์ 2571"), "2026-11": ("พฤศจิกายน 2569", "ตุลาคม 2569"),
}  # fmt: skip


@pytest.mark.calendar
def test_pack_of_the_running_month_in_bangkok(tmp_path: Path, now: datetime) -> None:
    """The month, last month and the days are Bangkok's: at 00:01 on 1 March in Bangkok (17:01
    UTC on 29 February) the pack is March's with one day, and January's last month is December."""
    db = open_db(tmp_path / "agg.db")
    start = now - timedelta(days=40)
    store = StateStore(db, load_geography(db), start=start)
    store.apply([Inbound(SiteTopic("10", "1001", "S", Kind.BIRTH), Birth(site="S", ts=start, bd_seq=0, cameras=[
        BirthCamera(camera_id="c1", state=CameraState.UP, since=start)]), start)])  # fmt: skip
    store.roll(now)
    local = now.astimezone(BANGKOK)
    month = f"{local.year}-{local.month:02d}"
    pack = pack_json(build_pack(db, month, "10", SETTINGS, now=now), "th")
    this, last = _MONTH_WORDS[month]
    sections = pack["sections"]
    assert isinstance(sections, dict)
    assert pack["month_text"] == this and month_text(sections["comparison"]["previous_month"], "th") == last
    days = sections["daily"]["days"]
    assert len(days) == local.day and days[-1]["date"] == local.date().isoformat()
    assert days[-1]["usable"] == 1.0 and sections["comparison"]["total"]["usable_before"] == 1.0
    db.close()


@pytest.mark.parametrize("name", [
    "aggregator.thaidate", "aggregator.settings.report", "aggregator.reports.pack", "aggregator.reports.pack_render",
    "aggregator.reports.section", "aggregator.reports.targets", "aggregator.reports.comparison",
    "aggregator.reports.daily", "aggregator.reports.repairs", "aggregator.reports.audit_pack",
    "aggregator.reports.svg", "aggregator.reports.pdf", "aggregator.reports.labels", "aggregator.reports.render",
    "aggregator.reports.plan_pack", "aggregator.reports.completeness_pack", "aggregator.reports.audit_section",
])  # fmt: skip
def test_exported_members_exist(name: str) -> None:
    import importlib

    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__)) and all(hasattr(module, m) for m in module.__all__)


def test_months_before_the_protocol_are_refused_and_the_first_has_no_last_month(country: Database) -> None:
    with pytest.raises(ValueError, match="before 2000-01"):
        build_pack(country, "1999-12", None, SETTINGS, now=NOW)
    first = build_pack(country, "2000-01", None, SETTINGS, now=NOW)
    assert first.previous is None and first.section("comparison").data["previous_month"] is None
    assert "มกราคม 2543" in pack_html(first, "th")


def test_pack_workbook_has_a_sheet_per_table_with_numbers(country: Database) -> None:
    import io

    import openpyxl

    from aggregator.reports.pack_xlsx import pack_xlsx

    book = openpyxl.load_workbook(io.BytesIO(pack_xlsx(build_pack(country, MONTH, None, SETTINGS, now=NOW), "th")))
    assert book.sheetnames == ["สรุปผลรายพื้นที่", "ผลเทียบกับเป้าหมาย", "เปรียบเทียบกับเดือนก่อน", "ความพร้อมใช้งานรายวัน",
                               "อายุเหตุขัดข้องที่ยังไม่แก้ไข", "เวลาซ่อมแซม", "ความคืบหน้าการซ่อมและค่าใช้จ่าย",
                               "แผนการซ่อมรายจังหวัด", "ผลการตรวจสอบทะเบียนกล้องรายพื้นที่"[:31],
                               "ความครบถ้วนของทะเบียนและการรับรอง"[:31], "จุดเสี่ยงที่ยังไม่มีกล้องใช้งานได้"[:31],
                               "การบันทึกภาพและการเก็บภาพย้อนหลัง"[:31], "ช่องโหว่เฟิร์มแวร์ที่ประกาศแล้ว"]  # fmt: skip
    summary = book["สรุปผลรายพื้นที่"]
    assert "พฤศจิกายน 2569" in str(summary["A1"].value) and summary["A2"].value == "รหัส"
    bkk = next(r for r in summary.iter_rows(min_row=3, values_only=True) if r[0] == "10")
    assert bkk[3] == pytest.approx(56 / 60)
    ranking = list(book["ผลเทียบกับเป้าหมาย"].iter_rows(min_row=2, values_only=True))
    assert ranking[0][:7] == (1, "เชียงใหม่", 1, 0.0, 0.8, -80.0, "ไม่ผ่าน")
    assert book["ผลเทียบกับเป้าหมาย"]["E2"].number_format == "0.0%"
    ageing = list(book["อายุเหตุขัดข้องที่ยังไม่แก้ไข"].iter_rows(values_only=True))
    assert ageing[0][1:] == ("น้อยกว่า 1 วัน", "1–7 วัน", "7–30 วัน", "มากกว่า 30 วัน", "เหตุขัดข้องที่ยังเปิดอยู่")
    assert ageing[-1] == ("ประเทศไทย", 1, 1, 1, 1, 4)
    assert list(book["ความคืบหน้าการซ่อมและค่าใช้จ่าย"].iter_rows(values_only=True))[-1][1:] == (6, 2, 1, 2, 2000.5)
    plan = list(book["แผนการซ่อมรายจังหวัด"].iter_rows(values_only=True))
    assert plan[0][:3] == ("พื้นที่", "รายการในแผน", "ยังต้องซ่อม") and plan[-1] == ("ประเทศไทย", 6, 6, 0, 0.0, 0, None, 2000.5)
    complete = list(book["ความครบถ้วนของทะเบียนและการรับรอง"[:31]].iter_rows(min_row=2, values_only=True))
    assert complete[0][:4] == (1, "กรุงเทพมหานคร", 2, 1.0) and len(complete) == 78  # 77 provinces and the nation
    assert complete[1][8:11] == (0.0, 1, 0) and complete[1][-3:] == (None, None, None)  # Chiang Mai: a ghost
    risk = list(book["จุดเสี่ยงที่ยังไม่มีกล้องใช้งานได้"[:31]].iter_rows(min_row=2, values_only=True))
    assert risk == [("ประตูท่าแพ", "จุดเสี่ยงอาชญากรรม", "เชียงใหม่", 1, 0, 0)]


def _copy(country: Database, path: Path) -> Database:
    """A copy of the worked country to change (the module's country stays as the other tests read it)."""
    import sqlite3

    target = sqlite3.connect(path)
    country.conn.backup(target)
    target.close()
    return open_db(path)


def _line_counts(db: Database, column: str = "province") -> dict[str, dict[str, int]]:
    """The oracle: every current reconciliation line counted, as the report did before the runs' counts."""
    out: dict[str, dict[str, int]] = {}
    for area, klass, n in db.conn.execute(
            f"SELECT {column}, klass, count(*) FROM audit_current_matches GROUP BY {column}, klass"):  # fmt: skip
        out.setdefault(str(area), {})[str(klass)] = int(n)
    return out


def test_runs_counts_equal_the_current_lines_counted(country: Database, tmp_path: Path) -> None:
    """The report reads each run's stored counts: the same figures as counting the current lines,
    after a national run, a province's own run and a pair forbidden then reconciled again."""
    from aggregator.audit.store import current_counts, run_reconcile, set_override
    from aggregator.reports.audit_section import audit_section, class_counts_by_area

    db = _copy(country, tmp_path / "agg.db")
    for step in ("national", "province", "override"):
        if step == "province":
            run_reconcile(db, "10")
        elif step == "override":
            set_override(db, "50|id|R3", "B/b1", "reject", by="test")
            run_reconcile(db, "50")
        lines = _line_counts(db)
        assert current_counts(db, None) == lines and class_counts_by_area(db, None) == lines, step
        for province in (None, "10", "50"):
            classes = {k: v for k, v in audit_section(db, province).classes.items() if v}
            summed: dict[str, int] = {}
            for code, counts in lines.items():
                for klass, n in counts.items():
                    if province in (None, code):
                        summed[klass] = summed.get(klass, 0) + n
            assert classes == summed, (step, province)
    assert lines["50"] == {"ghost": 2, "unregistered": 1}  # R3 forbidden from b1: a ghost, b1 unregistered
    by_district = _line_counts(db, "district")  # a province's pack counts its own lines per district
    assert class_counts_by_area(db, "50") == {"5001": by_district["5001"]} == {"5001": {"ghost": 2, "unregistered": 1}}
    assert class_counts_by_area(db, "10") == {"1004": by_district["1004"]} == {"1004": {"verified": 2}}
    db.close()


def test_plan_and_completeness_sections_are_the_apis(country: Database, tmp_path: Path) -> None:
    """Plan lines filled, two provinces certified, one changed afterwards: the pack's repair-plan and
    completeness sections give the audit API's figures for the same data, in Thai on the page."""
    from fastapi.testclient import TestClient

    from tests.rig.callers import header_app, who

    _copy(country, tmp_path / "agg.db").close()
    admin, viewer = who("admin", name="somchai"), who("viewer")
    with TestClient(header_app(tmp_path / "agg.db", clock=lambda: NOW)) as api:
        def get(path: str, **params: str) -> Any:
            answer = api.get(path, params=params, headers=viewer)
            assert answer.status_code == 200, answer.text
            return answer.json()

        for code, item, cost in (("50", "camera:50|id|R3", 12500), ("10", "fault:2", 1800)):  # fault 2: resolved, done
            done = api.put(f"/api/v1/audit/plans/{code}", headers=admin,
                           json={"plan": "repair", "item": item, "action": "เปลี่ยนกล้อง", "cost_baht": cost})  # fmt: skip
            assert done.status_code == 200, done.text
        for code in ("10", "50"):
            assert api.post(f"/api/v1/audit/certifications/{code}", headers=admin,
                            json={"officer": f"ผู้ว่าราชการ {code}"}).status_code == 200  # fmt: skip
        assert api.put("/api/v1/audit/overrides", headers=admin, json={
            "declared_key": "50|id|R4", "discovered_key": "B/b1", "action": "reject"}).status_code == 200  # fmt: skip
        pack = get("/api/v1/reports/pack", month=MONTH, format="json")["sections"]
        table = {r["province"]: r for r in get("/api/v1/audit/completeness")}
        plan = {r["code"]: r for r in pack["plan"]["rows"]}
        complete = {r["code"]: r for r in pack["completeness"]["rows"]}
        for code in ("10", "50"):
            totals = get(f"/api/v1/audit/plans/{code}/repair")["totals"]
            assert {k: plan[code][k] for k in totals if k != "province"} == {k: v for k, v in totals.items()
                                                                             if k != "province"}, code  # fmt: skip
            assert table[code]["plan"] == totals
            row = table[code]
            assert {k: complete[code][k] for k in row if k != "plan"} == {k: v for k, v in row.items() if k != "plan"}
            state = get(f"/api/v1/audit/certifications/{code}")
            assert complete[code]["changed_since_certification"] is state["changed_since_certification"]
        assert (plan["10"]["planned"], plan["10"]["done"], plan["10"]["spent_baht"]) == (1, 1, 2000.5)
        assert (plan["50"]["planned"], plan["50"]["planned_cost_baht"], plan["50"]["done"]) == (1, 12500, 0)
        assert [complete[c]["changed_since_certification"] for c in ("10", "50")] == [False, True]
        assert pack["completeness"]["certified"] == 2 and pack["completeness"]["changed"] == 1
        # The spend is the month's: October's pack has none of November's 2,000.50 baht.
        october = get("/api/v1/reports/pack", month="2026-10", format="json")["sections"]["plan"]
        assert october["total"]["spent_baht"] == 0.0 and october["total"]["planned"] == 2
        page = _text(api.get("/api/v1/reports/pack", params={"month": MONTH, "format": "html"}, headers=viewer).text)
    for words in ("แผนการซ่อมรายจังหวัด", "12,500.00", "ความครบถ้วนของทะเบียนและการรับรอง", "ผู้ว่าราชการ 50",
                  "2 ธันวาคม 2569 12:00 น.", "เปลี่ยนแปลง", "ไม่เปลี่ยนแปลง", "ยังไม่ส่งทะเบียน (75)"):  # fmt: skip
        assert words in page, words


def _recording_country(country: Database, path: Path) -> None:
    """A copy of the worked country whose agents report recording figures and camera makers, an hour
    before NOW: a1 (Hikvision, 2015 firmware) keeps 35 of 30 days; a2 (Dahua, 2020 firmware) is not
    recording and keeps 12; b1 (Hikvision, 2017 firmware) keeps 40 days on a full disk."""
    from protocol import (
        CameraInventory,
        CameraRecording,
        Heartbeat,
        Reason,
        RecorderStorage,
        StorageStatus,
    )

    db = _copy(country, path)
    store = StateStore(db, load_geography(db))
    at = NOW - timedelta(hours=1)
    cams = {
        "a1": ("A", "Hikvision", "DS-2CD2032F-I", "V5.3.0 build 150513", CameraState.UP, Reason.NONE, 35.0),
        "a2": ("A", "Dahua", "IPC-HFW3541E-AS", "V2.800.0000000.5.R, Build Date: 2020-03-12", CameraState.DEGRADED,
               Reason.NOT_RECORDING, 12.0),
        "b1": ("B", "Hikvision", "DS-2CD2143G0-I", "V5.5.0 build 170725", CameraState.DEGRADED, Reason.STORAGE_FULL,
               40.0),
    }  # fmt: skip
    for site, prov, district in (("A", "10", "1004"), ("B", "50", "5001")):
        mine = {c: v for c, v in cams.items() if v[0] == site}
        store.apply([Inbound(SiteTopic(prov, district, site, Kind.BIRTH), Birth(site=site, ts=at, bd_seq=1, cameras=[
            BirthCamera(camera_id=c, state=state, reason=reason, since=at,
                        inventory=CameraInventory(serial=f"S{c.upper()}", maker=maker, model=model, firmware=fw))
            for c, (_, maker, model, fw, state, reason, _kept) in mine.items()]), at)])  # fmt: skip
        figures = {c: CameraRecording(recorder=f"nvr-{site}", newest=at, oldest=at - timedelta(days=v[6]),
                                      retention_required_days=30, retention_kept_days=v[6]) for c, v in mine.items()}
        storage = {f"nvr-{site}": RecorderStorage(status=StorageStatus.FULL if site == "B" else StorageStatus.OK)}
        store.apply([Inbound(SiteTopic(prov, district, site, Kind.HEARTBEAT), Heartbeat(
            site=site, ts=at, seq=1, recording=figures, recorders=storage), at)])  # fmt: skip
    db.close()


def test_recording_and_advisory_sections_are_the_apis(country: Database, tmp_path: Path) -> None:
    """Agents reporting recording figures and camera makers: the pack's recording section counts what
    the cameras API says of each camera, its advisories section is the advisories API's counts, and
    the page and the workbook carry both, in Thai."""
    import io

    import openpyxl
    from fastapi.testclient import TestClient

    from aggregator.reports.pack_xlsx import pack_xlsx
    from tests.rig.callers import header_app, who

    _recording_country(country, tmp_path / "agg.db")
    viewer = who("viewer")
    with TestClient(header_app(tmp_path / "agg.db", clock=lambda: NOW)) as api:
        def get(path: str, **params: str) -> Any:
            answer = api.get(path, params=params, headers=viewer)
            assert answer.status_code == 200, answer.text
            return answer.json()

        pack = get("/api/v1/reports/pack", month=MONTH, format="json")["sections"]
        recording = {r["code"]: r for r in pack["recording"]["rows"]}
        for code in ("10", "50"):
            listed = [c for c in get("/api/v1/cameras", province=code)["items"] if c["recording"] is not None]
            assert {k: recording[code][k] for k in ("cameras", "compliant", "short", "not_recording", "storage")} == {
                "cameras": len(listed), "compliant": sum(c["recording"]["compliant"] is True for c in listed),
                "short": sum(c["recording"]["compliant"] is False for c in listed),
                "not_recording": sum(c["reason"] == "not_recording" for c in listed),
                "storage": sum(c["reason"] in ("storage_fault", "storage_full") for c in listed)}, code  # fmt: skip
        assert [(r["code"], r["cameras"], r["compliant"], r["not_recording"], r["storage"], r["share"])
                for r in recording.values()] == [("10", 2, 1, 1, 0, 0.5), ("50", 1, 1, 0, 1, 1.0)]  # fmt: skip
        assert pack["recording"]["total"] == {"cameras": 3, "compliant": 2, "short": 1, "not_recording": 1,
                                              "storage": 1, "share": pytest.approx(2 / 3)}  # fmt: skip
        answer = get("/api/v1/audit/advisories")
        counts, advisories = answer["counts"], pack["advisories"]
        assert {r["code"]: {"cameras": r["cameras"], "kev": r["kev"], **r["cves"]} for r in advisories["rows"]} == counts
        per_camera: dict[str, dict[str, int]] = {}  # the API's matched cameras, one by one: the grouped counts' oracle
        for cam in answer["cameras"]:
            mine = per_camera.setdefault(cam["province"], {"cameras": 0, "kev": 0})
            mine["cameras"] += 1
            mine["kev"] += int(cam["kev"])
            for cve in cam["cves"]:
                mine[cve] = mine.get(cve, 0) + 1
        assert per_camera == counts
        assert counts == {"10": {"cameras": 2, "kev": 2, "CVE-2021-36260": 1, "CVE-2017-7921": 1, "CVE-2021-33044": 1,
                                 "CVE-2021-33045": 1}, "50": {"cameras": 1, "kev": 1, "CVE-2021-36260": 1}}  # fmt: skip
        assert [(c["cve"], c["kev"], c["cameras"]) for c in advisories["cves"]][0] == ("CVE-2021-36260", True, 2)
        assert advisories["total"]["cameras"] == 3 and len(advisories["cves"]) == 4
        chiang_mai = get("/api/v1/reports/pack", month=MONTH, province="50", format="json")["sections"]
        assert [r["code"] for r in chiang_mai["advisories"]["rows"]] == ["50"]
        assert [r["code"] for r in chiang_mai["recording"]["rows"]] == ["50"]
        page = _text(api.get("/api/v1/reports/pack", params={"month": MONTH, "format": "html"}, headers=viewer).text)
        english = _text(api.get("/api/v1/reports/pack", params={"month": MONTH, "format": "html", "lang": "en"},
                                headers=viewer).text)  # fmt: skip
    for words in ("การบันทึกภาพและการเก็บภาพย้อนหลัง", "ไม่บันทึกภาพขณะนี้", "66.7%", "ช่องโหว่เฟิร์มแวร์ที่ประกาศแล้ว",
                  "CVE-2021-36260 (KEV)", "ไม่ดำเนินการใด ๆ กับกล้องโดยอัตโนมัติ", "ที่มากับระบบ"):  # fmt: skip
        assert words in page, words
    for words in ("Recording and retention", "Storage fault or full", "Firmware advisories", "On CISA KEV",
                  "nothing is done to a camera automatically"):  # fmt: skip
        assert words in english, words
    db = open_db(tmp_path / "agg.db")
    try:
        book = openpyxl.load_workbook(io.BytesIO(pack_xlsx(build_pack(db, MONTH, None, SETTINGS, now=NOW), "th")))
    finally:
        db.close()
    rec = list(book["การบันทึกภาพและการเก็บภาพย้อนหลัง"[:31]].iter_rows(values_only=True))
    assert rec[1] == ("กรุงเทพมหานคร", 2, 1, 1, 1, 0, 0.5) and rec[-1][:6] == ("ประเทศไทย", 3, 2, 1, 1, 1)
    adv = list(book["ช่องโหว่เฟิร์มแวร์ที่ประกาศแล้ว"].iter_rows(values_only=True))
    assert adv[0][3] == "CVE-2021-36260 (KEV)" and adv[-1][:4] == ("ประเทศไทย", 3, 3, 2)
