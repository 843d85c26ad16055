"""The shipped command writes a province's repair plan (issue 14): ``python -m aggregator audit-plan
export`` as a subprocess, its XLSX and CSV read back (openpyxl; UTF-8 with a BOM) hold the same rows
as the plan the API serves, in Thai."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from aggregator.audit.plan import repair_plan
from aggregator.audit.plan_export import plan_table
from aggregator.audit.plan_store import PlanEntry, save_entry
from aggregator.audit.register import import_register
from aggregator.audit.store import run_reconcile
from aggregator.cli.audit_plan import register
from aggregator.days import to_ms
from aggregator.geography import load_geography
from aggregator.schema import open_db
from tests.clock import PINNED
from tests.rig.shipped import operator_env, run_command

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REGISTER = ("รหัสกล้อง,จังหวัด,อำเภอ,หน่วยงาน,สถานที่ติดตั้ง,ละติจูด,ลองจิจูด,หมายเลขเครื่อง,สถานะ\n"
            "CM-1,เชียงใหม่,เมือง,เทศบาล,ประตูท่าแพ,18.7877,98.9931,SN1,ชำรุด\n"
            "CM-2,เชียงใหม่,เมือง,ตำรวจ,คูเมือง,18.7880,98.9935,SN2,รอซ่อม\n"
            "CM-3,เชียงใหม่,เมือง,ตำรวจ,ประตูช้างเผือก,18.7960,98.9860,SN3,ใช้งานได้\n")


def test_audit_plan_export_through_the_shipped_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "camwatch.db"
    db = open_db(db_path)
    load_geography(db)
    source = tmp_path / "register.csv"
    source.write_text(REGISTER, encoding="utf-8")
    assert import_register(db, source).rejected == 0
    run_reconcile(db, "50")
    save_entry(db, PlanEntry(plan="repair", item="camera:50|id|CM-2", province="50", action="ส่งซ่อมที่ศูนย์",
                             agency="เทศบาลนครเชียงใหม่", target_date="2027-01-15", cost_baht=8500.0, at="x"))  # fmt: skip
    expected = plan_table(repair_plan(db, "50", to_ms(PINNED)), "th")
    db.close()
    assert [row[1] for row in expected[1:]] == ["camera:50|id|CM-1", "camera:50|id|CM-2"]  # two broken ghosts

    env = operator_env()
    xlsx, text = tmp_path / "plan.xlsx", tmp_path / "plan.csv"
    for out in (xlsx, text):
        done = run_command("aggregator", "audit-plan", "export", "--db", str(db_path), "--province", "50",
                           "--out", str(out), env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "2 รายการ (ยังไม่เสร็จ 2 เสร็จแล้ว 0)" in done.stdout  # Thai by default, as the file
    sheet = [list(r) for r in load_workbook(xlsx).active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert sheet == [[None if v == "" else v for v in row] for row in expected]
    raw = text.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == [[str(v) for v in row] for row in expected]
    # An unknown province is a usage error (in-process: the parser and function the command runs).
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit-plan", "export", "--db", str(db_path), "--province", "99", "--out", str(xlsx)])
    assert args.func(args) == 64 and "unknown province" in capsys.readouterr().err
