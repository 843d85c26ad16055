"""End to end: agent-shaped messages over a REAL Mosquitto, through ingest and the store, read
back through the HTTP API and the live feed (issue 5)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.auth import create_token
from aggregator.days import to_ms
from aggregator.service import Service
from aggregator.settings import AggregatorSettings
from aggregator.store import registry
from protocol import (
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Death,
    Event,
    Events,
    Kind,
    Reason,
    encode,
)
from tests.clock import current
from tests.rig.api_server import serve
from tests.rig.mosquitto import Broker
from tests.rig.site_client import SiteClient, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py
PEPPER = "e2e-pepper-0123456789"
SITE, PROVINCE, DISTRICT = "bkk-e2e", "10", "1001"
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@pytest.fixture
def running(mosquitto: Broker, tmp_path: Path) -> Iterator[tuple[Service, str, dict[str, str]]]:
    settings = AggregatorSettings(db_path=tmp_path / "agg.db", mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}",
                                  token_pepper=PEPPER)  # type: ignore[arg-type]  # fmt: skip
    service = Service(settings, faults=False, silence_check_s=0.5)
    registry.insert_site(service.db, SITE, PROVINCE, DISTRICT, now_ms=to_ms(current()))
    service.db.conn.commit()
    tokens = {name: create_token(service.db, name, role, provinces, pepper=PEPPER, geography=service.geography)[1]
              for name, role, provinces in (("viewer", "viewer", []), ("scoped", "viewer", ["50"]))}  # fmt: skip
    service.app.state.ctx.feed_keepalive_s = 0.5  # the feed reader notices the end quickly
    service.start()
    try:
        with serve(service.app) as url:
            yield service, url, tokens
    finally:
        service.stop()


def test_mqtt_events_read_back_through_api_and_feed(running: tuple[Service, str, dict[str, str]], mosquitto: Broker) -> None:
    service, url, tokens = running
    agent = SiteClient(mosquitto.port, SITE, PROVINCE, DISTRICT)
    http = httpx.Client(base_url=url, timeout=HTTP_TIMEOUT, headers={"Authorization": f"Bearer {tokens['viewer']}"})
    feed_lines: list[str] = []
    stop_feed = threading.Event()

    def read_feed() -> None:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(30.0, connect=5.0)) as client, client.stream(
            "GET", "/api/v1/feed", params={"province": PROVINCE}, headers={"Authorization": f"Bearer {tokens['viewer']}"}
        ) as response:
            for line in response.iter_lines():
                feed_lines.append(line)
                if stop_feed.is_set():
                    return

    feeder = threading.Thread(target=read_feed, daemon=True)
    try:
        assert agent.online.wait(20), "aggregator never published its host state"
        feeder.start()
        wait_until(lambda: any(line.startswith("event: snapshot") for line in feed_lines), "feed snapshot")
        now = current().replace(microsecond=0)
        hour_ago = now - timedelta(hours=1)
        birth = Birth(site=SITE, ts=now, bd_seq=1, seq=0, agent_version="1.0", cameras=[
            BirthCamera(camera_id=c, state=CameraState.UP, since=hour_ago,
                        inventory=CameraInventory(maker="Hikvision", model="DS-2CD2143", firmware="V5.7.3", serial=f"SN-{c}"))
            for c in ("cam-a", "cam-b", "cam-c")])  # fmt: skip
        agent.send(Kind.BIRTH, encode(birth))
        events = Events(site=SITE, ts=now, seq=1, events=[
            Event(id=1, camera_id="cam-b", at=now - timedelta(minutes=10), state=CameraState.DOWN, reason=Reason.UNREACHABLE),
            Event(id=2, camera_id="cam-b", at=now - timedelta(minutes=5), state=CameraState.UP),
            Event(id=3, camera_id="cam-c", at=now - timedelta(minutes=1), state=CameraState.DEGRADED, reason=Reason.FROZEN),
        ])  # fmt: skip
        agent.send(Kind.EVENTS, encode(events))
        agent.send(Kind.EVENTS, b'{"v": "1.0", "site": "bkk-e2e", "garbage": true}')

        def cam_c() -> dict[str, Any] | None:
            r = http.get(f"/api/v1/cameras/{SITE}/cam-c")
            return r.json() if r.status_code == 200 and r.json()["state"] == "degraded" else None

        detail = wait_until(cam_c, "cam-c degraded through the API")
        assert detail["reason"] == "frozen" and detail["maker"] == "Hikvision" and detail["serial"] == "SN-cam-c"
        page = http.get("/api/v1/cameras", params={"site_id": SITE, "sort": "camera_id"}).json()
        assert [(c["camera_id"], c["state"]) for c in page["items"]] == [("cam-a", "up"), ("cam-b", "up"), ("cam-c", "degraded")]
        avail = http.get(f"/api/v1/availability/cameras/{SITE}/cam-b", params={"window": "last_hour"}).json()
        assert avail["down_s"] == pytest.approx(300, abs=1) and avail["unknown_s"] == 0
        wait_until(lambda: any(a.get("event_id") == 3 for a in agent.acks), "ack of event 3")
        wait_until(lambda: any('"camera_id":"cam-c"' in line and '"new":"degraded"' in line for line in feed_lines),
                   "cam-c state change on the live feed")  # fmt: skip
        counters = http.get("/api/v1/ingest").json()
        assert counters["cameras"] == 3 and sum(counters["quarantined"].values()) >= 1
        scoped = http.get(f"/api/v1/cameras/{SITE}/cam-c", headers={"Authorization": f"Bearer {tokens['scoped']}"})
        assert scoped.status_code == 404

        agent.send(Kind.DEATH, encode(Death(site=SITE, ts=now, bd_seq=1)))
        gone = wait_until(lambda: http.get("/api/v1/cameras", params={"site_id": SITE, "state": "unknown"}).json()["total"] == 3,
                          "cameras unknown after the death")  # fmt: skip
        assert gone
        site = http.get(f"/api/v1/sites/{SITE}").json()
        assert site["online"] is False
        metrics = http.get("/metrics").text
        assert 'camwatch_cameras{province="10",state="unknown"} 3' in metrics
    finally:
        stop_feed.set()
        agent.close()
        http.close()
        feeder.join(timeout=20)
