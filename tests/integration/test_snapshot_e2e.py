"""Snapshots end to end: a technician asks through the HTTP API, the real aggregator publishes
the command over a REAL Mosquitto, the real agent publisher and snapshot taker grab a frame
from the real RTSP rig with the camera's credentials, the answer comes back over MQTT, ingest
stores it, and the API serves a decodable JPEG (issue 7, camera page)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import parse_config
from agent.models import PrintSink
from agent.outbox import Outbox
from agent.publisher import Publisher, PublisherSettings
from agent.runner import Runner
from agent.snapshot import SnapshotTaker, taker_for_runner
from aggregator.auth import create_token
from aggregator.days import to_ms
from aggregator.schema import open_db
from aggregator.service import Service
from aggregator.settings import AggregatorSettings
from aggregator.store import registry
from protocol import Kind, Snapshot, encode, site_filter, site_topic
from tests.clock import current
from tests.integration.conftest_agent_checks import FAST_CHECKS, secrets
from tests.rig.api_server import serve
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector
from tests.rig.rtsp_server import HEIGHT, PASSWORD, USER, WIDTH, RtspServer
from tests.rig.site_client import wait_until

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(150), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py
PEPPER = "snapshot-pepper-0123456789"
SITE, PROVINCE, DISTRICT = "bkk-snap", "10", "1001"
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class Rig:
    service: Service
    url: str
    tokens: dict[str, str]
    publisher: Publisher
    taker: SnapshotTaker

    def http(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT,
                            headers={"Authorization": f"Bearer {self.tokens[token]}"})


@pytest.fixture
def rig(mosquitto: Broker, rtsp_server: RtspServer, tmp_path: Path) -> Iterator[Rig]:
    settings = AggregatorSettings(db_path=tmp_path / "agg.db", mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}",
                                  token_pepper=PEPPER)  # type: ignore[arg-type]  # fmt: skip
    service = Service(settings, faults=False, silence_check_s=5)
    now_ms = to_ms(current())
    registry.insert_site(service.db, SITE, PROVINCE, DISTRICT, now_ms=now_ms)
    service.db.conn.commit()
    tokens = {name: create_token(service.db, name, role, provinces, pepper=PEPPER, geography=service.geography)[1]
              for name, role, provinces in (("tech", "technician", []), ("viewer", "viewer", []),
                                            ("tech50", "technician", ["50"]), ("viewer50", "viewer", ["50"]))}
    config = parse_config({
        "site": {"site_id": SITE, "province": PROVINCE, "district": DISTRICT},
        "checks": FAST_CHECKS,
        "state_dir": str(tmp_path / "state"),
        "cameras": [
            # the secure mount needs the credentials from the secrets file
            {"id": "gate", "address": "127.0.0.1", "onvif_port": None, "stream_uri": rtsp_server.uri("secure/moving"),
             "credential": "site"},
            {"id": "yard", "address": "127.0.0.1", "onvif_port": None, "stream_uri": rtsp_server.uri("secure/moving"),
             "credential": "wrong"},
        ],
    })
    runner = Runner(config, secrets(site=(USER, PASSWORD), wrong=(USER, "not-the-password")),
                    PrintSink(), inventory=None)
    outbox = Outbox(tmp_path / "state-outbox.sqlite3")
    publisher = Publisher(
        PublisherSettings(site=SITE, province=PROVINCE, district=DISTRICT, host="127.0.0.1", port=mosquitto.port,
                          tls=False, jitter_s=0, heartbeat_interval_s=5),
        outbox, runner.current_snapshot,
    )  # fmt: skip
    # a long interval: the test's second request must be refused by the agent
    taker = taker_for_runner(runner, publisher.publish_reply, min_interval_s=3600)
    publisher.on_command = taker.handle
    service.start()
    try:
        assert service.ingest is not None and service.ingest.wait_ready(20)
        publisher.start()
        # a birth means the agent subscribed to its cmd topic earlier on the same connection
        wait_until(lambda: publisher.births >= 1, "the agent's birth")
        with serve(service.app) as url:
            yield Rig(service, url, tokens, publisher, taker)
    finally:
        publisher.stop()
        taker.close()
        service.stop()


def _latest(http: httpx.Client, camera: str, cmd_id: str) -> httpx.Response | None:
    """The GET answer once it reflects ``cmd_id`` (picture or error), else None."""
    r = http.get(f"/api/v1/cameras/{SITE}/{camera}/snapshot")
    if r.status_code == 200 and cmd_id in (r.headers.get("x-snapshot-cmd-id"), r.headers.get("x-snapshot-error-cmd-id")):
        return r
    if r.status_code == 404 and r.headers.get("x-snapshot-error-cmd-id") == cmd_id:
        return r
    return None


def test_technician_requests_a_snapshot_and_reads_it_back(
    rig: Rig, mosquitto: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    collector = Collector(mosquitto.port, [site_filter(site=SITE, kind=Kind.SNAPSHOT)])
    tech, viewer = rig.http("tech"), rig.http("viewer")
    try:
        assert viewer.get(f"/api/v1/cameras/{SITE}/gate/snapshot").status_code == 404  # nothing asked yet
        r = tech.post(f"/api/v1/cameras/{SITE}/gate/snapshot")
        assert r.status_code == 202, r.text
        cmd_id = r.json()["cmd_id"]
        got = wait_until(lambda: _latest(viewer, "gate", cmd_id), "the snapshot")
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (HEIGHT, WIDTH, 3)
        assert image.std() > 5  # the moving test pattern, not a blank frame
        taken = datetime.fromisoformat(got.headers["x-snapshot-taken-at"])
        assert abs((current() - taken).total_seconds()) < 300

        # the agent refuses a second grab of the same camera within its interval; the picture stays
        r2 = tech.post(f"/api/v1/cameras/{SITE}/gate/snapshot")
        assert r2.status_code == 202
        again = wait_until(lambda: _latest(viewer, "gate", r2.json()["cmd_id"]), "the rate-limit answer")
        assert again.status_code == 200 and again.headers["x-snapshot-error"] == "rate_limited"
        assert again.headers["x-snapshot-cmd-id"] == cmd_id and again.content == got.content

        # wrong credentials: the reason comes back, no picture
        r3 = tech.post(f"/api/v1/cameras/{SITE}/yard/snapshot")
        failed = wait_until(lambda: _latest(viewer, "yard", r3.json()["cmd_id"]), "the failed grab")
        assert failed.status_code == 404 and "stream_failed" in failed.json()["detail"]

        payloads = collector.wait_for(3, timeout=20)
        assert all(PASSWORD.encode() not in p.payload and b"not-the-password" not in p.payload for p in payloads)
    finally:
        collector.close()
        tech.close()
        viewer.close()
    assert PASSWORD not in caplog.text and "not-the-password" not in caplog.text
    assert rig.service.ingest is not None and rig.service.ingest.snapshots.stored == 1


def test_unknown_camera_is_answered_and_reported(rig: Rig) -> None:
    with rig.http("tech") as tech:
        r = tech.post(f"/api/v1/cameras/{SITE}/no-such-camera/snapshot")
        assert r.status_code == 202
        got = wait_until(lambda: _latest(tech, "no-such-camera", r.json()["cmd_id"]), "the unknown-camera answer")
    assert got.status_code == 404
    assert got.json()["detail"] == (
        f"camera {SITE}/no-such-camera: no snapshot; the last request failed at the site: unknown_camera"
    )


def test_roles_and_scope(rig: Rig) -> None:
    with rig.http("viewer") as viewer, rig.http("tech50") as tech50, rig.http("viewer50") as viewer50:
        r = viewer.post(f"/api/v1/cameras/{SITE}/gate/snapshot")
        assert r.status_code == 403
        assert tech50.post(f"/api/v1/cameras/{SITE}/gate/snapshot").status_code == 404
        assert tech50.post("/api/v1/cameras/no-site/gate/snapshot").status_code == 404
        assert viewer50.get(f"/api/v1/cameras/{SITE}/gate/snapshot").status_code == 404
        assert httpx.post(f"{rig.url}/api/v1/cameras/{SITE}/gate/snapshot", timeout=HTTP_TIMEOUT).status_code == 401
    assert rig.taker.published == 0  # none of these reached the agent


def test_unsolicited_and_unknown_site_snapshots_are_quarantined(rig: Rig, mosquitto: Broker) -> None:
    ok, buf = cv2.imencode(".jpg", np.full((24, 32, 3), 200, np.uint8))
    picture = Snapshot(site=SITE, ts=current(), camera_id="gate", cmd_id="snap-nobody-asked",
                       taken_at=current(), width=32, height=24,
                       data=base64.b64encode(buf.tobytes()).decode())
    stranger = picture.model_copy(update={"site": "not-enrolled"})
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pusher")
    client.connect("127.0.0.1", mosquitto.port, keepalive=30)
    client.loop_start()
    try:
        client.publish(site_topic(PROVINCE, DISTRICT, SITE, Kind.SNAPSHOT), encode(picture), qos=1).wait_for_publish(10)
        client.publish(site_topic(PROVINCE, DISTRICT, "not-enrolled", Kind.SNAPSHOT), encode(stranger),
                       qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    db = open_db(rig.service.settings.db_path, migrate=False)
    try:
        wait_until(lambda: {r[0] for r in db.execute("SELECT reason FROM quarantine WHERE topic LIKE '%/snapshot'")}
                   >= {"unsolicited", "unknown_site"}, "both snapshots quarantined")
        assert db.execute("SELECT COUNT(*) FROM camera_snapshots").fetchone()[0] == 0
    finally:
        db.close()
    with rig.http("viewer") as viewer:
        assert viewer.get(f"/api/v1/cameras/{SITE}/gate/snapshot").status_code == 404
