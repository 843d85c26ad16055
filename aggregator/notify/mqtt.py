"""MQTT channel: protocol alerts on the per-district alert topics, QoS 1."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.linkstate import LinkState
from aggregator.notify.settings import MqttAlertSettings
from protocol import NATIONAL_ALERT_TOPIC, NATIONAL_SCOPE, Alert, alert_topic, encode

__all__ = ["MqttAlerts"]

logger = logging.getLogger(__name__)

# Reconnect back-off bounds (paho's own back-off): quick after a broker restart, and at
# most a minute apart while a broker is down for long.
_RECONNECT_MIN_S = 1
_RECONNECT_MAX_S = 60


class MqttAlerts:
    """A paho client that publishes alerts; paho queues QoS 1 messages while reconnecting."""

    def __init__(self, settings: MqttAlertSettings) -> None:
        self._settings = settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id)
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, password)
        if settings.cafile:
            client.tls_set(ca_certs=str(settings.cafile), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(_RECONNECT_MIN_S, _RECONNECT_MAX_S)
        client.max_queued_messages_set(0)  # unbounded: alerts are few, losing one is worse
        # paho's own logger stays detached (a line per retry, no broker named): the link
        # state logs the first failure and the recovery, naming the broker.
        self._link = LinkState("alerts", settings.url, retry_min_s=_RECONNECT_MIN_S, retry_max_s=_RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = lambda client, userdata: self._link.failed_now()
        client.on_disconnect = self._on_disconnect
        self._client = client
        self.published = 0

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._link.failed(f"the broker refused the connection ({reason})")
        else:
            self._link.up()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self._link.lost(str(reason))

    def start(self) -> None:
        """Connect in the background."""
        self._client.connect_async(self._settings.host, self._settings.port, self._settings.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._link.stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, alert: Alert, districts: list[str]) -> None:
        """Queue the alert on each district's topic (a province alert goes to several)."""
        payload = encode(alert)
        topics = [alert_topic(alert.province, district) for district in districts]
        if alert.province == NATIONAL_SCOPE:  # a national fault (a broker down): the national topic
            topics = [NATIONAL_ALERT_TOPIC]
        for topic in topics:
            info = self._client.publish(topic, payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                logger.warning("%s: alert %s not queued: rc %s", topic, alert.fault_id, info.rc)
            self.published += 1
