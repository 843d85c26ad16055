"""Uploads bounded by what they expand to, CSV read as RFC 4180 (issue 18).

Small versions of the hostile workbooks against low limits (the full-size ones go through the
served API and the CLI in tests/integration/test_upload_limits.py), the quoted-comma CSV that
the header-only sniffer split, and a ragged CSV refused with its line numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlite_utils import Database

from aggregator.audit.csvdialect import choose_dialect
from aggregator.audit.history import migrate_audit_v3
from aggregator.audit.register import import_register
from aggregator.audit.store import migrate_audit, migrate_audit_v2
from aggregator.audit.tablefile import (
    FileTooLargeError,
    NotATableError,
    RaggedRowsError,
    TableLimits,
)
from tests.rig.workbooks import empty_rows_bomb, entity_bomb, huge_cell_bomb, workbook

pytestmark = pytest.mark.timeout(60)

EN = ["Register ID", "Province", "District", "Agency", "Location", "Latitude", "Longitude",
      "Maker", "Model", "IP", "Serial", "Installed", "Status"]
GOOD = ["CM-1", "เชียงใหม่", "อ.เมือง", "เทศบาลนครเชียงใหม่", "ประตูท่าแพ", "18.7877", "98.9931",
        "Hikvision", "DS-2CD2143", "10.1.1.10", "ABC123", "1 ม.ค. 2562", "ใช้งานได้"]
SMALL = TableLimits(max_rows=1000, max_part_bytes=1 << 20, max_expanded_bytes=2 << 20, max_cell_chars=1000)


@pytest.fixture
def db() -> Database:
    database = Database(memory=True)
    for migrate in (migrate_audit, migrate_audit_v2, migrate_audit_v3):
        migrate(database)
    database.conn.commit()
    return database


def test_a_quoted_comma_and_doubled_quotes_import_into_the_right_fields(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    row = list(GOOD)
    row[4] = 'Gate "A", north'  # the csv module writes "Gate ""A"", north" (RFC 4180)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([EN, row])
    assert '"Gate ""A"", north"' in path.read_text(encoding="utf-8")
    report = import_register(db, path)
    assert (report.inserted, report.rejected) == (1, 0)
    stored = next(iter(db["audit_declared"].rows))
    assert stored["location"] == 'Gate "A", north'
    assert stored["agency"] == "เทศบาลนครเชียงใหม่" and stored["maker"] == "Hikvision"


def test_a_ragged_csv_is_refused_with_its_line_numbers(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    lines = [",".join(EN), ",".join(GOOD), ",".join(GOOD[:-1]), ",".join(GOOD), ",".join([*GOOD, "extra"])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RaggedRowsError) as refused:
        import_register(db, path)
    message = str(refused.value)
    assert "line 3 has 12" in message and "line 5 has 14" in message and "13 fields" in message
    assert "line 2" not in message and "line 4" not in message
    assert db["audit_declared"].count == 0


def test_the_delimiter_is_chosen_from_whole_records() -> None:
    # a header without quotes or semicolons: only the records show the separator
    sample = 'a;b;c\n"x, y";"say ""hi""";3\n1;2;3\n'
    assert choose_dialect(sample, complete=True).delimiter == ";"
    assert choose_dialect('a,b\n"1;2",3\n', complete=True).delimiter == ","
    assert choose_dialect("a\tb\n1\t2\n", complete=True).delimiter == "\t"
    assert choose_dialect("a,b\n1,2\n3", complete=False).doublequote


@pytest.mark.parametrize(("build", "error", "words"), [
    (lambda p: empty_rows_bomb(p, rows=100_000), FileTooLargeError, "more than 1000 rows (empty rows count)"),
    (lambda p: huge_cell_bomb(p, chars=3 << 20), FileTooLargeError, "expands to"),
    (lambda p: entity_bomb(p), NotATableError, "declares a document type"),
    (lambda p: workbook(p, ["<worksheet><sheetData><row></sheetData>"]), NotATableError, "not well-formed XML"),
])  # fmt: skip
def test_hostile_workbooks_are_refused_while_streaming(db: Database, tmp_path: Path, build: object,
                                                      error: type[Exception], words: str) -> None:  # fmt: skip
    path = build(tmp_path / "bomb.xlsx")  # type: ignore[operator]
    with pytest.raises(error, match="workbook refused") as refused:
        import_register(db, path, limits=SMALL)
    assert words in str(refused.value)


def test_a_long_cell_under_the_part_limit_is_refused_by_its_length(db: Database, tmp_path: Path) -> None:
    path = huge_cell_bomb(tmp_path / "cell.xlsx", chars=1 << 19)
    with pytest.raises(FileTooLargeError, match="longer than 1000 characters"):
        import_register(db, path, limits=SMALL)


def test_a_row_number_claimed_beyond_the_limit_is_refused(db: Database, tmp_path: Path) -> None:
    sheet = ['<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>Province</t></is></c></row><row r="50000000"/>'
             "</sheetData></worksheet>"]
    with pytest.raises(FileTooLargeError, match="more than 1000 rows"):
        import_register(db, workbook(tmp_path / "far.xlsx", sheet), limits=SMALL)
