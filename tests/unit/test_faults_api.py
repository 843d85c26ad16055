"""Faults API (issue 6): filters, acknowledge, resolve with a note, windows, routes, log, province scope.

The core's auth dependency is stood in for by a header-reading principal (unit test).
Issue 13: the role check answers 403 before a malformed body's 422; out of scope is 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.faults.service import FaultService
from protocol import CameraState, Reason
from tests.rig.callers import header_app, who
from tests.rig.faults import SimClock, cam, service

SECRET = "a-webhook-secret-of-32-characters"


@pytest.fixture
def svc(tmp_path: Path) -> FaultService:
    clock = SimClock()
    s = service(tmp_path, clock)
    s.feed([cam(clock.now, "bkk-1", CameraState.DOWN, Reason.FROZEN, site="s1", district="1001")], clock.now)
    s.feed([cam(clock.now, "cnx-1", CameraState.DOWN, Reason.UNREACHABLE, site="s9", district="5001")], clock.now)
    clock.advance(60)
    return s


@pytest.fixture
def client(svc: FaultService, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(header_app(tmp_path / "camwatch.db", fault_service=svc)) as client:
        yield client


def test_list_is_limited_to_the_callers_provinces_and_filters(client: TestClient) -> None:
    assert {f["camera_id"] for f in client.get("/api/v1/faults", headers=who("viewer")).json()} == {"bkk-1", "cnx-1"}
    mine = client.get("/api/v1/faults", headers=who("technician", "10")).json()
    assert [f["camera_id"] for f in mine] == ["bkk-1"]
    assert client.get("/api/v1/faults?province=50", headers=who("technician", "10")).status_code == 404
    assert client.get("/api/v1/faults?reason=x&kind=site", headers=who("viewer")).json() == []
    assert len(client.get("/api/v1/faults?status=open&active=true", headers=who("viewer")).json()) == 2


def test_technician_acknowledges_and_resolves_with_a_repair_note_in_scope_only(
    client: TestClient, svc: FaultService
) -> None:
    faults = {f["camera_id"]: f["id"] for f in client.get("/api/v1/faults", headers=who("admin")).json()}
    bkk, cnx = faults["bkk-1"], faults["cnx-1"]
    assert client.post(f"/api/v1/faults/{bkk}/acknowledge", headers=who("viewer")).status_code == 403
    assert client.post(f"/api/v1/faults/{cnx}/acknowledge", headers=who("technician", "10")).status_code == 404
    acked = client.post(f"/api/v1/faults/{bkk}/acknowledge", headers=who("technician", "10"))
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged" and acked.json()["acknowledged_by"] == "somchai"
    assert client.post(f"/api/v1/faults/{bkk}/acknowledge", headers=who("technician", "10")).status_code == 409
    note = {"done": "replaced the PoE switch", "parts": "PoE switch 8-port", "cost": 2500}
    refused = client.post(f"/api/v1/faults/{bkk}/resolve", json=note, headers=who("technician", "10"))
    assert (refused.status_code, refused.json()["detail"]) == (409, "camera bkk-1 is still down (frozen)")
    svc.feed([cam(svc.clock(), "bkk-1", CameraState.UP, site="s1", district="1001")], svc.clock())
    done = client.post(f"/api/v1/faults/{bkk}/resolve", json=note, headers=who("technician", "10")).json()
    assert (done["status"], done["resolution"], done["note"], done["cost"]) == (
        "resolved", "technician", "replaced the PoE switch", 2500.0,
    )  # fmt: skip
    history = client.get(f"/api/v1/faults/{bkk}", headers=who("viewer")).json()["history"]
    assert [(h["action"], h["by"]) for h in history] == [
        ("opened", ""), ("acknowledged", "somchai"), ("resolved", ""), ("resolved", "somchai")]
    wont = client.post(f"/api/v1/faults/{cnx}/resolve", json={"done": "site closed", "wont_fix": True},
                       headers=who("technician", "50"))  # fmt: skip
    assert wont.json()["status"] == "wont_fix"
    figures = client.get("/api/v1/faults/figures?start=2026-11-25T00:00:00Z&end=2026-11-26T00:00:00Z&by=province",
                         headers=who("viewer")).json()  # fmt: skip
    assert [(r["group"], r["mtta_s"], r["resolved"]) for r in figures] == [("10", 60.0, 1), ("50", None, 0)]


def test_maintenance_windows_within_scope(client: TestClient) -> None:
    window = {"target_kind": "district", "target_id": "1001", "weekday": 1, "start_time": "01:00", "duration_min": 120}
    made = client.post("/api/v1/maintenance", json=window, headers=who("technician", "10"))
    assert made.status_code == 201 and made.json()["created_by"] == "somchai"
    other = {**window, "target_id": "5001"}
    assert client.post("/api/v1/maintenance", json=other, headers=who("technician", "10")).status_code == 404
    assert client.post("/api/v1/maintenance", json={**window, "weekday": 9}, headers=who("admin")).status_code == 422
    assert [w["target_id"] for w in client.get("/api/v1/maintenance", headers=who("viewer", "10")).json()] == ["1001"]
    assert client.get("/api/v1/maintenance", headers=who("viewer", "50")).json() == []
    wid = made.json()["id"]
    assert client.delete(f"/api/v1/maintenance/{wid}", headers=who("technician", "10")).status_code == 204
    assert client.get("/api/v1/maintenance", headers=who("admin")).json() == []


def test_routes_are_admin_only_and_never_show_the_secret(client: TestClient) -> None:
    route = {"channel": "webhook", "target": "http://127.0.0.1:9/hook", "secret": SECRET, "province": "10"}
    assert client.post("/api/v1/alert-routes", json=route, headers=who("technician", "10")).status_code == 403
    made = client.post("/api/v1/alert-routes", json=route, headers=who("admin"))
    assert made.status_code == 201 and made.json()["has_secret"] is True
    listed = client.get("/api/v1/alert-routes", headers=who("admin"))
    assert SECRET not in listed.text
    short = {**route, "secret": "short"}
    assert client.post("/api/v1/alert-routes", json=short, headers=who("admin")).status_code == 422
    assert client.delete(f"/api/v1/alert-routes/{made.json()['id']}", headers=who("admin")).status_code == 204


def test_delivery_log_for_technicians_in_scope(client: TestClient, svc: FaultService) -> None:
    route = {"channel": "email", "target": "tech@example.org"}
    client.post("/api/v1/alert-routes", json=route, headers=who("admin"))
    svc.feed([cam(svc.clock(), "bkk-2", CameraState.DOWN, Reason.NO_VIDEO, site="s2")], svc.clock())
    svc.step(svc.clock.advance(30))  # type: ignore[attr-defined]
    assert client.get("/api/v1/deliveries", headers=who("viewer")).status_code == 403
    rows = client.get("/api/v1/deliveries", headers=who("technician", "10")).json()
    assert sorted(r["fault_ids"] for r in rows) == ["1", "3"]  # bkk-1 and bkk-2, not Chiang Mai's
    assert {(r["recipient"], r["status"]) for r in rows} == {("tech@example.org", "pending")}
    assert [r["fault_ids"] for r in client.get("/api/v1/deliveries", headers=who("technician", "50")).json()] == ["2"]


@pytest.mark.parametrize(
    ("role", "url"),
    [("viewer", "/api/v1/faults/1/resolve"), ("viewer", "/api/v1/maintenance"), ("technician", "/api/v1/alert-routes")],
)
@pytest.mark.parametrize("body", [b"{not json", b'{"unknown": 1}', b"[]", b""])
def test_role_is_checked_before_the_body_is_read(client: TestClient, role: str, url: str, body: bytes) -> None:
    # issue 13: a caller below the route's role gets 403, never the body's 422 (which tells its rules)
    refused = client.post(url, content=body, headers={**who(role), "Content-Type": "application/json"})
    assert refused.status_code == 403, refused.text
    assert "role" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("role", "url"),
    [("technician", "/api/v1/faults/1/resolve"), ("technician", "/api/v1/maintenance"), ("admin", "/api/v1/alert-routes")],
)
def test_a_caller_with_the_role_gets_the_body_refusals(client: TestClient, role: str, url: str) -> None:
    headers = {**who(role), "Content-Type": "application/json"}
    bad_json = client.post(url, content=b"{not json", headers=headers)
    assert bad_json.status_code == 422 and bad_json.json()["detail"][0]["type"] == "json_invalid"
    wrong = client.post(url, json={"unknown": 1}, headers=headers)
    assert wrong.status_code == 422 and all(e["loc"][0] == "body" for e in wrong.json()["detail"])
    text = client.post(url, content=b"done=yes", headers={**who(role), "Content-Type": "text/plain"})
    assert text.status_code == 422
    deep = client.post(url, content=b"[" * 50_000 + b"]" * 50_000, headers=headers)
    assert deep.status_code == 400


def test_windows_outside_the_scope_are_404(client: TestClient) -> None:
    window = {"target_kind": "district", "target_id": "5001", "weekday": 1, "start_time": "01:00", "duration_min": 60}
    made = client.post("/api/v1/maintenance", json=window, headers=who("admin")).json()
    assert client.delete(f"/api/v1/maintenance/{made['id']}", headers=who("technician", "10")).status_code == 404
    assert client.delete("/api/v1/maintenance/999", headers=who("technician", "10")).status_code == 404
    assert client.delete(f"/api/v1/maintenance/{made['id']}", headers=who("viewer", "50")).status_code == 403
    assert client.delete(f"/api/v1/maintenance/{made['id']}", headers=who("technician", "50")).status_code == 204
