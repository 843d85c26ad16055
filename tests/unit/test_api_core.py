"""Operator API through TestClient: roles, province scope, filters, 422s, pages, availability (issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.geography import load_geography
from aggregator.ingest.quarantine import Quarantine
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
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
from tests.clock import PINNED

PEPPER = "test-pepper-0123456789"
NOW = PINNED
T0 = NOW - timedelta(days=2)


@pytest.fixture(autouse=True)
def _pinned(now: datetime) -> None:
    """The API reads the clock itself (windows, rate limits): every test here runs at NOW."""
    assert now == NOW


def _birth(site: str, province: str, district: str, cams: dict[str, CameraState], maker: str) -> Inbound:
    msg = Birth(site=site, ts=T0, bd_seq=0, site_info=SiteInfo(name=f"Site {site}", agency="police"), cameras=[
        BirthCamera(camera_id=c, state=s, since=T0, reason=Reason.NONE if s == CameraState.UP else Reason.UNREACHABLE,
                    inventory=CameraInventory(maker=maker, model="DS-2CD", firmware="V5.7", serial=f"SN{c}",
                                              stream_uri="rtsp://admin:secret@10.0.0.5/stream"))
        for c, s in cams.items()])  # fmt: skip
    return Inbound(SiteTopic(province, district, site, Kind.BIRTH), msg, T0)


class Rig:
    def __init__(self, client: TestClient, db_path: Path, tokens: dict[str, str]) -> None:
        self.client = client
        self.db_path = db_path
        self.tokens = tokens

    def get(self, url: str, who: str | None = "admin", **params: object) -> object:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(url, headers=headers, params=params)  # type: ignore[arg-type]


def make_rig(tmp_path: Path, **settings: object) -> Iterator[Rig]:
    path = tmp_path / "agg.db"
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, start=T0)
    store.apply([
        _birth("bkk-1", "10", "1001", {"cam-a": CameraState.UP, "cam-b": CameraState.DOWN, "cam-c": CameraState.UP}, "Hikvision"),
        _birth("cm-1", "50", "5001", {"cam-x": CameraState.UP, "cam-y": CameraState.DEGRADED}, "Dahua"),
    ])  # fmt: skip
    ev = Events(site="bkk-1", ts=NOW - timedelta(minutes=5), seq=1, events=[  # sent when received: a true clock
        Event(id=1, camera_id="cam-a", at=NOW - timedelta(hours=3), state=CameraState.DOWN, reason=Reason.UNREACHABLE),
        Event(id=2, camera_id="cam-a", at=NOW - timedelta(hours=2), state=CameraState.UP)])  # fmt: skip
    store.apply([Inbound(SiteTopic("10", "1001", "bkk-1", Kind.EVENTS), ev, NOW - timedelta(minutes=5))])
    tokens = {}
    for name, role, provinces in (("admin", "admin", []), ("viewer", "viewer", []), ("tech", "technician", []),
                                  ("bkk", "viewer", ["10"])):  # fmt: skip
        tokens[name] = create_token(db, name, role, provinces, pepper=PEPPER, geography=geo)[1]
    cfg = AggregatorSettings(db_path=path, token_pepper=PEPPER, **settings)  # type: ignore[arg-type]
    app = create_app(cfg, geo, store=store)
    with TestClient(app) as client:
        yield Rig(client, path, tokens)
    db.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(tmp_path)


def test_no_token_401_wrong_role_403(rig: Rig) -> None:
    assert rig.get("/api/v1/nation", who=None).status_code == 401  # type: ignore[attr-defined]
    bad = rig.client.get("/api/v1/nation", headers={"Authorization": "Bearer cw_not-a-real-token"})
    assert bad.status_code == 401 and "cw_not" not in bad.text
    assert rig.get("/api/v1/tokens", who="viewer").status_code == 403  # type: ignore[attr-defined]
    assert rig.get("/api/v1/tokens", who="tech").status_code == 403  # type: ignore[attr-defined]
    assert rig.get("/api/v1/quarantine", who="viewer").status_code == 403  # type: ignore[attr-defined]
    assert rig.get("/api/v1/quarantine", who="tech").status_code == 200  # type: ignore[attr-defined]
    listed = rig.get("/api/v1/tokens")
    assert listed.status_code == 200  # type: ignore[attr-defined]
    for token in rig.tokens.values():
        assert token not in listed.text  # type: ignore[attr-defined]


def test_province_scope_hides_other_provinces(rig: Rig) -> None:
    assert rig.get("/api/v1/cameras/cm-1/cam-x", who="bkk").status_code == 404  # type: ignore[attr-defined]
    assert rig.get("/api/v1/cameras/bkk-1/cam-a", who="bkk").status_code == 200  # type: ignore[attr-defined]
    page = rig.get("/api/v1/cameras", who="bkk").json()  # type: ignore[attr-defined]
    assert page["total"] == 3 and {c["province"] for c in page["items"]} == {"10"}
    assert rig.get("/api/v1/cameras", who="bkk", province="50").status_code == 404  # type: ignore[attr-defined]
    assert rig.get("/api/v1/nation", who="bkk").status_code == 403  # type: ignore[attr-defined]
    assert [p["code"] for p in rig.get("/api/v1/provinces", who="bkk").json()] == ["10"]  # type: ignore[attr-defined]
    assert rig.get("/api/v1/sites/cm-1", who="bkk").status_code == 404  # type: ignore[attr-defined]
    assert rig.get("/api/v1/availability", who="bkk", level="province", key="50").status_code == 404  # type: ignore[attr-defined]
    assert rig.get("/api/v1/availability/cameras/cm-1/cam-x", who="bkk").status_code == 404  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "params",
    [
        {"province": "99"},
        {"district": "1099"},
        {"province": "10", "district": "5001"},
        {"sort": "camera_id; DROP TABLE camera_inventory"},
        {"sort": "(SELECT 1)"},
        {"maker": "Hik' OR '1'='1"},
        {"firmware": "V5;--"},
        {"agency": "police%"},
        {"state": "broken"},
        {"reason": "1 OR 1=1"},
        {"limit": "501"},
        {"limit": "0"},
        {"offset": "-1"},
    ],
)
def test_bad_filters_422_and_database_unchanged(rig: Rig, params: dict[str, str]) -> None:
    db = open_db(rig.db_path, migrate=False)
    before = db.execute("SELECT COUNT(*), (SELECT COUNT(*) FROM transitions) FROM camera_inventory").fetchone()
    response = rig.get("/api/v1/cameras", **params)
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert db.execute("SELECT COUNT(*), (SELECT COUNT(*) FROM transitions) FROM camera_inventory").fetchone() == before


def test_filters_sort_and_pages(rig: Rig) -> None:
    down = rig.get("/api/v1/cameras", state="down").json()  # type: ignore[attr-defined]
    assert [c["camera_id"] for c in down["items"]] == ["cam-b"] and down["items"][0]["reason"] == "unreachable"
    dahua = rig.get("/api/v1/cameras", maker="Dahua", sort="camera_id").json()  # type: ignore[attr-defined]
    assert [c["camera_id"] for c in dahua["items"]] == ["cam-x", "cam-y"]
    first = rig.get("/api/v1/cameras", sort="camera_id", limit=2).json()  # type: ignore[attr-defined]
    second = rig.get("/api/v1/cameras", sort="camera_id", limit=2, offset=2).json()  # type: ignore[attr-defined]
    third = rig.get("/api/v1/cameras", sort="camera_id", limit=2, offset=4).json()  # type: ignore[attr-defined]
    assert first["total"] == 5 and [c["camera_id"] for c in first["items"] + second["items"] + third["items"]] == [
        "cam-a", "cam-b", "cam-c", "cam-x", "cam-y"]  # fmt: skip
    sites = rig.get("/api/v1/sites", province="50").json()  # type: ignore[attr-defined]
    assert [s["site_id"] for s in sites["items"]] == ["cm-1"] and sites["items"][0]["cameras"] == 2


def test_camera_detail_has_transitions_and_no_credentials(rig: Rig) -> None:
    body = rig.get("/api/v1/cameras/bkk-1/cam-a").json()  # type: ignore[attr-defined]
    assert body["state"] == "up" and body["maker"] == "Hikvision" and body["serial"] == "SNcam-a"
    assert [(t["old_state"], t["new_state"]) for t in body["transitions"]] == [("down", "up"), ("up", "down"), (None, "up")]
    assert "secret" not in str(body) and body["fault"] is None
    missing = rig.get("/api/v1/cameras/bkk-1/nope")
    assert missing.status_code == 404 and "bkk-1/nope" in missing.json()["detail"]  # type: ignore[attr-defined]


def test_nation_provinces_and_availability(rig: Rig) -> None:
    nation = rig.get("/api/v1/nation").json()  # type: ignore[attr-defined]
    assert nation["cameras"] == 5 and nation["states"] == {"up": 3, "degraded": 1, "down": 1, "unknown": 0, "maintenance": 0}
    assert nation["provinces"] == 77 and nation["sites"] == 2
    bkk = rig.get("/api/v1/provinces/10").json()  # type: ignore[attr-defined]
    assert bkk["name_en"] == "Bangkok" and bkk["cameras"] == 3
    cam = rig.get("/api/v1/availability/cameras/bkk-1/cam-a", window="last_24h").json()  # type: ignore[attr-defined]
    assert cam["down_s"] == pytest.approx(3600, abs=1) and cam["usable"] == pytest.approx(23 / 24, abs=1e-3)
    site = rig.get("/api/v1/availability", level="site", key="bkk-1", window="last_24h").json()  # type: ignore[attr-defined]
    # cam-b down all day, cam-a down 1 h, cam-c up: usable = (24 + 23) / 72
    assert site["usable"] == pytest.approx(47 / 72, abs=1e-3) and site["unknown_s"] == 0
    prov = rig.get("/api/v1/availability", level="province", key="50", window="last_7d").json()  # type: ignore[attr-defined]
    assert prov["available"] == 1.0 and prov["usable"] == pytest.approx(0.5)
    assert rig.get("/api/v1/availability", level="province", key="99").status_code == 422  # type: ignore[attr-defined]
    assert rig.get("/api/v1/availability", level="province").status_code == 422  # type: ignore[attr-defined]
    assert rig.get("/api/v1/availability", window="month", month="2026-13").status_code == 422  # type: ignore[attr-defined]
    assert rig.get("/api/v1/availability", level="site", key="ghost").status_code == 404  # type: ignore[attr-defined]


def test_metrics_healthz_and_counters(rig: Rig) -> None:
    assert rig.client.get("/healthz").json()["status"] == "ok"
    assert rig.get("/metrics", who=None).status_code == 401  # type: ignore[attr-defined]
    text = rig.get("/metrics").text  # type: ignore[attr-defined]
    assert 'camwatch_cameras{province="10",state="down"} 1' in text
    assert 'camwatch_sites{online="true"} 2' in text
    counters = rig.get("/api/v1/ingest").json()  # type: ignore[attr-defined]
    assert counters["cameras"] == 5 and counters["transitions"] >= 7


def test_rate_limit_429(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, rate_limit_per_s=0.01, rate_limit_burst=3):
        codes = [rig.get("/api/v1/provinces/10").status_code for _ in range(4)]  # type: ignore[attr-defined]
        assert codes == [200, 200, 200, 429]
        limited = rig.get("/api/v1/provinces/10")
        assert int(limited.headers["Retry-After"]) >= 1  # type: ignore[attr-defined]
        assert rig.get("/api/v1/provinces/10", who="viewer").status_code == 200  # type: ignore[attr-defined]


def test_openapi_documents_every_router(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path):
        spec = rig.client.get("/openapi.json").json()
        for path in ("/api/v1/nation", "/api/v1/cameras", "/api/v1/cameras/{site_id}/{camera_id}",
                     "/api/v1/availability", "/api/v1/feed", "/metrics", "/healthz"):  # fmt: skip
            assert path in spec["paths"], path
        assert spec["components"]["schemas"]["AvailabilityPublic"]["examples"]


def test_me_days_and_search(rig: Rig) -> None:
    assert rig.get("/api/v1/me", who="bkk").json() == {"name": "bkk", "role": "viewer", "provinces": ["10"], "expires": None}  # type: ignore[attr-defined]
    days = rig.get("/api/v1/cameras/bkk-1/cam-a/days", days=3).json()  # type: ignore[attr-defined]
    assert len(days) == 3 and sum(d["down_s"] for d in days) == pytest.approx(3600, abs=1)
    found = rig.get("/api/v1/cameras", q="cam-x").json()  # type: ignore[attr-defined]
    assert [c["camera_id"] for c in found["items"]] == ["cam-x"]
    assert rig.get("/api/v1/cameras", q="cam%").status_code == 422  # type: ignore[attr-defined]
    assert rig.get("/api/v1/sites", q="bkk").json()["total"] == 1  # type: ignore[attr-defined]
    assert rig.get("/api/v1/sites", q="x'--").status_code == 422  # type: ignore[attr-defined]


def test_quarantine_is_limited_to_the_tokens_provinces(rig: Rig) -> None:
    # issue 13: a technician limited to province 50 read province 10's refused payloads
    db = open_db(rig.db_path, migrate=False)
    quarantine = Quarantine(db)
    for topic in ("camwatch/v1/10/1001/bkk-1/birth", "camwatch/v1/50/5001/cm-1/events", "garbage/topic",
                  "camwatch/v1/5/5001/x/birth", "camwatch/v1/100/1001/x/birth"):  # fmt: skip
        quarantine.add(topic, b"{}", "schema", "refused", now=NOW)
    geo = load_geography(db)
    rig.tokens["cm-tech"] = create_token(db, "cm-tech", "technician", ["50"], pepper=PEPPER, geography=geo)[1]
    db.close()
    mine = rig.get("/api/v1/quarantine", who="cm-tech").json()  # type: ignore[attr-defined]
    assert [r["topic"] for r in mine] == ["camwatch/v1/50/5001/cm-1/events"]
    everything = rig.get("/api/v1/quarantine", who="tech").json()  # type: ignore[attr-defined]
    assert len(everything) == 5


def test_routes_read_the_time_from_the_apps_clock(tmp_path: Path) -> None:
    # the app's clock (create_app(clock=...), kept on the context) moves every route's "now": 30 days after NOW, the camera's
    # last 24 hours are all up (its outage was 2 h before NOW) and its newest day bar is that later day
    later = NOW + timedelta(days=30)
    for rig in make_rig(tmp_path):
        rig.client.app.state.ctx.clock = lambda: later  # type: ignore[attr-defined]
        nation = rig.get("/api/v1/nation").json()  # type: ignore[attr-defined]
        assert nation["last_24h"]["end"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
        cam = rig.get("/api/v1/availability/cameras/bkk-1/cam-a", window="last_24h").json()  # type: ignore[attr-defined]
        assert cam["down_s"] == 0 and cam["end"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
        days = rig.get("/api/v1/cameras/bkk-1/cam-a/days", days=1).json()  # type: ignore[attr-defined]
        bars = rig.get("/api/v1/reports/camera-days/bkk-1/cam-a", days=1).json()  # type: ignore[attr-defined]
        bangkok = (later + timedelta(hours=7)).date().isoformat()
        assert days[0]["date"] == bars[0]["date"] == bangkok
