"""Alert channels against real peers (issue 6): aiosmtpd with STARTTLS, an HTTP webhook sink, Mosquitto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.faults.routing import Channel, RouteSpec
from aggregator.notify.settings import (
    MqttAlertSettings,
    NotifySettings,
    SmtpSettings,
    WebhookSettings,
)
from protocol import Alert, AlertAction, CameraState, Reason, decode
from tests.rig.faults import SimClock, cam, service
from tests.rig.http_sink import WebhookSink
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector
from tests.rig.smtp import SmtpServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "a-webhook-secret-of-32-characters"


def test_email_goes_through_starttls_in_thai_and_english(tmp_path: Path) -> None:
    smtp = SmtpServer(tmp_path).start()
    try:
        clock = SimClock()
        settings = NotifySettings(
            group_window_s=5,
            smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, cafile=str(smtp.cert), starttls="require", timeout_s=10),
        )
        svc = service(tmp_path, clock, settings=settings)
        svc.routes.add(RouteSpec(channel=Channel.EMAIL, target="tech@example.org", province="10"), clock.now)
        svc.routes.add(RouteSpec(channel=Channel.EMAIL, target="other@example.org", province="50"), clock.now)
        svc.feed([cam(clock.now, "cam-7", CameraState.DEGRADED, Reason.OBSTRUCTED)], clock.now)
        svc.step(clock.advance(5))
        [email_worker] = [w for w in svc.workers if w.channel == "email"]
        assert email_worker.run_once(clock.now) == 1
        [msg] = smtp.mailbox.messages
        assert smtp.mailbox.tls == [True]
        assert msg["To"] == "tech@example.org"
        body = msg.get_content()
        assert "เลนส์ถูกบังหรือมีสิ่งกีดขวาง" in body  # the reason in Thai, decoded from UTF-8
        assert "กรุงเทพมหานคร" in body  # the province's Thai name from the registry
        assert "the lens is covered or blocked" in body
        assert "http://localhost:8080/#/camera/s1/cam-7" in body
        assert "17:05" in body or "10:00" in body  # since when, Bangkok time
        assert svc.deliveries.list(status="sent")[0]["recipient"] == "tech@example.org"
    finally:
        smtp.stop()


def test_webhook_down_for_ten_minutes_receives_every_alert_exactly_once(tmp_path: Path) -> None:
    sink = WebhookSink(SECRET, stall_s=0.6)  # not started: the endpoint is down
    clock = SimClock()
    settings = NotifySettings(
        group_window_s=0,
        rate_limit=1000,
        webhook=WebhookSettings(connect_timeout_s=0.5, read_timeout_s=0.2, backoff_base_s=2, backoff_max_s=60),
    )
    svc = service(tmp_path, clock, settings=settings)
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET), clock.now)
    [worker] = svc.workers
    fault_sites = []
    try:
        for step in range(60):  # ten simulated minutes, 10 s apart
            now = clock.advance(10)
            if step == 20:
                sink.mode = "fail"
                sink.start()
            if step == 40:
                sink.mode = "stall"
            if step % 3 == 0:  # a new fault every 30 s, each at its own site
                fault_sites.append(f"site{step}")
                svc.feed([cam(now, f"c{step}", CameraState.DOWN, Reason.UNREACHABLE, site=f"site{step}")], now)
                svc.step(now)
            worker.run_once(now)
        assert sink.answered_ok() == {}
        sink.mode = "ok"
        for _ in range(30):  # back-off is capped at 60 s: three minutes is enough
            worker.run_once(clock.advance(10))
        logged = svc.deliveries.list(limit=1000)
        assert len(logged) == len(fault_sites) == 20
        assert {row["status"] for row in logged} == {"sent"}
        keys = {row["idempotency_key"] for row in logged}
        assert sink.answered_ok() == dict.fromkeys(keys, 1)  # every alert, exactly once
        assert all(r.signature_ok for r in sink.received)
        delivered = [r.body for r in sink.received if r.answered == 200]
        assert sorted(a["site"] for b in delivered for a in b["alerts"]) == sorted(fault_sites)
        assert max(row["attempts"] for row in logged) > 3  # retried with back-off, not once
        stalled = [r for r in sink.received if r.answered == 0]
        assert stalled and all(r.key in keys for r in stalled)  # stalls were retried under the same key
    finally:
        sink.stop()
        svc.stop()


def test_webhook_signature_with_the_wrong_secret_is_refused_and_retried(tmp_path: Path) -> None:
    sink = WebhookSink("the-receiver-knows-another-key").start()
    try:
        clock = SimClock()
        svc = service(tmp_path, clock, settings=NotifySettings(group_window_s=0))
        svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET), clock.now)
        svc.feed([cam(clock.now, "c1", CameraState.DOWN, Reason.UNREACHABLE)], clock.now)
        svc.step(clock.now)
        svc.workers[0].run_once(clock.now)
        [row] = svc.deliveries.list()
        assert row["status"] == "pending" and row["last_error"] == "HTTP 401"
        assert [r.signature_ok for r in sink.received] == [False]
        assert SECRET not in json.dumps(svc.routes.routes()[0].as_dict())
    finally:
        sink.stop()
        svc.stop()


def test_mqtt_alert_on_the_district_topic_validates(tmp_path: Path, mosquitto: Broker) -> None:
    collector = Collector(mosquitto.port, ["camwatch/v1/alerts/#"])
    clock = SimClock()
    settings = NotifySettings(group_window_s=0, mqtt=MqttAlertSettings(port=mosquitto.port, client_id="alerts-test"))
    svc = service(tmp_path, clock, settings=settings)
    assert svc.mqtt is not None
    svc.mqtt.start()
    try:
        svc.feed([cam(clock.now, "cam-1", CameraState.DOWN, Reason.AUTH_FAILED, district="5001")], clock.now)
        svc.step(clock.now)
        [msg] = collector.wait_for(1)
        assert msg.topic == "camwatch/v1/alerts/50/5001" and msg.qos == 1
        alert = decode(Alert, msg.payload)
        assert alert.action is AlertAction.OPENED and alert.camera_id == "cam-1"
        assert alert.reason is Reason.AUTH_FAILED and "ชื่อผู้ใช้หรือรหัสผ่าน" in alert.text_th
        assert alert.url.endswith("/#/camera/s1/cam-1")
    finally:
        collector.close()
        svc.stop()
