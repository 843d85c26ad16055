"""The fault service on its own threads (issue 6): ingest hands over, alerts go out, actions run in order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aggregator.faults.model import FaultStatus
from aggregator.faults.routing import Channel, RouteSpec
from aggregator.faults.service import FaultService
from aggregator.faults.store import FaultFilter
from aggregator.notify.settings import MqttAlertSettings, NotifySettings
from aggregator.store.state import ApplyResult
from protocol import Alert, AlertAction, CameraState, Reason, decode
from tests.clock import current
from tests.rig.faults import cam, database
from tests.rig.http_sink import WebhookSink
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py
SECRET = "a-webhook-secret-of-32-characters"


def _wait(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def test_threads_carry_an_ingest_batch_to_mqtt_and_webhook_and_run_actions(
    tmp_path: Path, mosquitto: Broker
) -> None:
    sink = WebhookSink(SECRET).start()
    collector = Collector(mosquitto.port, ["camwatch/v1/alerts/#"])
    settings = NotifySettings(
        group_window_s=0, tick_s=0.2, mqtt=MqttAlertSettings(port=mosquitto.port, client_id="svc-test")
    )
    svc = FaultService(database(tmp_path), settings=settings)
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET), current())
    svc.start()
    try:
        now = current()
        result = ApplyResult(transitions=[cam(now, "cam-1", CameraState.DOWN, Reason.BLURRED)])
        svc.on_applied(result)
        svc.on_applied(ApplyResult())  # nothing committed: nothing queued
        [msg] = collector.wait_for(1)
        assert decode(Alert, msg.payload).reason is Reason.BLURRED
        _wait(lambda: sink.answered_ok())
        [fault] = svc.store.find(FaultFilter(camera_id="cam-1"))
        assert svc.current_fault("s1", "cam-1")["id"] == fault.id  # type: ignore[index]
        assert svc.current_fault("s1", "cam-2") is None
        acked = svc.acknowledge(fault.id, "somchai")  # runs on the fault thread
        assert acked.status is FaultStatus.ACKNOWLEDGED
        messages = collector.wait_for(2)
        assert decode(Alert, messages[1].payload).action is AlertAction.ACKNOWLEDGED
        _wait(lambda: svc.store.get(fault.id).alerted_at is not None)  # type: ignore[union-attr]
    finally:
        svc.stop()
        collector.close()
        sink.stop()
