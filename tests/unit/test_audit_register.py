"""Register import: every kind of bad row and bad file gives a precise, line-numbered error (issue 8)."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlite_utils import Database

from aggregator.audit.history import migrate_audit_v3
from aggregator.audit.register import import_register
from aggregator.audit.rows import natural_key, parse_row, resolve_district, resolve_province
from aggregator.audit.store import migrate_audit, migrate_audit_v2
from aggregator.audit.tablefile import (
    EncodingError,
    FileTooLargeError,
    HeaderError,
    NotATableError,
    TableLimits,
)

pytestmark = pytest.mark.timeout(60)

EN = ["Register ID", "Province", "District", "Agency", "Location", "Latitude", "Longitude",
      "Maker", "Model", "IP", "Serial", "Installed", "Status"]
TH = ["รหัสกล้อง", "จังหวัด", "อำเภอ", "หน่วยงาน", "สถานที่ติดตั้ง", "ละติจูด", "ลองจิจูด",
      "ยี่ห้อ", "รุ่น", "ไอพี", "หมายเลขเครื่อง", "วันที่ติดตั้ง", "สถานะ"]
GOOD = ["CM-1", "เชียงใหม่", "อ.เมือง", "เทศบาลนครเชียงใหม่", "ประตูท่าแพ", "18.7877", "98.9931",
        "Hikvision", "DS-2CD2143", "10.1.1.10", "ABC123", "1 ม.ค. 2562", "ใช้งานได้"]


@pytest.fixture
def db() -> Database:
    database = Database(memory=True)
    for migrate in (migrate_audit, migrate_audit_v2, migrate_audit_v3):
        migrate(database)
    database.conn.commit()
    return database


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


FIELD_HEADERS = {"register_id": "Register ID", "province": "Province", "district": "District",
                 "location": "Location", "latitude": "Latitude", "longitude": "Longitude",
                 "ip": "IP", "serial": "Serial", "installed": "Installed", "status": "Status"}


def row(**changes: Any) -> list[Any]:
    """A good English row with some fields changed; the serial follows the register id."""
    values = dict(zip(EN, GOOD, strict=True))
    if "register_id" in changes and "serial" not in changes:
        changes["serial"] = f"S-{changes['register_id']}"
    values.update({FIELD_HEADERS[k]: v for k, v in changes.items()})
    return [values[h] for h in EN]


def reasons_by_line(report: Any) -> dict[int, str]:
    return {r.line: " | ".join(r.reasons) for r in report.rejections}


def test_good_thai_register_imports_every_field(db: Database, tmp_path: Path) -> None:
    report = import_register(db, write_csv(tmp_path / "r.csv", [TH, GOOD]))
    assert (report.rows, report.inserted, report.rejected) == (1, 1, 0)
    stored = next(iter(db["audit_declared"].rows))
    assert stored["province"] == "50" and stored["district"] == "5001"
    assert stored["installed"] == "2019-01-01"  # BE 2562 with a Thai month name
    assert stored["status"] == "working" and stored["serial"] == "ABC123"
    assert stored["key"] == "50|id|CM-1"


def test_every_bad_row_is_rejected_with_its_line_and_reason(db: Database, tmp_path: Path) -> None:
    rows = [
        ["Provincial CCTV register 2562"],  # line 1: a title above the header
        EN,  # line 2
        row(register_id="A1", serial="ABC123"),  # 3 good
        row(register_id="A2", province="Atlantis"),  # 4 unknown province
        row(register_id="A3", district="Nowhere"),  # 5 unknown district
        row(register_id="A4", district="บางรัก"),  # 6 a Bangkok district, not Chiang Mai's
        row(register_id="A5", latitude="51.5", longitude="-0.12"),  # 7 London
        row(register_id="A6", latitude="98.99", longitude="18.78"),  # 8 swapped
        row(register_id="A7", ip="10.1.1.300"),  # 9 malformed IP
        row(register_id="A8", ip="10.1.1"),  # 10 malformed IP
        row(register_id="A9", status="maybe"),  # 11 unknown status
        row(register_id="A10", installed="31/02/2019"),  # 12 impossible date
        row(register_id="A11", installed="2999-01-01"),  # 13 future date
        row(register_id="A1", serial="ZZZ"),  # 14 duplicate register id
        row(register_id="A12", serial="abc123"),  # 15 same serial ABC123 as line 3
        row(register_id="A13", serial="S13", latitude="north"),  # 16 not a number
        row(register_id="A14", serial="S14", location=""),  # 17 empty location
    ]
    report = import_register(db, write_csv(tmp_path / "bad.csv", rows))
    got = reasons_by_line(report)
    assert report.header_line == 2
    assert (report.rows, report.inserted, report.rejected) == (15, 1, 14)
    expected = {
        4: "unknown province 'Atlantis'",
        5: "unknown district 'Nowhere' in province 50",
        6: "unknown district 'บางรัก' in province 50",
        7: "outside Thailand",
        8: "latitude and longitude swapped",
        9: "IP address '10.1.1.300' is malformed",
        10: "IP address '10.1.1' is malformed",
        11: "status 'maybe' is not one of",
        12: "does not exist",
        13: "in the future",
        14: "duplicate of line 3",
        15: "serial ABC123 is already declared on line 3",
        16: "latitude 'north' is not a number",
        17: "location is empty",
    }
    assert set(got) == set(expected)
    for line, text in expected.items():
        assert text in got[line], (line, got[line])
    assert db["audit_declared"].count == 1


def test_one_row_reports_all_its_problems(db: Database, tmp_path: Path) -> None:
    report = import_register(db, write_csv(tmp_path / "r.csv", [
        EN, row(province="Atlantis", ip="1.2.3.999", status="??")]))
    (rejection,) = report.rejections
    text = " | ".join(rejection.reasons)
    assert "unknown province" in text and "malformed" in text and "status" in text


def test_mixed_thai_english_headers_in_xlsx(db: Database, tmp_path: Path) -> None:
    mixed = ["รหัสกล้อง", "Province", "อำเภอ/เขต", "Owner", "ชื่อจุดติดตั้ง", "ละติจูด (Latitude)",
             "Longitude", "ยี่ห้อ", "Model", "IP Address", "S/N", "Installation date", "สถานะการใช้งาน",
             "หมายเหตุ"]
    values = ["B-1", "กรุงเทพมหานคร", "เขตบางรัก", "BMA", "สีลม", 13.7286, 100.5340, "Dahua",
              "IPC-HFW", "192.168.1.20", "DH001", None, "ชำรุด", "note"]
    report = import_register(db, write_xlsx(tmp_path / "mixed.xlsx", [mixed, values]))
    assert report.format == "xlsx"
    assert report.inserted == 1 and report.rejected == 0
    assert report.columns["lat"] == "ละติจูด (Latitude)"
    assert report.ignored_columns == ("หมายเหตุ",)
    stored = next(iter(db["audit_declared"].rows))
    assert (stored["province"], stored["district"], stored["status"]) == ("10", "1004", "broken")


def test_xlsx_rejections_carry_spreadsheet_row_numbers(db: Database, tmp_path: Path) -> None:
    rows: list[list[Any]] = [EN, row(register_id="X1"), [], row(register_id="X2", ip="bad")]
    report = import_register(db, write_xlsx(tmp_path / "r.xlsx", rows))
    assert reasons_by_line(report).keys() == {4}


def test_reimport_is_idempotent_and_updates(db: Database, tmp_path: Path) -> None:
    first = [EN, row(register_id="R1", serial="S1"), row(register_id="R2", serial="S2")]
    path = write_csv(tmp_path / "r.csv", first)
    a = import_register(db, path)
    b = import_register(db, path)
    assert (a.inserted, a.updated, a.unchanged) == (2, 0, 0)
    assert (b.inserted, b.updated, b.unchanged) == (0, 0, 2)
    changed = [EN, row(register_id="R1", serial="S1", status="ชำรุด"), row(register_id="R3", serial="S3")]
    c = import_register(db, write_csv(tmp_path / "r2.csv", changed))
    assert (c.inserted, c.updated, c.unchanged, c.absent) == (1, 1, 0, 1)
    assert db["audit_declared"].count == 3
    d = import_register(db, write_csv(tmp_path / "r3.csv", changed), prune=True)
    assert d.absent == 1 and db["audit_declared"].count == 2


def test_natural_key_falls_back_to_serial_then_location_and_ip() -> None:
    with_id, _ = parse_row(dict(zip(
        ["register_id", "province", "district", "location", "lat", "lon", "status", "serial", "ip"],
        ["7", "50", "5001", "Tha Phae", "18.78", "98.99", "ok", "ab1", "10.0.0.1"], strict=True)))
    assert with_id is not None and natural_key(with_id) == "50|id|7"
    no_id = with_id.model_copy(update={"register_id": ""})
    assert natural_key(no_id) == "50|sn|AB1"
    bare = no_id.model_copy(update={"serial": ""})
    assert natural_key(bare) == "50|loc|thaphae|10.0.0.1"


def test_missing_required_columns_is_a_whole_file_error(db: Database, tmp_path: Path) -> None:
    header = [h for h in EN if h not in ("Latitude", "Status")]
    path = write_csv(tmp_path / "r.csv", [header, GOOD[:5] + GOOD[6:12]])
    with pytest.raises(HeaderError, match="missing required column.*lat.*status"):
        import_register(db, path)
    assert db["audit_declared"].count == 0


def test_two_columns_for_one_field_is_refused(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [[*EN, "จังหวัด"], [*GOOD, "เชียงใหม่"]])
    with pytest.raises(HeaderError, match="both mean 'province'"):
        import_register(db, path)


def test_explicit_column_mapping_wins(db: Database, tmp_path: Path) -> None:
    header = ["Changwat X", *EN[2:]]
    path = write_csv(tmp_path / "r.csv", [["ID", *header], [GOOD[0], *GOOD[1:]]])
    with pytest.raises(HeaderError):
        import_register(db, path)
    report = import_register(db, path, mapping={"province": "Changwat X", "register_id": "ID"})
    assert report.inserted == 1


@pytest.mark.parametrize(("content", "message"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "legacy .xls"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    (b"", "empty"),
])
def test_files_that_are_not_tables_are_refused(db: Database, tmp_path: Path, content: bytes,
                                                message: str) -> None:
    path = tmp_path / "register.csv"  # the name lies; the content decides
    path.write_bytes(content)
    with pytest.raises(NotATableError, match=message):
        import_register(db, path)


def test_a_zip_that_is_not_a_workbook_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "register.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(NotATableError, match="not an XLSX workbook"):
        import_register(db, path)


def test_oversize_file_is_refused_before_reading(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [EN, *[row(register_id=f"Z{i}", serial=f"Z{i}") for i in range(50)]])
    with pytest.raises(FileTooLargeError, match="over the limit"):
        import_register(db, path, limits=TableLimits(max_bytes=1000))
    with pytest.raises(FileTooLargeError, match="more than 10 rows"):
        import_register(db, path, limits=TableLimits(max_rows=10))
    # The row limit trips mid-stream: the rows before it were rolled back, not half imported.
    assert db["audit_declared"].count == 0
    assert db["audit_imports"].count == 0


def test_tis620_and_bom_encodings(db: Database, tmp_path: Path) -> None:
    tis = import_register(db, write_csv(tmp_path / "tis.csv", [TH, GOOD], encoding="cp874"))
    assert tis.encoding == "cp874" and tis.inserted == 1
    bom = import_register(db, write_csv(tmp_path / "bom.csv", [TH, GOOD], encoding="utf-8-sig"))
    assert bom.encoding == "utf-8-sig" and bom.unchanged == 1
    utf16 = import_register(db, write_csv(tmp_path / "u16.csv", [TH, GOOD], encoding="utf-16"))
    assert utf16.encoding == "utf-16" and utf16.unchanged == 1


def test_text_in_no_known_encoding_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    # 0xDB-0xDE and 0xFC-0xFF are unassigned in TIS-620 and invalid as UTF-8 here.
    path.write_bytes(",".join(EN).encode() + b"\n\xdb\xdc\xfc\xfd\n")
    with pytest.raises(EncodingError):
        import_register(db, path)


def test_semicolon_separated_csv(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([TH, GOOD])
    assert import_register(db, path).inserted == 1


@pytest.mark.parametrize(("text", "code"), [
    ("50", "50"), ("เชียงใหม่", "50"), ("จ.เชียงใหม่", "50"), ("Chiang Mai", "50"),
    ("กทม", "10"), ("Bangkok", "10"), ("99", None), ("Narnia", None),
])
def test_province_names_and_codes(text: str, code: str | None) -> None:
    assert resolve_province(text) == code


def test_district_must_belong_to_the_province() -> None:
    assert resolve_district("50", "5001") == "5001"
    assert resolve_district("50", "1004") is None
    assert resolve_district("10", "Bang Rak") == "1004"
    assert resolve_district("10", "เมือง") is None  # Bangkok has no capital district


def test_docs_list_every_header_alias() -> None:
    """docs/audit.md must not drift from the aliases the importer knows."""
    from aggregator.audit.rows import HEADER_ALIASES, normalize_header

    text = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    section = text.split("### Header aliases", 1)[1].split("###", 1)[0]
    documented: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in HEADER_ALIASES:
            documented[cells[0]] = {normalize_header(a) for a in cells[1].split(",")}
    assert set(documented) == set(HEADER_ALIASES)
    for name, aliases in HEADER_ALIASES.items():
        missing = {a for a in aliases if normalize_header(a) not in documented[name]}
        assert not missing, (name, missing)


def test_thai_digits_and_unformatted_spreadsheet_dates() -> None:
    from datetime import date

    from aggregator.audit.rows import parse_coordinate, parse_date

    assert parse_coordinate("๑๘.๗๘๗๗", "latitude") == pytest.approx(18.7877)
    assert parse_date("๐๑/๐๕/๒๕๖๒") == date(2019, 5, 1)
    assert parse_date(43586) == date(2019, 5, 1)
    with pytest.raises(ValueError, match="is not a date"):
        parse_date(12)


def test_validation_phase_leaves_the_database_writable(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer (ingest) is never blocked while a register is being read and validated."""
    import sqlite3

    import aggregator.audit.register as register_module
    from aggregator.schema import open_db

    db = open_db(tmp_path / "camwatch.sqlite3")
    writes: list[int] = []
    real_parse = register_module.check_row

    def parse_and_write(raw: dict[str, Any]) -> Any:
        other = sqlite3.connect(tmp_path / "camwatch.sqlite3", timeout=0)  # fail at once if locked
        try:
            with other:
                other.execute("INSERT INTO store_meta (key, value) VALUES (?, 1)", (f"k{len(writes)}",))
        finally:
            other.close()
        writes.append(1)
        return real_parse(raw)

    monkeypatch.setattr(register_module, "check_row", parse_and_write)
    rows = [EN, *[row(register_id=f"W{i}") for i in range(5)]]
    report = import_register(db, write_csv(tmp_path / "r.csv", rows))
    assert report.inserted == 5 and len(writes) == 5


def test_tis620_text_after_a_long_ascii_start_is_read_again_as_thai(db: Database, tmp_path: Path) -> None:
    """The encoding is sniffed from the first 256 KiB; Thai bytes after that still import."""
    ascii_rows = [row(register_id=f"E{i}", location="Tha Phae Gate, old city moat, north-east corner "
                      + "x" * 200) for i in range(1200)]
    ascii_rows = [[c if c not in GOOD[1:3] else {"เชียงใหม่": "50", "อ.เมือง": "5001"}[c] for c in r]
                  for r in ascii_rows]
    for r in ascii_rows:
        r[EN.index("Status")] = "ok"
        r[EN.index("Installed")] = "2019-01-01"
    path = write_csv(tmp_path / "r.csv", [EN, *ascii_rows, row(register_id="T1")], encoding="cp874")
    assert path.stat().st_size > 256 * 1024
    report = import_register(db, path)
    assert report.encoding == "cp874"
    assert (report.inserted, report.rejected) == (1201, 0)
    stored = db.execute("SELECT location FROM audit_declared WHERE register_id = 'T1'").fetchone()
    assert stored == ("ประตูท่าแพ",)


@pytest.mark.calendar
def test_an_installation_date_is_in_the_future_only_after_bangkok_today(now: Any) -> None:
    """An officer in Bangkok at 00:30 on the 1st types the 1st: UTC still says the 31st."""
    from datetime import timedelta

    from aggregator.days import today_in_bangkok

    today = today_in_bangkok(now)
    base = dict(zip(["register_id", "province", "district", "agency", "location", "lat", "lon",
                     "maker", "model", "ip", "serial", "installed", "status"], GOOD, strict=True))
    accepted, errors = parse_row({**base, "installed": today.strftime("%d/%m/%Y")})
    assert errors == [] and accepted is not None and accepted.installed == today
    refused, errors = parse_row({**base, "installed": (today + timedelta(days=1)).strftime("%d/%m/%Y")})
    assert refused is None and len(errors) == 1 and "future" in errors[0]
