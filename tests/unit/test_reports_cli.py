"""``camwatch-aggregator report``: writes the month's report, refuses a bad month or database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from aggregator.__main__ import main
from aggregator.days import BANGKOK
from aggregator.geography import load_geography
from aggregator.schema import open_db


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "agg.db"
    db = open_db(path)
    load_geography(db)
    db.close()
    return path


@pytest.mark.calendar
def test_report_to_stdout_and_file(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   now: datetime) -> None:  # fmt: skip
    month = now.astimezone(BANGKOK).strftime("%Y-%m")  # the current month in Bangkok; the CLI reads the clock
    assert main(["report", "--month", month, "--db", str(db_path), "--format", "csv", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the UTF-8 byte-order mark first, so Excel on Windows reads the Thai names
    assert lines[0].startswith("\ufeffCode,Area,Cameras") and len(lines) == 1 + 77 + 1
    out = tmp_path / "r.html"
    assert main(["report", "--month", month, "--province", "10", "--db", str(db_path), "--format", "html",
                 "-o", str(out)]) == 0  # fmt: skip
    assert "กรุงเทพมหานคร" in out.read_text("utf-8")


def test_report_refusals(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--month", "2999-01", "--db", str(db_path)]) == 2
    assert "has not started" in capsys.readouterr().err
    assert main(["report", "--month", "2026-01", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no database" in capsys.readouterr().err
