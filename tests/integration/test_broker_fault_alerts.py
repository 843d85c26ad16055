"""National broker down (issue 17) on real peers: the probe against Mosquitto, the alert through the routes.

The probe's TLS + ``allow_anonymous false`` path (a refused CONNACK is an answer) runs in
tests/integration/test_topology_chaos.py against the rendered national brokers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aggregator.faults.model import FaultKind
from aggregator.faults.routing import Channel, RouteSpec
from aggregator.faults.service import FaultService
from aggregator.ingest.probe import probe_broker
from aggregator.notify.settings import MqttAlertSettings, NotifySettings
from protocol import Alert, AlertAction, decode
from tests.clock import current
from tests.rig.faults import database
from tests.rig.http_sink import WebhookSink
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector
from tests.rig.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60), pytest.mark.usefixtures("now")]
SECRET = "a-webhook-secret-of-32-characters"


def test_the_probe_hears_a_live_broker_and_names_why_a_dead_one_is_not(mosquitto: Broker) -> None:
    assert probe_broker("127.0.0.1", mosquitto.port, tls=None, timeout_s=5) is None
    assert probe_broker("127.0.0.1", free_port(), tls=None, timeout_s=5) == "connection refused"


def test_a_broker_fault_alerts_on_the_national_topic_and_through_a_route_without_province(
    tmp_path: Path, mosquitto: Broker
) -> None:
    sink = WebhookSink(SECRET).start()
    collector = Collector(mosquitto.port, ["camwatch/v1/alerts/#"])
    settings = NotifySettings(group_window_s=0, tick_s=0.2, mqtt=MqttAlertSettings(port=mosquitto.port, client_id="brk"))
    svc = FaultService(database(tmp_path), settings=settings)
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET, fault_kind=FaultKind.BROKER), current())
    svc.start()
    try:
        svc.on_broker("nat-a.example:8883", False)
        [msg] = collector.wait_for(1, timeout=30)
        alert = decode(Alert, msg.payload)
        assert msg.topic == "camwatch/v1/alerts/00"
        assert (alert.fault_kind, alert.province, alert.extra["broker"]) == ("broker", "00", "nat-a.example:8883")
        deadline = time.monotonic() + 30
        while not sink.answered_ok():
            assert time.monotonic() < deadline, "the route's webhook never got the broker fault"
            time.sleep(0.05)
        svc.on_broker("nat-a.example:8883", True)
        resolved = decode(Alert, collector.wait_for(2, timeout=30)[1].payload)
        assert (resolved.action, resolved.fault_id) == (AlertAction.RESOLVED, alert.fault_id)
    finally:
        svc.stop()
        collector.close()
        sink.stop()
