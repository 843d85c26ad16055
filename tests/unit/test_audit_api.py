"""Audit API: uploads (multipart), roles, province scope, classes, overrides, coverage, hygiene (issue 8).

The app's auth is the one collaborator replaced here (a header picks a test caller); the
database, the StateStore that fills it and the HTTP stack are real.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import Header
from fastapi.testclient import TestClient
from sqlite_utils import Database

from aggregator.api.deps import get_caller
from aggregator.audit.tablefile import TableLimits
from aggregator.auth import Principal
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from protocol import Birth, BirthCamera, CameraInventory, CameraState, Kind, SiteInfo, SiteTopic
from tests.rig.callers import header_app

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
HERE = (18.7877, 98.9931)


CALLERS = {
    "admin": Principal(1, "admin", "admin", frozenset()),
    "cm-admin": Principal(2, "cm-admin", "admin", frozenset({"50"})),
    "viewer": Principal(3, "viewer", "viewer", frozenset()),
    "bkk-viewer": Principal(4, "bkk-viewer", "viewer", frozenset({"10"})),
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "camwatch.sqlite3")
    store = StateStore(database, load_geography(database), start=T0)
    cams = [BirthCamera(camera_id="c1", state=CameraState.UP, since=T0,
                        inventory=CameraInventory(serial="S1", maker="Axis", model="P1375",
                                                  firmware="9.80.1", default_password=True)),
            BirthCamera(camera_id="c2", state=CameraState.UP, since=T0,
                        inventory=CameraInventory(serial="S2", maker="Axis", model="P1375",
                                                  firmware="10.2.0"))]
    store.apply([Inbound(SiteTopic("50", "5001", "cm-01", Kind.BIRTH),
                         Birth(site="cm-01", ts=T0, bd_seq=0, cameras=cams,
                               site_info=SiteInfo(lat=HERE[0], lon=HERE[1])), T0)])
    yield database
    database.close()


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    def principal(x_test_user: str = Header()) -> Principal:
        return CALLERS[x_test_user]

    app = header_app(tmp_path / "camwatch.sqlite3", audit_limits=TableLimits(max_bytes=20_000))
    app.dependency_overrides[get_caller] = principal
    with TestClient(app) as client:
        yield client


def as_(user: str) -> dict[str, str]:
    return {"X-Test-User": user}


def register_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Register ID", "จังหวัด", "อำเภอ", "Location", "Latitude", "Longitude",
                     "Serial", "สถานะ"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


ROWS = [["D1", "เชียงใหม่", "เมือง", "Tha Phae", HERE[0], HERE[1], "S1", "ใช้งานได้"],
        ["D9", "เชียงใหม่", "เมือง", "Doi Suthep", 18.805, 98.9215, "S9", "ชำรุด"],
        ["B1", "กรุงเทพมหานคร", "บางรัก", "Silom", 13.7286, 100.534, "B1", "ใช้งานได้"],
        ["X1", "เชียงใหม่", "เมือง", "Bad IP", HERE[0], HERE[1], "S3", "??"]]


def upload(client: TestClient, user: str, content: bytes, name: str = "r.csv",
           **form: str) -> Any:
    return client.post("/api/v1/audit/register", headers=as_(user),
                       files={"file": (name, content, "text/csv")}, data=form)


def test_upload_register_reports_counts_and_line_numbers(client: TestClient) -> None:
    response = upload(client, "admin", register_csv(ROWS))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["inserted"], body["rejected"]) == (3, 1)
    assert body["rejections"][0]["line"] == 5 and "status" in body["rejections"][0]["reasons"][0]


def test_xlsx_upload_with_mapping(client: TestClient) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Code", "จังหวัด", "อำเภอ", "Location", "Latitude", "Longitude", "สถานะ"])
    sheet.append(["Q1", "50", "5001", "Gate", HERE[0], HERE[1], "ok"])
    data = io.BytesIO()
    book.save(data)
    response = upload(client, "admin", data.getvalue(), "r.bin", mapping='{"register_id": "Code"}')
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "xlsx" and response.json()["inserted"] == 1


def test_whole_file_errors_are_422_or_413(client: TestClient) -> None:
    response = upload(client, "admin", b"%PDF-1.4 not a table")
    assert response.status_code == 422 and "nothing imported" in response.json()["detail"]
    big = register_csv([ROWS[0][:1] + [f"x{i}"] + ROWS[0][2:] for i in range(600)])
    assert upload(client, "admin", big).status_code == 413
    assert upload(client, "admin", register_csv(ROWS), mapping="{nope").status_code == 422


def test_roles_and_province_scope(client: TestClient, db: Database) -> None:
    assert upload(client, "viewer", register_csv(ROWS)).status_code == 403
    scoped = upload(client, "cm-admin", register_csv(ROWS)).json()
    assert scoped["inserted"] == 2
    assert any("outside the importer's provinces" in r["reasons"][0] for r in scoped["rejections"])
    assert client.post("/api/v1/audit/reconcile", headers=as_("cm-admin"), json={}).status_code == 403
    # outside the caller's provinces: 404, as everywhere else in the API (issue 12)
    assert client.post("/api/v1/audit/reconcile", headers=as_("cm-admin"),
                       json={"province": "10"}).status_code == 404
    run = client.post("/api/v1/audit/reconcile", headers=as_("cm-admin"), json={"province": "50"})
    assert run.status_code == 200 and run.json()["counts"] == {"verified": 1, "ghost": 1,
                                                                "unregistered": 1}
    assert client.get("/api/v1/audit/summary", headers=as_("bkk-viewer")).json() == {}
    assert client.get("/api/v1/audit/summary?province=50", headers=as_("bkk-viewer")).status_code == 404
    assert client.get("/api/v1/audit/summary", headers=as_("viewer")).json() == {
        "50": {"ghost": 1, "unregistered": 1, "verified": 1}}


def test_matches_overrides_and_rerun(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    client.post("/api/v1/audit/reconcile", headers=as_("admin"), json={})
    ghosts = client.get("/api/v1/audit/matches?class=ghost", headers=as_("viewer")).json()
    assert {g["declared_key"] for g in ghosts} == {"50|id|D9", "10|id|B1"}
    assert ghosts[0]["location"] in ("Doi Suthep", "Silom")
    body = {"declared_key": "50|id|D9", "discovered_key": "cm-01/c2", "action": "match",
            "note": "wrong coordinates in the register"}
    assert client.put("/api/v1/audit/overrides", headers=as_("viewer"), json=body).status_code == 403
    assert client.put("/api/v1/audit/overrides", headers=as_("admin"),
                      json={**body, "declared_key": "50|id|nope"}).status_code == 404
    assert client.put("/api/v1/audit/overrides", headers=as_("admin"), json=body).status_code == 200
    upload(client, "admin", register_csv(ROWS))  # re-import: the override stays
    client.post("/api/v1/audit/reconcile", headers=as_("admin"), json={})
    moved = client.get("/api/v1/audit/matches?class=moved", headers=as_("viewer")).json()
    assert [(m["declared_key"], m["discovered_key"], m["rule"]) for m in moved] == [
        ("50|id|D9", "cm-01/c2", "operator")]
    listed = client.get("/api/v1/audit/overrides", headers=as_("bkk-viewer")).json()
    assert listed == []
    assert client.delete("/api/v1/audit/overrides", headers=as_("admin"),
                         params={"declared_key": "50|id|D9", "discovered_key": "cm-01/c2"}
                         ).status_code == 200


def test_risk_points_and_coverage(client: TestClient) -> None:
    content = ("name,kind,lat,lon,radius_m,province\n"
               f"Gate,accident,{HERE[0]},{HERE[1]},40,50\n"
               "Doi Suthep,crime,18.805,98.9215,100,50\n").encode()
    response = client.post("/api/v1/audit/risk-points", headers=as_("admin"),
                           files={"file": ("risk.csv", content, "text/csv")})
    assert response.status_code == 200 and response.json()["inserted"] == 2
    cover = client.get("/api/v1/audit/risk-coverage?province=50", headers=as_("viewer")).json()
    assert {c["name"]: c["usable_now"] for c in cover} == {"Gate": 2, "Doi Suthep": 0}
    worst = client.get("/api/v1/audit/risk-coverage?uncovered=true", headers=as_("viewer")).json()
    assert [c["name"] for c in worst] == ["Doi Suthep"]


def test_hygiene_per_province(client: TestClient) -> None:
    body = client.get("/api/v1/audit/hygiene", headers=as_("viewer")).json()
    assert body["provinces"] == [{"province": "50", "cameras": 2, "default_password": 1,
                                  "old_firmware": 1, "clock_skew": 0, "flagged": 1, "advisory": 0,
                                  "replaced": 0, "rebooting": 0}]
    assert body["cameras"] == [{"camera": "cm-01/c1", "province": "50",
                                "flags": ["default_password", "old_firmware"],
                                "firmware": "9.80.1", "newest_firmware": "10.2.0",
                                "clock_offset_s": None, "cves": []}]
    assert client.get("/api/v1/audit/hygiene", headers=as_("bkk-viewer")).json()["cameras"] == []


def test_import_log_is_for_admins(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    assert client.get("/api/v1/audit/imports", headers=as_("viewer")).status_code == 403
    (entry,) = client.get("/api/v1/audit/imports", headers=as_("admin")).json()
    assert (entry["kind"], entry["inserted"], entry["rejected"], entry["by"]) == ("register", 3, 1, "admin")


def test_declared_list_with_class_search_and_scope(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    client.post("/api/v1/audit/reconcile", headers=as_("admin"), json={})
    rows = client.get("/api/v1/audit/declared", headers=as_("viewer")).json()
    assert {(r["key"], r["class"]) for r in rows} == {
        ("10|id|B1", "ghost"), ("50|id|D1", "verified"), ("50|id|D9", "ghost")}
    found = client.get("/api/v1/audit/declared", params={"q": "suthep"}, headers=as_("viewer")).json()
    assert [r["register_id"] for r in found] == ["D9"]
    assert [r["key"] for r in client.get("/api/v1/audit/declared", headers=as_("bkk-viewer")).json()] == ["10|id|B1"]
    assert client.get("/api/v1/audit/declared", params={"province": "50"},
                      headers=as_("bkk-viewer")).status_code == 404


def test_out_of_scope_is_404_like_the_rest_of_the_api(client: TestClient) -> None:
    # issue 12: the audit answered 403 for other provinces where every other route answers 404
    upload(client, "admin", register_csv(ROWS))
    bkk = {"declared_key": "10|id|B1", "discovered_key": "cm-01/c1", "action": "reject"}
    assert client.put("/api/v1/audit/overrides", headers=as_("cm-admin"), json=bkk).status_code == 404
    other_site = {"declared_key": "50|id|D9", "discovered_key": "bkk-9/c1", "action": "match"}
    assert client.put("/api/v1/audit/overrides", headers=as_("cm-admin"), json=other_site).status_code == 404
    gone = client.delete("/api/v1/audit/overrides", headers=as_("cm-admin"),
                         params={"declared_key": "10|id|B1", "discovered_key": "cm-01/c1"})
    assert gone.status_code == 404
    assert client.get("/api/v1/audit/matches?province=50", headers=as_("bkk-viewer")).status_code == 404
    # a run over the whole country still needs an unscoped token
    assert client.post("/api/v1/audit/reconcile", headers=as_("cm-admin"), json={}).status_code == 403


@pytest.mark.parametrize("body", [b"{broken", b'{"declared_key": 1}', b"[]"])
def test_a_viewer_gets_403_before_the_body_is_read(client: TestClient, body: bytes) -> None:
    # issue 13: a malformed body from a viewer answered 422 (and told the body's rules) before 403
    for method, url in (("PUT", "/api/v1/audit/overrides"), ("POST", "/api/v1/audit/reconcile")):
        response = client.request(method, url, content=body,
                                  headers={**as_("viewer"), "Content-Type": "application/json"})
        assert response.status_code == 403, (url, response.text)
        admin = client.request(method, url, content=body,
                               headers={**as_("admin"), "Content-Type": "application/json"})
        assert admin.status_code == 422, (url, admin.text)
