"""Phone-first fault work (issue 15), API side: a page of faults carries each site's place for
the fault cards; "near me" orders by distance from a point; a fault is assigned to the caller
or to a named technician; the header's global search finds a camera by serial, IP or id, a
site by name and a district by name, within the caller's provinces only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import CameraState, Reason
from tests.clock import PINNED
from tests.rig.api_app import ApiRig, api_rig
from tests.rig.faults import cam

# Sanam Luang (Bangkok) and Tha Phae Gate (Chiang Mai).
BKK = (13.7563, 100.4931)
CM = (18.7877, 98.9931)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[ApiRig]:
    for built in api_rig(tmp_path):
        service = built.client.app.state.ctx.faults  # type: ignore[attr-defined]
        service.feed([cam(PINNED, "cam-y", CameraState.DEGRADED, Reason.NO_VIDEO, site="cm-1", district="5001"),
                      cam(PINNED, "cam-b", CameraState.DOWN, Reason.UNREACHABLE, site="bkk-1", district="1001")],
                     PINNED)  # fmt: skip
        yield built


def _place(rig: ApiRig, site: str, name: str, at: tuple[float, float]) -> None:
    body = {"name": name, "address": f"{name} road 1", "lat": at[0], "lon": at[1], "phone": "02 123 4567"}
    answer = rig.client.patch(f"/api/v1/sites/{site}", json=body, headers=rig.auth("admin"))
    assert answer.status_code == 200, answer.text


def _faults(rig: ApiRig, who: str = "admin", **params: object) -> list[dict[str, object]]:
    answer = rig.client.get("/api/v1/faults", params={"active": "true", **params}, headers=rig.auth(who))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_cards_carry_the_place_and_near_me_orders_by_distance(rig: ApiRig) -> None:
    _place(rig, "bkk-1", "Sanam Luang", BKK)
    _place(rig, "cm-1", "Tha Phae Gate", CM)
    faults = _faults(rig)
    by_site = {f["site"]: f for f in faults}
    assert by_site["bkk-1"]["site_name"] == "Sanam Luang" and by_site["bkk-1"]["lat"] == BKK[0]
    assert by_site["cm-1"]["address"] == "Tha Phae Gate road 1" and by_site["cm-1"]["phone"] == "02 123 4567"
    assert all(f["distance_km"] is None for f in faults)

    # standing in Chiang Mai: its site first; in Bangkok: Bangkok's first
    near_cm = _faults(rig, near_lat=18.79, near_lon=98.98)
    assert near_cm[0]["site"] == "cm-1" and near_cm[-1]["site"] == "bkk-1"
    assert near_cm[0]["distance_km"] < 2 < 500 < near_cm[-1]["distance_km"]  # type: ignore[operator]
    near_bkk = _faults(rig, near_lat=13.75, near_lon=100.5)
    assert near_bkk[0]["site"] == "bkk-1"
    half = rig.client.get("/api/v1/faults", params={"near_lat": 13.7}, headers=rig.auth("admin"))
    assert half.status_code == 422


def test_assign_to_me_and_to_a_named_technician(rig: ApiRig) -> None:
    fault = next(f for f in _faults(rig) if f["site"] == "bkk-1" and f["status"] == "open")
    path = f"/api/v1/faults/{fault['id']}/assign"
    assert rig.client.post(path, json={}, headers=rig.auth("viewer")).status_code == 403
    mine = rig.client.post(path, json={}, headers=rig.auth("technician"))
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "acknowledged" and mine.json()["assignee"] == "technician"
    assert [f["id"] for f in _faults(rig, "technician", mine="true")] == [fault["id"]]
    other = rig.client.post(path, json={"assignee": "Somchai"}, headers=rig.auth("technician")).json()
    assert other["assignee"] == "Somchai" and other["acknowledged_at"] == mine.json()["acknowledged_at"]
    assert _faults(rig, "technician", mine="true") == []
    assert [f["id"] for f in _faults(rig, assigned="Somchai")] == [fault["id"]]
    history = rig.client.get(f"/api/v1/faults/{fault['id']}", headers=rig.auth("viewer")).json()["history"]
    assert [(s["action"], s["by"], s["detail"]) for s in history[-2:]] == [
        ("acknowledged", "technician", "assigned to technician"), ("assigned", "technician", "assigned to Somchai")]
    bad = rig.client.post(path, json={"assignee": ""}, headers=rig.auth("technician"))
    assert bad.status_code == 422
    resolved = rig.client.post(f"/api/v1/faults/{fault['id']}/resolve", json={"done": "x", "wont_fix": True},
                               headers=rig.auth("technician"))  # fmt: skip
    assert resolved.status_code == 200
    assert rig.client.post(path, json={}, headers=rig.auth("technician")).status_code == 409


def test_global_search_by_serial_ip_id_site_and_district_in_scope(rig: ApiRig) -> None:
    _place(rig, "cm-1", "Tha Phae Gate", CM)

    def search(q: str, who: str = "viewer") -> dict[str, list[dict[str, str]]]:
        answer = rig.client.get("/api/v1/search", params={"q": q}, headers=rig.auth(who))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    by_serial = search("sn-cam-y")  # the serial is SN-cam-y: the case as typed need not match
    assert [(c["site_id"], c["camera_id"], c["matched"]) for c in by_serial["cameras"]] == [("cm-1", "cam-y", "serial")]
    assert {c["camera_id"] for c in search("cam-")["cameras"]} == {"cam-a", "cam-b", "cam-x", "cam-y"}
    assert [s["site_id"] for s in search("Tha Phae")["sites"]] == ["cm-1"]
    assert [s["site_id"] for s in search("Phae")["sites"]] == ["cm-1"]  # a word inside the name
    assert [d["code"] for d in search("Mueang Chiang Mai")["districts"]] == ["5001"]
    # a token of Bangkok sees nothing of Chiang Mai
    assert search("SN-cam-y", "scoped")["cameras"] == [] and search("Tha Phae", "scoped")["sites"] == []
    assert search("Mueang Chiang Mai", "scoped")["districts"] == []
    assert [c["camera_id"] for c in search("SN-cam-b", "scoped")["cameras"]] == ["cam-b"]
    assert rig.client.get("/api/v1/search", params={"q": "x"}, headers=rig.auth("viewer")).status_code == 422
