"""What the aggregator's end-to-end tests share: a paho client publishing like one site's
agent, and polling until the system shows what a test waits for (readiness, never a timed
assertion)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import HOST_STATE_TOPIC, Kind, site_topic

__all__ = ["SiteClient", "wait_until"]

T = TypeVar("T")


def wait_until(check: Callable[[], T], what: str, timeout: float = 40.0) -> T:
    """Poll ``check`` until it returns something truthy and return it; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class SiteClient:
    """A paho client publishing like one site's agent; it follows the aggregator's host state
    (``online``) and keeps the application acks (``acks``, highest ``acked``) and the commands
    (``commands``: rebirth, snapshot) it receives."""

    def __init__(self, port: int, site: str, province: str, district: str) -> None:
        self.site, self.province, self.district = site, province, district
        self.online = threading.Event()
        self.acks: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=site)
        ack = site_topic(province, district, site, Kind.ACK)
        cmd = site_topic(province, district, site, Kind.CMD)
        self.client.on_connect = lambda c, *_: c.subscribe([(HOST_STATE_TOPIC, 1), (ack, 1), (cmd, 1)])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    @property
    def acked(self) -> int:
        """The highest event id the aggregator acknowledged (0 before any ack)."""
        return max((int(a.get("event_id", 0)) for a in self.acks), default=0)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        if msg.topic == HOST_STATE_TOPIC and body.get("online"):
            self.online.set()
        elif msg.topic.endswith("/ack"):
            self.acks.append(body)
        elif msg.topic.endswith("/cmd"):
            self.commands.append(body)

    def send(self, kind: Kind, payload: bytes) -> None:
        """Publish ``payload`` on the site's ``kind`` topic with QoS 1 and wait for the PUBACK."""
        topic = site_topic(self.province, self.district, self.site, kind)
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
