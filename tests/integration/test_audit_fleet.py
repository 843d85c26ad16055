"""Audit against a fleet stored by the real StateStore: classes, overrides across re-imports,
risk coverage and hygiene from agent births (issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlite_utils import Database

from aggregator.audit.hygiene import Flag, hygiene_flags, load_fleet, rollup
from aggregator.audit.register import import_register
from aggregator.audit.risk import rank_uncovered
from aggregator.audit.risk_store import import_risk_points, province_coverage
from aggregator.audit.store import run_reconcile, set_override
from aggregator.days import to_ms
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    SiteInfo,
    SiteTopic,
)

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
HERE = (18.7877, 98.9931)  # cm-01, Tha Phae Gate, Chiang Mai
THERE = (18.8000, 98.9700)  # cm-02, about 2.7 km away
HEADER = ["รหัสกล้อง", "จังหวัด", "อำเภอ", "หน่วยงาน", "Location", "Latitude", "Longitude", "Serial",
          "MAC", "สถานะ"]


def cam(cid: str, state: CameraState, **inv: Any) -> BirthCamera:
    return BirthCamera(camera_id=cid, state=state, since=T0, inventory=CameraInventory(**inv))


def birth(site: str, where: tuple[float, float], cams: list[BirthCamera]) -> Inbound:
    msg = Birth(site=site, ts=T0, bd_seq=0, cameras=cams,
                site_info=SiteInfo(name=site, lat=where[0], lon=where[1]))
    return Inbound(SiteTopic("50", "5001", site, Kind.BIRTH), msg, T0)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "camwatch.sqlite3")
    store = StateStore(database, load_geography(database), start=T0)
    store.apply([
        birth("cm-01", HERE, [
            cam("c1", CameraState.UP, serial="S1", maker="Hikvision", model="DS-2CD2143",
                firmware="V5.5.0", default_password=True),
            cam("c2", CameraState.DOWN, serial="S2", maker="Hikvision", model="DS-2CD2143",
                firmware="V5.7.3", clock_offset_s=-1200.0),
            cam("c3", CameraState.UP, serial="NEW3"),
            cam("c4", CameraState.UP, mac="aa:bb:cc:00:00:04", address="10.1.1.4"),
            cam("c5", CameraState.UP, serial="S5"),
        ]),
        birth("cm-02", THERE, [cam("m1", CameraState.UP, serial="S7")]),
    ])
    return database


def register(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def declared_rows(d2_status: str = "ใช้งานได้") -> list[list[Any]]:
    p = ["เชียงใหม่", "เมืองเชียงใหม่", "เทศบาล"]
    return [
        ["D1", *p, "ประตูท่าแพ 1", HERE[0], HERE[1], "S1", "", "ใช้งานได้"],
        ["D2", *p, "ประตูท่าแพ 2", HERE[0], HERE[1], "S2", "", d2_status],
        ["D3", *p, "ประตูท่าแพ 3", HERE[0], HERE[1], "OLD3", "", "ใช้งานได้"],
        ["D4", *p, "ประตูท่าแพ 4", HERE[0], HERE[1], "", "AA-BB-CC-00-00-04", "ใช้งานได้"],
        ["D6", *p, "ดอยสุเทพ", 18.8050, 98.9215, "S6", "", "ชำรุด"],
        ["D7", *p, "ประตูท่าแพ 7", HERE[0], HERE[1], "S7", "", "ใช้งานได้"],
    ]


def classes(db: Database) -> dict[str, tuple[str, str | None, str]]:
    return {
        (row["declared_key"] or row["discovered_key"]): (row["klass"], row["discovered_key"], row["rule"])
        for row in db["audit_matches"].rows
    }


def test_every_class_from_a_real_fleet_and_register(db: Database, tmp_path: Path) -> None:
    report = import_register(db, register(tmp_path / "cm.xlsx", declared_rows()))
    assert report.inserted == 6 and report.rejected == 0
    _, counts = run_reconcile(db)
    got = classes(db)
    assert got["50|id|D1"] == ("verified", "cm-01/c1", "serial")
    assert got["50|id|D2"] == ("declared_but_broken", "cm-01/c2", "serial")
    assert got["50|id|D3"] == ("replaced", "cm-01/c3", "position")
    assert got["50|id|D4"] == ("verified", "cm-01/c4", "mac")
    assert got["50|id|D6"] == ("ghost", None, "none")
    assert got["50|id|D7"] == ("moved", "cm-02/m1", "serial")
    assert got["cm-01/c5"] == ("unregistered", "cm-01/c5", "none")
    assert counts == {"verified": 2, "declared_but_broken": 1, "replaced": 1, "ghost": 1,
                      "moved": 1, "unregistered": 1}


def test_operator_override_survives_reimport(db: Database, tmp_path: Path) -> None:
    import_register(db, register(tmp_path / "a.xlsx", declared_rows()))
    run_reconcile(db)
    # The operator knows the ghost on Doi Suthep is the unregistered camera c5 (wrong coordinates).
    set_override(db, "50|id|D6", "cm-01/c5", "match", note="checked on site", by="admin")
    # ... and that D3 is NOT the camera at its place.
    set_override(db, "50|id|D3", "cm-01/c3", "reject", by="admin")
    run_reconcile(db)
    assert classes(db)["50|id|D6"] == ("moved", "cm-01/c5", "operator")
    # The province re-imports its register with changes: the overrides still hold.
    again = import_register(db, register(tmp_path / "b.xlsx", declared_rows(d2_status="ชำรุด")))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 5)
    run_reconcile(db)
    got = classes(db)
    assert got["50|id|D6"] == ("moved", "cm-01/c5", "operator")
    assert got["50|id|D3"][0] == "ghost" and got["cm-01/c3"][0] == "unregistered"
    assert db["audit_declared"].count == 6


def test_risk_coverage_on_the_stored_fleet(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "risk.csv"
    path.write_text(
        "ชื่อจุดเสี่ยง,ประเภท,ละติจูด,ลองจิจูด,รัศมี (ม.),จังหวัด\n"
        f"ประตูท่าแพ,อุบัติเหตุ,{HERE[0]},{HERE[1]},50,เชียงใหม่\n"
        "ดอยสุเทพ,crime,18.8050,98.9215,100,Chiang Mai\n"
        "ไกลมาก,border,20.4,99.9,abc,เชียงราย\n", encoding="utf-8")
    report = import_risk_points(db, path)
    assert (report.inserted, report.rejected) == (2, 1)
    assert report.rejections[0].line == 4 and "radius" in report.rejections[0].reasons[0]
    # c3 is down for two of the six hours: usable now, but only 2/3 of the window.
    store = StateStore(db, load_geography(db), start=T0)
    down, up = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    store.apply([Inbound(SiteTopic("50", "5001", "cm-01", Kind.EVENTS), Events(
        site="cm-01", ts=up, seq=1, events=[
            Event(id=1, camera_id="c3", at=down, state=CameraState.DOWN, reason=Reason.UNREACHABLE),
            Event(id=2, camera_id="c3", at=up, state=CameraState.UP)]), up)])
    now = to_ms(T0 + timedelta(hours=6))
    got = {c.point.name: c for c in province_coverage(db, "50", now_ms=now)}
    gate = got["ประตูท่าแพ"]
    assert (gate.cameras, gate.usable_now, gate.usable_30d) == (5, 4, 3)  # c2 down all along
    assert gate.best_30d == 1.0
    ranked = rank_uncovered(list(got.values()))
    assert [c.point.name for c in ranked["50"]] == ["ดอยสุเทพ"]


def test_hygiene_from_births(db: Database) -> None:
    fleet = load_fleet(db)
    flags = {f.key: f.flags for f in hygiene_flags(fleet)}
    assert flags == {"cm-01/c1": (Flag.DEFAULT_PASSWORD, Flag.OLD_FIRMWARE),
                     "cm-01/c2": (Flag.CLOCK_SKEW,)}
    (province,) = rollup(fleet, hygiene_flags(fleet))
    assert (province.province, province.cameras, province.flagged) == ("50", 6, 2)


def test_report_section(db: Database, tmp_path: Path) -> None:
    from aggregator.reports.audit_section import audit_section

    import_register(db, register(tmp_path / "cm.xlsx", declared_rows()))
    run_reconcile(db)
    risk = tmp_path / "risk.csv"
    risk.write_text("name,kind,lat,lon,radius_m,province\nDoi,crime,18.8050,98.9215,100,50\n",
                    encoding="utf-8")
    import_risk_points(db, risk)
    section = audit_section(db, "50", now_ms=to_ms(T0 + timedelta(hours=1))).as_dict()
    assert section["declared"] == 6 and section["classes"]["unregistered"] == 1
    assert section["seen_working_share"] == pytest.approx(2 / 6)
    assert [u["name"] for u in section["uncovered"]] == ["Doi"]
    assert section["hygiene"] == {"cameras": 6, "default_password": 1, "old_firmware": 1,
                                  "clock_skew": 1, "flagged": 2}
    assert audit_section(db, "10").declared == 0
