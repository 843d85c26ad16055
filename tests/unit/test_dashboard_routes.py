"""Dashboard routes: the HTML shell, the report and camera-day endpoints, scopes.

The caller is a stand-in for the API's authentication (a unit test of these routes only);
the database is real and written by the real StateStore.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.api.deps import get_caller
from aggregator.auth import Principal
from aggregator.days import BANGKOK
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, SiteTopic
from tests.rig.callers import header_app


@dataclass
class Caller:
    name: str = "tester"
    role: str = "viewer"
    provinces: frozenset[str] = field(default_factory=frozenset)


@pytest.fixture
def app_with(tmp_path: Path, now: datetime) -> Iterator[tuple[TestClient, Caller]]:
    """The routes read the clock themselves: the app runs at ``now``."""
    db = open_db(tmp_path / "camwatch.db")
    geo = load_geography(db)
    store = StateStore(db, geo, start=now - timedelta(days=3))
    t0 = now - timedelta(days=2)
    store.apply([Inbound(SiteTopic("10", "1001", "S1", Kind.BIRTH), Birth(
        site="S1", ts=t0, bd_seq=0, cameras=[BirthCamera(camera_id="c1", state=CameraState.UP, since=t0)]), t0)])
    down = now - timedelta(days=1)
    store.apply([Inbound(SiteTopic("10", "1001", "S1", Kind.EVENTS), Events(site="S1", ts=down, seq=1, events=[
        Event(id=1, camera_id="c1", at=down, state=CameraState.DOWN)]), down)])  # fmt: skip
    caller = Caller()
    app = header_app(tmp_path / "camwatch.db")
    app.dependency_overrides[get_caller] = lambda: Principal(0, caller.name, caller.role, caller.provinces)
    with TestClient(app) as client:
        yield client, caller
    db.close()


def test_shell_is_served_with_a_strict_policy(app_with: tuple[TestClient, Caller]) -> None:
    client, _ = app_with
    res = client.get("/")
    assert res.status_code == 200
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert '<html lang="th">' in res.text and 'type="module"' in res.text
    assert client.get("/?lang=en").text.count('<html lang="en">') == 1
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/th-provinces.json").json()["provinces"]["10"]["d"]


@pytest.mark.calendar
def test_report_formats_and_scope(app_with: tuple[TestClient, Caller], now: datetime) -> None:
    client, caller = app_with
    month = now.astimezone(BANGKOK).strftime("%Y-%m")
    data = client.get(f"/api/v1/reports/monthly?month={month}&lang=en").json()
    assert data["rows"][-1]["code"] == "TH" and len(data["rows"]) == 78
    csv = client.get(f"/api/v1/reports/monthly?month={month}&province=10&format=csv&lang=th")
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf") and csv.content.decode("utf-8-sig").startswith("รหัส,พื้นที่")
    html = client.get(f"/api/v1/reports/monthly?month={month}&province=10&format=html&lang=th")
    assert "กรุงเทพมหานคร" in html.text and "default-src 'none'" in html.headers["content-security-policy"]
    assert client.get("/api/v1/reports/monthly?month=2026-13").status_code == 422
    caller.provinces = frozenset({"50"})
    assert client.get(f"/api/v1/reports/monthly?month={month}").status_code == 403  # nation: unscoped only
    # another province is out of scope: 404, as everywhere in the API (issue 12)
    assert client.get(f"/api/v1/reports/monthly?month={month}&province=10").status_code == 404
    assert client.get(f"/api/v1/reports/monthly?month={month}&province=50").status_code == 200


@pytest.mark.calendar
def test_camera_days_are_exact_and_scoped(app_with: tuple[TestClient, Caller]) -> None:
    client, caller = app_with
    days = client.get("/api/v1/reports/camera-days/S1/c1?days=30").json()
    assert len(days) == 30
    known = [d for d in days if d["available"] is not None]
    assert 2 <= len(known) <= 3  # the camera exists for two days (three Bangkok dates at most)
    total = sum(d["up_s"] + d["down_s"] for d in days)
    assert total == pytest.approx(2 * 86400, abs=5)
    assert sum(d["down_s"] for d in days) == pytest.approx(86400, abs=5)
    assert client.get("/api/v1/reports/camera-days/S1/nope").status_code == 404
    caller.provinces = frozenset({"50"})
    assert client.get("/api/v1/reports/camera-days/S1/c1").status_code == 404
