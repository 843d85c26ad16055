"""Maintenance windows where operators see figures, end to end: agent-shaped messages over a
REAL Mosquitto into the real ingest, windows planned through the REST API, then the nation
summary, /metrics, the live feed and the monthly report read back over HTTP while the windows
are active (and the summary again once they are cancelled)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.auth import create_token
from aggregator.days import BANGKOK, to_ms
from aggregator.service import Service
from aggregator.settings import AggregatorSettings
from aggregator.store import registry
from protocol import (
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Heartbeat,
    Kind,
    Reason,
    encode,
)
from tests.clock import current
from tests.rig.api_server import serve
from tests.rig.mosquitto import Broker
from tests.rig.site_client import SiteClient, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py
PEPPER = "maint-pepper-0123456789"
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# site id -> (province, district)
SITES = {"bkk-a": ("10", "1001"), "bkk-b": ("10", "1002"), "cm-c": ("50", "5001")}
STATES = ("up", "degraded", "down", "unknown", "maintenance")


@pytest.fixture
def running(mosquitto: Broker, tmp_path: Path) -> Iterator[tuple[Service, str, dict[str, str]]]:
    settings = AggregatorSettings(db_path=tmp_path / "agg.db", mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}",
                                  token_pepper=PEPPER)  # fmt: skip
    service = Service(settings, silence_check_s=0.5)
    for site, (province, district) in SITES.items():
        registry.insert_site(service.db, site, province, district, now_ms=to_ms(current()))
    service.db.conn.commit()
    tokens = {name: create_token(service.db, name, role, [], pepper=PEPPER, geography=service.geography)[1]
              for name, role in (("viewer", "viewer"), ("tech", "technician"))}  # fmt: skip
    service.app.state.ctx.feed_keepalive_s = 0.5
    service.start()
    try:
        with serve(service.app) as url:
            yield service, url, tokens
    finally:
        service.stop()


def _clip(a: int, b: int, lo: int, hi: int) -> int:
    """Milliseconds of [a, b) inside [lo, hi)."""
    return max(0, min(b, hi) - max(a, lo))


def test_active_windows_show_as_maintenance_in_summary_feed_metrics_and_report(
    running: tuple[Service, str, dict[str, str]], mosquitto: Broker
) -> None:  # fmt: skip
    service, url, tokens = running
    agents = {site: SiteClient(mosquitto.port, site, *SITES[site]) for site in SITES}
    http = httpx.Client(base_url=url, timeout=HTTP_TIMEOUT, headers={"Authorization": f"Bearer {tokens['viewer']}"})
    tech = {"Authorization": f"Bearer {tokens['tech']}"}
    feed_lines: list[str] = []
    stop_feed = threading.Event()

    def read_feed() -> None:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(30.0, connect=5.0)) as client, client.stream(
            "GET", "/api/v1/feed", headers={"Authorization": f"Bearer {tokens['viewer']}"}
        ) as response:
            for line in response.iter_lines():
                feed_lines.append(line)
                if stop_feed.is_set():
                    return

    feeder = threading.Thread(target=read_feed, daemon=True)
    try:
        for agent in agents.values():
            assert agent.online.wait(20), "aggregator never published its host state"
        feeder.start()
        wait_until(lambda: any(line.startswith("event: snapshot") for line in feed_lines), "feed snapshot")
        now = current().replace(microsecond=0)
        since = now - timedelta(hours=2)
        cams = {"bkk-a": {"cam-1": CameraState.UP, "cam-2": CameraState.UP},
                "bkk-b": {"cam-x": CameraState.UP, "cam-y": CameraState.UP},
                "cm-c": {"cam-z": CameraState.DOWN}}  # fmt: skip
        for site, agent in agents.items():
            agent.send(Kind.BIRTH, encode(Birth(site=site, ts=now, bd_seq=1, seq=0, cameras=[
                BirthCamera(camera_id=c, state=s, since=since, reason=Reason.NONE if s is CameraState.UP else Reason.UNREACHABLE)
                for c, s in cams[site].items()])))  # fmt: skip
        # cam-2 goes down 40 minutes ago (its district's window starts 30 minutes ago); cam-x now
        down_2, down_x = now - timedelta(minutes=40), now - timedelta(minutes=20)
        agents["bkk-a"].send(Kind.EVENTS, encode(Events(site="bkk-a", ts=now, seq=1, events=[
            Event(id=1, camera_id="cam-2", at=down_2, state=CameraState.DOWN, reason=Reason.UNREACHABLE)])))  # fmt: skip
        agents["bkk-b"].send(Kind.EVENTS, encode(Events(site="bkk-b", ts=now, seq=1, events=[
            Event(id=1, camera_id="cam-x", at=down_x, state=CameraState.DOWN, reason=Reason.STREAM_FAILED)])))  # fmt: skip
        wait_until(lambda: agents["bkk-a"].acked >= 1 and agents["bkk-b"].acked >= 1, "acks of the events")

        def nation() -> dict[str, int]:
            states: dict[str, int] = http.get("/api/v1/nation").json()["states"]
            return states

        assert nation() == {"up": 2, "degraded": 0, "down": 3, "unknown": 0, "maintenance": 0}
        # plan: district 1001 from 30 minutes ago, camera cam-x from 10 minutes ago, both for an hour more
        starts_1001, starts_x = now - timedelta(minutes=30), now - timedelta(minutes=10)
        ids = []
        for kind, target, start in (("district", "1001", starts_1001), ("camera", "cam-x", starts_x)):
            r = http.post("/api/v1/maintenance", headers=tech, json={
                "target_kind": kind, "target_id": target, "starts_at": start.isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(), "note": "planned works"})  # fmt: skip
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])

        # the nation summary and the areas: cam-1, cam-2 (district) and cam-x as maintenance
        assert nation() == {"up": 1, "degraded": 0, "down": 1, "unknown": 0, "maintenance": 3}
        bkk = http.get("/api/v1/provinces/10").json()["states"]
        assert bkk == {"up": 1, "degraded": 0, "down": 0, "unknown": 0, "maintenance": 3}
        districts = {d["code"]: d["states"] for d in http.get("/api/v1/districts", params={"province": "10"}).json()}
        assert districts["1001"]["maintenance"] == 2 and districts["1002"]["maintenance"] == 1
        assert districts["1002"]["down"] == 0 and districts["1002"]["up"] == 1
        metrics = http.get("/metrics").text
        assert 'camwatch_cameras{province="10",state="maintenance"} 3' in metrics
        assert 'camwatch_cameras{province="10",state="down"} 0' in metrics
        assert 'camwatch_cameras{province="50",state="down"} 1' in metrics
        # camera lists still say what each camera reported
        listed = http.get("/api/v1/cameras", params={"site_id": "bkk-a", "sort": "camera_id"}).json()["items"]
        assert [c["state"] for c in listed] == ["up", "down"]

        # the live feed: the next commit after the windows started sends every province's rollup
        beats = itertools.count(2)

        def feed_rollup() -> bool:
            seq = next(beats)
            agents["bkk-a"].send(Kind.HEARTBEAT, encode(Heartbeat(site="bkk-a", ts=current(), seq=seq)))
            want = {"province": "10", "states": dict(zip(STATES, [1, 0, 0, 0, 3], strict=True))}
            return any(line == "data: " + json.dumps(want, separators=(",", ":")) for line in feed_lines)

        wait_until(feed_rollup, "a rollup with province 10's cameras under maintenance on the live feed")

        # the month's report: exactly the camera time inside the windows as maintenance, and the
        # same figures as the availability API over the report's own window
        month = now.astimezone(BANGKOK).strftime("%Y-%m")
        report = http.get("/api/v1/reports/monthly", params={"month": month, "province": "10", "lang": "en"}).json()
        start, end = (datetime.fromisoformat(report["window"][k]) for k in ("start", "end"))
        lo, hi = to_ms(start), to_ms(end)
        a1001, ax = to_ms(starts_1001), to_ms(starts_x)
        rows = {r["code"]: r for r in report["rows"]}
        want_1001 = 2 * _clip(a1001, hi, lo, hi)
        want_1002 = _clip(ax, hi, lo, hi)
        assert rows["1001"]["maintenance_h"] == pytest.approx(want_1001 / 3_600_000, abs=1e-9)
        assert rows["1002"]["maintenance_h"] == pytest.approx(want_1002 / 3_600_000, abs=1e-9)
        api = http.get("/api/v1/availability", params={"level": "province", "key": "10", "window": "custom",
                                                       "start": start.isoformat(), "end": end.isoformat()}).json()  # fmt: skip
        total = rows["10"]  # the province total row
        assert api["maintenance_s"] * 1000 == pytest.approx(want_1001 + want_1002, abs=1e-3)
        assert total["maintenance_h"] == pytest.approx(api["maintenance_s"] / 3600, abs=1e-9)
        assert total["available"] == pytest.approx(api["available"], abs=1e-12)
        # cam-2 was down 10 minutes before its district's window: only those count as down
        d1001 = http.get("/api/v1/availability", params={"level": "district", "key": "1001", "window": "custom",
                                                         "start": start.isoformat(), "end": end.isoformat()}).json()  # fmt: skip
        assert d1001["down_s"] * 1000 == _clip(to_ms(down_2), a1001, lo, hi)

        # cancelled: the summary shows the reported states again
        for window_id in ids:
            assert http.delete(f"/api/v1/maintenance/{window_id}", headers=tech).status_code == 204
        assert nation() == {"up": 2, "degraded": 0, "down": 3, "unknown": 0, "maintenance": 0}
    finally:
        stop_feed.set()
        for agent in agents.values():
            agent.close()
        http.close()
        feeder.join(timeout=20)
