"""Audit CLI subcommands: import-register, import-risk-points, reconcile (issue 8)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from aggregator.cli.audit import parse_mapping, register

pytestmark = pytest.mark.timeout(60)


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="camwatch-aggregator")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_import_reconcile_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "camwatch.sqlite3")
    reg = tmp_path / "cm.csv"
    reg.write_text("Code,จังหวัด,อำเภอ,สถานที่,lat,lon,สถานะ,IP\n"
                   "1,เชียงใหม่,เมือง,Gate,18.7877,98.9931,ใช้งานได้,10.0.0.1\n"
                   "2,เชียงใหม่,เมือง,Moat,18.79,98.99,ใช้งานได้,10.0.0.999\n", encoding="utf-8")
    # A row refused: the rest is imported, but the exit code says the register was only partly taken.
    assert run("import-register", str(reg), "--db", db, "--map", "register_id=Code") == 1
    out = capsys.readouterr().out
    assert "1 new" in out and "1 rejected" in out and "line 3: ip: IP address '10.0.0.999'" in out
    assert run("import-register", str(reg), "--db", db, "--map", "register_id=Code", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["unchanged"], report["rejected"]) == (1, 1)
    assert report["rejections"][0]["values"]["IP"] == "10.0.0.999"  # the user's own value
    assert run("reconcile", "--db", db, "--province", "50") == 0
    assert "ghost: 1" in capsys.readouterr().out
    assert run("reconcile", "--db", db, "--province", "50", "--json") == 0
    lines = json.loads(capsys.readouterr().out)["matches"]
    assert [(m["class"], m["declared_key"], m["location"]) for m in lines] == [("ghost", "50|id|1", "Gate")]
    risk = tmp_path / "risk.csv"
    risk.write_text("name,kind,lat,lon,radius_m,province\nGate,accident,18.7877,98.9931,50,50\n",
                    encoding="utf-8")
    assert run("import-risk-points", str(risk), "--db", db) == 0
    assert "1 new" in capsys.readouterr().out
    pdf = tmp_path / "register.csv"
    pdf.write_bytes(b"%PDF-1.5 hello")
    assert run("import-register", str(pdf), "--db", db) == 2
    assert "refused, nothing imported" in capsys.readouterr().out
    assert run("import-register", str(reg), "--db", db, "--map", "oops") == 64
    mapping = tmp_path / "columns.yaml"
    mapping.write_text("register_id: Code\n", encoding="utf-8")
    assert run("import-register", str(reg), "--db", db, "--map-file", str(mapping)) == 1
    assert "1 unchanged" in capsys.readouterr().out
    mapping.write_text("- not a mapping\n", encoding="utf-8")
    assert run("import-register", str(reg), "--db", db, "--map-file", str(mapping)) == 64


def test_parse_mapping() -> None:
    assert parse_mapping(["province=Changwat", " lat = ละติจูด "]) == {"province": "Changwat",
                                                                      "lat": "ละติจูด"}
    with pytest.raises(ValueError, match="FIELD=HEADER"):
        parse_mapping(["=x"])


def test_thai_reasons_and_refused_lines_fixed_and_imported_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "camwatch.sqlite3")
    reg = tmp_path / "cm.csv"
    reg.write_text("รหัสกล้อง,จังหวัด,อำเภอ,สถานที่,lat,lon,สถานะ,วันที่ติดตั้ง\n"
                   "1,เชียงใหม่,เมือง,Gate,18.7877,98.9931,รอซ่อม,1 ม.ค. 2562\n"
                   "2,เชียงใหม่,เมือง,Moat,18.79,98.99,พัง,1 ม.ค. 2562\n"
                   "3,เชียงใหม่,เมือง,Wall,18.79,98.99,ปกติ,31/02/2562\n", encoding="utf-8")
    fixed = tmp_path / "rejected.csv"
    assert run("import-register", str(reg), "--db", db, "--lang", "th", "--rejected-out", str(fixed)) == 1
    out = capsys.readouterr().out
    assert "สถานะ: สถานะ 'พัง' ไม่ใช่ ใช้งานได้/ชำรุด/รอซ่อม/ไม่ทราบ" in out
    assert "บรรทัด 4: วันที่ติดตั้ง: ไม่มีวันที่ '31/02/2562' ในปฏิทิน" in out
    assert "เพิ่มใหม่ 1" in out and "ไม่รับ 2" in out
    text = fixed.read_text(encoding="utf-8")
    assert text.startswith("\ufeffรหัสกล้อง,จังหวัด,อำเภอ,สถานที่,lat,lon,สถานะ,วันที่ติดตั้ง,บรรทัดเดิม,เหตุที่ไม่รับ")
    assert "31/02/2562" in text  # the Buddhist-era date as typed
    fixed.write_text(text.replace("พัง", "รอซ่อม").replace("31/02/2562", "28/02/2562"), encoding="utf-8")
    assert run("import-register", str(fixed), "--db", db, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["inserted"], report["rejected"]) == (2, 0)
    assert "เหตุที่ไม่รับ" in report["ignored_columns"]
