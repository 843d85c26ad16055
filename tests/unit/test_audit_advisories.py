"""Firmware advisories (issue 16): the shipped list, validation, matching, hygiene flag per
province, the admin API and the shipped ``advisories import`` command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlite_utils import Database

from aggregator.audit.advisories import (
    SHIPPED,
    AdvisoryError,
    advisory_counts,
    build_date,
    current_advisories,
    import_advisories,
    parse_advisories,
)
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from protocol import Birth, BirthCamera, CameraInventory, CameraState, Kind, SiteTopic
from tests.rig.callers import header_app, who
from tests.rig.shipped import operator_env, run_command

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
HEADER = "maker,model_pattern,affected_from,affected_to,built_before,cve,kev,title,source\n"
# (camera, maker, model, firmware): what agents report.
FLEET = {
    "10": [("hik-old", "HIKVISION", "DS-2CD2032F-I", "V5.3.0 build 151016"),  # 7921 and 36260
           ("hik-new", "HIKVISION", "DS-2CD2143G2-I", "V5.7.3 build 220112"),
           ("dahua-old", "Dahua", "IPC-HDW3441T-ZS", "2.800.0000016.0.R, Build Date: 2021-05-19")],
    "50": [("hik-2021", "Hikvision", "DS-2CD2143G0-I", "V5.5.800 build 210511"),  # 36260 only
           ("axis", "Axis", "P1375", "10.2.0")],
}


def test_the_shipped_file_is_valid_and_cites_its_sources() -> None:
    rows = parse_advisories(SHIPPED.read_text(encoding="utf-8"))
    assert {a.cve for a in rows} == {"CVE-2021-36260", "CVE-2017-7921", "CVE-2021-33044", "CVE-2021-33045"}
    assert all(a.kev and a.source.startswith("https://") for a in rows)


def test_build_dates_of_both_vendors() -> None:
    assert build_date("V5.5.800 build 210628") == datetime(2021, 6, 28).date()
    assert build_date("2.800.0000016.0.R, Build Date: 2021-05-19") == datetime(2021, 5, 19).date()
    assert build_date("10.2.0") is None


def test_each_bad_row_gets_one_line_and_nothing_is_taken() -> None:
    text = HEADER + (
        "hikvision,*,,,2021-06-28,CVE-2021-36260,yes,ok,https://example.org/a\n"
        ",DS-*,,,,CVE-2021-1,maybe,missing maker,ftp://x\n"
        "dahua,*,,,31/12/2021,CVE-2021-33044,no,,https://example.org/b\n")
    with pytest.raises(AdvisoryError) as err:
        parse_advisories(text)
    assert err.value.lines == [
        "row 3: maker is empty; cve 'CVE-2021-1' is not like CVE-2021-36260; kev 'maybe' must be yes or no; "
        "source must be the http(s) address of the advisory",
        "row 4: built_before '31/12/2021' is not a date YYYY-MM-DD",
    ]
    with pytest.raises(AdvisoryError, match="missing column"):
        parse_advisories("maker,cve\nhikvision,CVE-2021-36260\n")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "camwatch.sqlite3")
    store = StateStore(database, load_geography(database), start=T0)
    for province, cams in FLEET.items():
        district = "1001" if province == "10" else "5001"
        site = f"site-{province}"
        cameras = [BirthCamera(camera_id=cam, state=CameraState.UP, since=T0,
                               inventory=CameraInventory(maker=maker, model=model, firmware=fw, serial=f"S-{cam}"))
                   for cam, maker, model, fw in cams]
        store.apply([Inbound(SiteTopic(province, district, site, Kind.BIRTH),
                             Birth(site=site, ts=T0, bd_seq=0, cameras=cameras), T0)])
    yield database
    database.close()


def test_counts_per_province_for_the_committee_pack(db: Database) -> None:
    assert advisory_counts(db) == {
        "10": {"cameras": 2, "kev": 2, "CVE-2017-7921": 1, "CVE-2021-36260": 1, "CVE-2021-33044": 1,
               "CVE-2021-33045": 1},
        "50": {"cameras": 1, "kev": 1, "CVE-2021-36260": 1},
    }
    assert advisory_counts(db, "50") == {"50": {"cameras": 1, "kev": 1, "CVE-2021-36260": 1}}
    # An administrator's list replaces the shipped one.
    import_advisories(db, HEADER + "axis,P13*,,10.2.0,,CVE-2099-0001,no,test,https://example.org/x\n",
                      by="admin", now_ms=0)
    assert [a.cve for a in current_advisories(db)] == ["CVE-2099-0001"]
    assert advisory_counts(db) == {"50": {"cameras": 1, "kev": 0, "CVE-2099-0001": 1}}


def test_api_lists_matches_in_scope_flags_hygiene_and_imports_for_admins(db: Database, tmp_path: Path) -> None:
    with TestClient(header_app(tmp_path / "camwatch.sqlite3")) as client:
        answer = client.get("/api/v1/audit/advisories", headers=who("viewer", "50"))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["origin"] == "shipped" and set(body["counts"]) == {"50"}
        assert [(c["camera"], c["cves"]) for c in body["cameras"]] == [("site-50/hik-2021", ["CVE-2021-36260"])]
        hygiene = client.get("/api/v1/audit/hygiene", headers=who("viewer")).json()
        per = {p["province"]: p["advisory"] for p in hygiene["provinces"]}
        assert per == {"10": 2, "50": 1}
        flagged = {c["camera"]: c for c in hygiene["cameras"]}
        assert "advisory" in flagged["site-10/hik-old"]["flags"]
        assert flagged["site-10/hik-old"]["cves"] == ["CVE-2017-7921", "CVE-2021-36260"]
        bad = HEADER + "hikvision,*,,,,CVE-2021-36260,perhaps,x,https://example.org/a\n"
        files = {"file": ("a.csv", bad.encode(), "text/csv")}
        assert client.post("/api/v1/audit/advisories", headers=who("viewer"), files=files).status_code == 403
        assert client.post("/api/v1/audit/advisories", headers=who("admin", "10"), files=files).status_code == 403
        refused = client.post("/api/v1/audit/advisories", headers=who("admin"), files=files)
        assert refused.status_code == 422
        assert refused.json()["detail"] == "refused, nothing imported:\nrow 2: kev 'perhaps' must be yes or no"
        good = {"file": ("a.csv", (HEADER + "axis,*,,,,CVE-2099-0001,no,t,https://example.org/a\n").encode(), "text/csv")}
        assert client.post("/api/v1/audit/advisories", headers=who("admin"), files=good).json() == {"rows": 1}
        assert client.get("/api/v1/audit/advisories", headers=who("viewer")).json()["origin"] == "imported"


def test_shipped_import_command(db: Database, tmp_path: Path) -> None:
    env = operator_env()
    path = str(tmp_path / "camwatch.sqlite3")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "hikvision,*,,,2021-13-01,CVE-2021-36260,yes,x,https://example.org/a\n")
    done = run_command("aggregator", "advisories", "import", str(bad), "--db", path, env=env)
    assert done.returncode == 2
    assert "row 2: built_before '2021-13-01' is not a date YYYY-MM-DD" in done.stderr
    done = run_command("aggregator", "advisories", "import", str(SHIPPED), "--db", path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"12 advisories imported from {SHIPPED}"
    listed = run_command("aggregator", "advisories", "list", "--db", path, env=env)
    assert "province 10: 2 cameras matched, 2 on KEV" in listed.stdout
