"""A small paho-based MQTT test client: collect what arrives, wait for it with a timeout."""

from __future__ import annotations

import itertools
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

_ids = itertools.count()


@dataclass(frozen=True)
class Received:
    """One message as the subscriber saw it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class Collector:
    """Subscribe to filters on a broker and keep every message that arrives."""

    def __init__(self, port: int, filters: list[str], *, host: str = "127.0.0.1", qos: int = 1,
                 username: str | None = None, password: str | None = None, cafile: str | None = None) -> None:
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"collector-{next(_ids)}")
        if username is not None:
            self.client.username_pw_set(username, password)
        if cafile is not None:
            self.client.tls_set_context(ssl.create_default_context(cafile=cafile))
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self._filters = filters
        self._qos = qos
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("collector did not get SUBACK within 10 s")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object = None) -> None:
        client.subscribe([(f, self._qos) for f in self._filters])

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain)))
            self._cond.notify_all()

    def wait_for(self, count: int, *, topic_suffix: str = "", timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` messages (whose topic ends with ``topic_suffix``) arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if m.topic.endswith(topic_suffix)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"got {len(found)} of {count} messages for '*{topic_suffix}'")
                self._cond.wait(remaining)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
