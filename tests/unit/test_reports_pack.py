"""The committee pack (issue 14): every section's figures on a worked country, the page in Thai
(Thai month names, Buddhist-era years, no raw keys), the charts' structure, and the calendar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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
    assert [s.key for s in pack.sections] == ["ranking", "comparison", "daily", "ageing", "mttr", "repairs",
                                              "audit", "risk", "signoff"]  # fmt: skip
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
    for key in ("ranking", "comparison", "daily", "ageing", "mttr", "repairs", "audit", "risk", "signoff"):
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
                               "ผลการตรวจสอบทะเบียนกล้องรายพื้นที่"[:31], "จุดเสี่ยงที่ยังไม่มีกล้องใช้งานได้"[:31]]  # fmt: skip
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
    risk = list(book["จุดเสี่ยงที่ยังไม่มีกล้องใช้งานได้"[:31]].iter_rows(min_row=2, values_only=True))
    assert risk == [("ประตูท่าแพ", "จุดเสี่ยงอาชญากรรม", "เชียงใหม่", 1, 0, 0)]
