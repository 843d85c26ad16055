"""Audit API of issue 14: one declared camera's edit (If-Match), its audit trail, an import's
refused lines as CSV, messages in Thai and English, and who sees which import.

The database, the StateStore and the HTTP stack are real; the caller comes from a header
(the fixtures of test_audit_api).
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from aggregator.auth import Principal
from tests.unit.test_audit_api import CALLERS, HERE, ROWS, as_, client, db, register_csv

__all__ = ["client", "db"]  # the fixtures, imported for pytest

pytestmark = pytest.mark.timeout(60)

CALLERS.setdefault("cm-admin-2", Principal(5, "cm-admin-2", "admin", frozenset({"50"})))
CALLERS.setdefault("bkk-admin", Principal(6, "bkk-admin", "admin", frozenset({"10"})))
KEY = quote("50|id|D9", safe="")


def upload(client: TestClient, user: str, content: bytes, name: str = "r.csv", lang: str = "en") -> Any:
    response = client.post("/api/v1/audit/register", headers={**as_(user), "Accept-Language": lang},
                           files={"file": (name, content, "text/csv")})
    assert response.status_code == 200, response.text
    return response.json()


def url(key: str = KEY, what: str = "declared") -> str:
    return f"/api/v1/audit/{what}/{key}"


def test_edit_needs_the_version_and_a_second_officer_gets_a_clear_conflict(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    first = client.get(url(), headers=as_("cm-admin"))
    assert first.status_code == 200 and first.headers["etag"] == '"1"'
    assert first.json()["location"] == "Doi Suthep" and first.json()["version"] == 1
    # Two officers opened version 1; the first saves, the second is refused and told why.
    assert client.patch(url(), headers=as_("cm-admin"), json={"status": "ok"}).status_code == 428
    saved = client.patch(url(), headers={**as_("cm-admin"), "If-Match": '"1"'},
                         json={"status": "รอซ่อม", "agency": "เทศบาลนครเชียงใหม่"})
    assert saved.status_code == 200, saved.text
    # "รอซ่อม" (awaiting repair) is broken, as the register said: only the agency changed.
    assert saved.json() == {"key": "50|id|D9", "version": 2, "changed": {"agency": ["", "เทศบาลนครเชียงใหม่"]}}
    assert saved.headers["etag"] == '"2"'
    late = client.patch(url(), headers={**as_("cm-admin-2"), "If-Match": '"1"', "Accept-Language": "th"},
                        json={"location": "ดอยสุเทพ"})
    assert late.status_code == 412
    assert "กล้องนี้ถูกแก้ไขโดย cm-admin" in late.json()["detail"] and "ฉบับที่ 2" in late.json()["detail"]
    english = client.patch(url(), headers={**as_("cm-admin-2"), "If-Match": '"1"'}, json={"location": "x"})
    assert "changed by cm-admin" in english.json()["detail"] and "Nothing was saved" in english.json()["detail"]
    assert client.get(url(), headers=as_("viewer")).json()["location"] == "Doi Suthep"


def test_edit_is_validated_as_an_import_row_in_the_callers_language(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    headers = {**as_("cm-admin"), "If-Match": '"1"'}
    refused = client.patch(url(), headers=headers, params={"lang": "th"},
                           json={"status": "พัง", "lat": "51.5", "lon": "-0.12", "installed": "31/02/2562"})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail.startswith("ระบบยังไม่ได้บันทึก")
    assert "พิกัด 51.5, -0.12 อยู่นอกประเทศไทย" in detail and "สถานะ 'พัง'" in detail
    assert "ไม่มีวันที่ '31/02/2562' ในปฏิทิน" in detail
    # The serial rule of an import holds against the province's other cameras.
    dup = client.patch(url(), headers=headers, json={"serial": "s1"})
    assert dup.status_code == 422 and "serial S1 is already declared for camera 50|id|D1" in dup.json()["detail"]
    # Fields outside the register, or the key's own, cannot be sent.
    assert client.patch(url(), headers=headers, json={"province": "10"}).status_code == 422
    ok = client.patch(url(), headers=headers,
                      json={"lat": "๑๘.๘๐๕", "lon": 98.9215, "installed": "1 ม.ค. 2562", "ip": "10.0.0.9"})
    assert ok.status_code == 200, ok.text
    stored = client.get(url(), headers=as_("viewer")).json()
    assert (stored["installed"], stored["ip"], stored["version"]) == ("2019-01-01", "10.0.0.9", 2)


def test_audit_trail_of_edits_and_overrides(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    client.patch(url(), headers={**as_("cm-admin"), "If-Match": '"1"'}, json={"location": "ดอยสุเทพ"})
    client.put("/api/v1/audit/overrides", headers=as_("cm-admin"), json={
        "declared_key": "50|id|D9", "discovered_key": "cm-01/c2", "action": "match", "note": "same pole"})
    client.delete("/api/v1/audit/overrides", headers=as_("admin"),
                  params={"declared_key": "50|id|D9", "discovered_key": "cm-01/c2"})
    trail = client.get(url(what="history"), headers=as_("viewer")).json()
    assert [(t["action"], t["by"]) for t in trail] == [
        ("override_delete", "admin"), ("override_match", "cm-admin"), ("edit", "cm-admin")]
    assert trail[2]["before"] == {"location": "Doi Suthep"} and trail[2]["after"] == {"location": "ดอยสุเทพ"}
    assert trail[2]["version"] == 2 and trail[1]["after"]["note"] == "same pole"
    # Another province's officer sees none of it.
    for path in (url(), url(what="history")):
        assert client.get(path, headers=as_("bkk-viewer")).status_code == 404
    assert client.patch(url(), headers={**as_("bkk-admin"), "If-Match": '"2"'},
                        json={"location": "x"}).status_code == 404
    assert client.patch(url(), headers={**as_("viewer"), "If-Match": '"2"'},
                        json={"location": "x"}).status_code == 403


def test_a_re_import_that_changes_the_row_is_a_new_version(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    upload(client, "admin", register_csv(ROWS))  # unchanged: same version
    assert client.get(url(), headers=as_("viewer")).json()["version"] == 1
    changed = [r if r[0] != "D9" else [*r[:3], "Doi Suthep temple", *r[4:]] for r in ROWS]
    upload(client, "admin", register_csv(changed))
    assert client.get(url(), headers=as_("viewer")).json()["version"] == 2
    stale = client.patch(url(), headers={**as_("cm-admin"), "If-Match": '"1"'}, json={"agency": "x"})
    assert stale.status_code == 412


def test_refused_lines_download_in_thai_fixed_and_uploaded_again(client: TestClient) -> None:
    rows = [*ROWS[:2], ["D3", "เชียงใหม่", "เมือง", "Gate", HERE[0], HERE[1], "S3", "พัง"],
            ["D4", "เชียงใหม่", "เมือง", "Wall", "north", HERE[1], "S4", "ใช้งานได้"]]
    report = upload(client, "cm-admin", register_csv(rows), lang="th")
    assert report["rejected"] == 2
    assert report["rejections"][0]["reasons"] == ["สถานะ: สถานะ 'พัง' ไม่ใช่ ใช้งานได้/ชำรุด/รอซ่อม/ไม่ทราบ"]
    assert report["rejections"][1]["values"]["Latitude"] == "north"
    import_id = report["import_id"]
    download = client.get(f"/api/v1/audit/imports/{import_id}/rejected", headers=as_("cm-admin"),
                          params={"lang": "th"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    text = download.content.decode("utf-8")
    assert text.startswith("\ufeffRegister ID,จังหวัด,อำเภอ,Location,Latitude,Longitude,Serial,สถานะ,บรรทัดเดิม,เหตุที่ไม่รับ")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r[0] for r in table[1:]] == ["D3", "D4"] and table[2][-1] == "ละติจูด 'north' ไม่ใช่ตัวเลข"
    fixed = text.replace("พัง", "รอซ่อม").replace("north", str(HERE[0]))
    again = upload(client, "cm-admin", fixed.encode("utf-8"), name="rejected.csv")
    assert (again["inserted"], again["rejected"]) == (2, 0)
    declared = client.get("/api/v1/audit/declared", params={"q": "Gate"}, headers=as_("viewer")).json()
    assert [d["status"] for d in declared] == ["broken"]  # awaiting repair is not working
    # Import history: a province's officer sees its own imports, not another province's.
    bkk = upload(client, "bkk-admin", register_csv(ROWS[2:3]))
    mine = client.get("/api/v1/audit/imports", headers=as_("cm-admin")).json()
    assert [i["id"] for i in mine] == [again["import_id"], import_id]
    assert len(client.get("/api/v1/audit/imports", headers=as_("admin")).json()) == 3
    other = client.get(f"/api/v1/audit/imports/{import_id}/rejected", headers=as_("bkk-admin"))
    assert other.status_code == 404
    assert client.get(f"/api/v1/audit/imports/{bkk['import_id']}/rejected", headers=as_("cm-admin")).status_code == 404
    assert client.get(f"/api/v1/audit/imports/{import_id}/rejected", headers=as_("viewer")).status_code == 403


def test_a_preview_reports_the_changes_and_keeps_nothing(client: TestClient) -> None:
    response = client.post("/api/v1/audit/register", headers=as_("cm-admin"), data={"dry_run": "true"},
                           files={"file": ("r.csv", register_csv(ROWS), "text/csv")})
    assert response.status_code == 200, response.text
    assert (response.json()["import_id"], response.json()["inserted"], response.json()["rejected"]) == (0, 2, 2)
    assert client.get("/api/v1/audit/declared", headers=as_("viewer")).json() == []
    assert client.get("/api/v1/audit/imports", headers=as_("admin")).json() == []


def test_declared_list_filters_by_class_and_agency_with_live_state(client: TestClient) -> None:
    upload(client, "admin", register_csv(ROWS))
    client.patch(url(), headers={**as_("admin"), "If-Match": '"1"'}, json={"agency": "Tourist police"})
    client.post("/api/v1/audit/reconcile", headers=as_("admin"), json={})
    verified = client.get("/api/v1/audit/declared", params={"class": "verified"}, headers=as_("viewer")).json()
    assert [(d["key"], d["state"], d["version"]) for d in verified] == [("50|id|D1", "up", 1)]
    found = client.get("/api/v1/audit/declared", params={"q": "tourist"}, headers=as_("viewer")).json()
    assert [(d["key"], d["class"], d["version"]) for d in found] == [("50|id|D9", "ghost", 2)]
