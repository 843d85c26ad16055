"""The faults API with the core's real auth (issue 6): bearer tokens, roles and province scopes.

The app is the real one (``create_app``) given the fault service.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from protocol import CameraState, Reason
from tests.rig.faults import SimClock, cam, service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PEPPER = "test-pepper-0123456789"


def test_technicians_act_only_within_their_provinces_with_real_tokens(tmp_path: Path) -> None:
    clock = SimClock()
    svc = service(tmp_path, clock)
    db = open_db(tmp_path / "camwatch.db")
    geo = load_geography(db)
    tokens = {
        name: create_token(db, name, role, provinces, pepper=PEPPER, geography=geo)[1]
        for name, role, provinces in (
            ("bkk-tech", "technician", ["10"]), ("viewer", "viewer", []), ("admin", "admin", []),
        )
    }  # fmt: skip
    svc.feed([cam(clock.now, "bkk-cam", CameraState.DOWN, Reason.UNREACHABLE, site="s1", district="1001")], clock.now)
    svc.feed([cam(clock.now, "cnx-cam", CameraState.DOWN, Reason.FROZEN, site="s9", district="5001")], clock.now)
    settings = AggregatorSettings(db_path=tmp_path / "camwatch.db", token_pepper=PEPPER)
    app = create_app(settings, geo, fault_service=svc)

    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    with TestClient(app) as client:
        assert client.get("/api/v1/faults").status_code == 401
        seen = client.get("/api/v1/faults", headers=auth("bkk-tech")).json()
        assert [f["camera_id"] for f in seen] == ["bkk-cam"]
        ids = {f["camera_id"]: f["id"] for f in client.get("/api/v1/faults", headers=auth("viewer")).json()}
        assert client.post(f"/api/v1/faults/{ids['bkk-cam']}/acknowledge", headers=auth("viewer")).status_code == 403
        assert client.post(f"/api/v1/faults/{ids['cnx-cam']}/acknowledge", headers=auth("bkk-tech")).status_code == 404
        acked = client.post(f"/api/v1/faults/{ids['bkk-cam']}/acknowledge", headers=auth("bkk-tech")).json()
        assert acked["acknowledged_by"] == "bkk-tech"
        note = {"done": "reset the camera", "parts": "", "cost": None}
        refused = client.post(f"/api/v1/faults/{ids['cnx-cam']}/resolve", headers=auth("admin"), json=note)
        assert (refused.status_code, refused.json()["detail"]) == (409, "camera cnx-cam is still down (frozen)")
        svc.feed([cam(clock.now, "cnx-cam", CameraState.UP, site="s9", district="5001")], clock.now)  # the reset worked
        resolved = client.post(f"/api/v1/faults/{ids['cnx-cam']}/resolve", headers=auth("admin"), json=note).json()
        assert resolved["resolution"] == "technician" and resolved["resolved_by"] == "admin"
        assert client.get("/api/v1/alert-routes", headers=auth("bkk-tech")).status_code == 403
        assert "/api/v1/faults/{fault_id}/resolve" in client.get("/openapi.json").json()["paths"]
    svc.stop()
