"""The ingest's broker connection: one paho client, its session, its fallbacks and its state.

Why apart from :mod:`aggregator.ingest.consumer`: how the aggregator stays connected (which
broker of url + fallback_urls, the persistent session, the retained host state, the
subscriptions) changes for other reasons than what it does with a message. The consumer owns
the deliveries and the writer; this class owns everything paho calls back except ``on_message``,
which it hands straight to the consumer (no wrapper: it runs once per message on paho's thread).

* Persistent session (MQTT v5, clean start off, session expiry): while the aggregator is down
  or restarting, the broker keeps queueing the sites' QoS 1 messages for it. Each broker keeps
  this client id's own session; what reaches both is committed once, by (site, event id).
* Retained :class:`protocol.HostState` (primary only): ``online`` on every connect, ``offline``
  as the will and on a clean stop, so agents buffer instead of publishing into the void.
* ``generation`` counts accepted connections: a delivery's mid is only valid on the connection
  that delivered it, so the writer acks a delivery only when its generation is still current.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from aggregator.ingest.links import LINK_STATE_FILTER
from aggregator.ingest.settings import IngestSettings
from aggregator.linkstate import LinkState
from protocol import HostState, Kind, encode, site_filter
from protocol.topics import HOST_STATE_TOPIC

__all__ = ["BrokerConnection", "MessageCallback"]

logger = logging.getLogger(__name__)

# paho's reconnect back-off: quick after a broker restart, never idle for long after one.
_RECONNECT_MIN_S = 1
_RECONNECT_MAX_S = 30

# paho's on_message, handed to the consumer: (client, userdata, message).
MessageCallback = Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]


class BrokerConnection:
    """The ingest's client: connects to url, then the fallbacks in a ring; subscribes on every connect.

    >>> conn = BrokerConnection(settings, on_message=ingest_on_message, link_state=True)
    >>> conn.connect(); conn.loop_start()
    >>> conn.wait_ready(20)
    >>> conn.begin_stop(); conn.close()
    """

    def __init__(self, settings: IngestSettings, *, on_message: MessageCallback, link_state: bool) -> None:
        self.settings = settings
        self._link_state = link_state  # also subscribe to the bridges' $SYS link notifications
        self._stopping = False
        self._subscribed = threading.Event()  # the broker confirmed this connection's subscriptions
        self.generation = 0  # accepted connections so far: a mid is only valid on its connection
        self._broker = 0  # which of settings.urls the client is aimed at
        self._state_ts = datetime.now(UTC)  # the ts of this connection's will and online state
        self._link = LinkState("ingest", settings.url, retry_min_s=_RECONNECT_MIN_S, retry_max_s=_RECONNECT_MAX_S)
        self.client = self._make_client(on_message)

    def _host_state(self, online: bool, ts: datetime | None = None) -> bytes:
        return encode(HostState(online=online, ts=ts or datetime.now(UTC), host=self.settings.host_name[:100]))

    def _set_will(self, client: mqtt.Client) -> None:
        """Sparkplug 3.0: a connection's will and its online state carry the same ``ts``, new for
        each broker the client is aimed at, so an agent can ignore an older state (the will of a
        connection to the other national broker, bridged in late) and never this one's will."""
        self._state_ts = datetime.now(UTC)
        if self.settings.primary:  # a secondary's death must never tell the agents the primary is gone
            client.will_set(HOST_STATE_TOPIC, self._host_state(False, self._state_ts), qos=1, retain=True)

    def _make_client(self, on_message: MessageCallback) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password.get_secret_value())
        if s.tls:
            context = ssl.create_default_context(cafile=s.cafile)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            client.tls_set_context(context)
        self._set_will(client)
        client.reconnect_delay_set(_RECONNECT_MIN_S, _RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = on_message
        client.on_subscribe = self._on_subscribe
        # paho's own logger is not attached: it says "Client is not connected" on every
        # retry without naming the broker; self._link says what happened, once.
        return client

    def connect(self) -> None:
        """Aim the client at the first broker (url); :meth:`loop_start` makes paho connect."""
        self._connect_to(0)

    def loop_start(self) -> None:
        """Start paho's network thread: it connects, reconnects and calls back."""
        self.client.loop_start()

    def _connect_to(self, index: int) -> None:
        """Aim the client at broker ``index`` of url + fallback_urls; paho's loop connects."""
        s = self.settings
        self._broker = index
        self._set_will(self.client)
        host, port = s.urls[index]
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = s.session_expiry_s
        self.client.connect_async(host, port, keepalive=s.keepalive_s, clean_start=False, properties=props)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        """The broker is unreachable: with fallbacks, the next one (in a ring) is tried next.

        Each broker keeps this client id's own persistent session; what reaches both (the bridges
        feed both national brokers) is committed once, by (site, event id)."""
        def run() -> None:
            self._link.failed_now()
            urls = self.settings.urls
            if len(urls) > 1 and not self._stopping:
                self._connect_to((self._broker + 1) % len(urls))
                self._link.url = (self.settings.url, *self.settings.fallback_urls)[self._broker]
                logger.warning("ingest: broker unreachable, trying %s:%d next", *urls[self._broker])

        _guard("on_connect_fail", run)

    def begin_stop(self) -> None:
        """A clean stop starts: no fallback is tried and the disconnect is not a failure."""
        self._stopping = True
        self._link.stopping = True

    def close(self) -> None:
        """Say offline (retained, primary only), disconnect and stop paho's thread."""
        if self.settings.primary:  # a secondary host has no state of its own to withdraw
            try:
                info = self.client.publish(HOST_STATE_TOPIC, self._host_state(False), qos=1, retain=True)
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError) as err:
                logger.warning("ingest: offline host state not published: %s", err)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        def run() -> None:
            if reason.is_failure:
                self._link.failed(f"the broker refused the connection ({reason})")
                return
            self.generation += 1
            # Subscriptions live in the session, but a broker that lost its persistence
            # file has forgotten them: always subscribe again.
            province = self.settings.province or "+"
            filters = [(site_filter(province=province, kind=k), 1) for k in Kind if k.from_agent]
            if self._link_state:  # the provinces' bridges on this broker: "province link down"
                filters.append((LINK_STATE_FILTER, 1))
            client.subscribe(filters)
            if self.settings.primary:
                client.publish(HOST_STATE_TOPIC, self._host_state(True, self._state_ts), qos=1, retain=True)
            self._link.up(f"session present: {getattr(flags, 'session_present', '?')}")

        _guard("on_connect", run)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        def run() -> None:
            codes = list(reasons)
            if self._link_state and codes and codes[-1].is_failure:
                # a broker without bridges (or an ACL without $SYS rights): no link faults, ingest goes on
                logger.info("ingest: bridge notifications not readable here (%s): no link faults", codes[-1])
                codes.pop()
            failed = [r for r in codes if r.is_failure]
            if failed:
                logger.error("ingest: broker refused subscriptions: %s", failed)
                return
            self._subscribed.set()

        _guard("on_subscribe", run)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until connected and subscribed (what a health check and a test wait for)."""
        return self._subscribed.wait(timeout)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._subscribed.clear()
        _guard("on_disconnect", lambda: self._link.lost(str(reason)))

    @property
    def broker(self) -> tuple[str, int]:
        """(host, port) of the broker the client is aimed at now."""
        return self.settings.urls[self._broker]

    @property
    def connected(self) -> bool:
        """Whether the MQTT connection is up."""
        return self.client.is_connected()


def _guard(what: str, func: Callable[[], None]) -> None:
    try:
        func()
    except Exception:  # a callback must never kill paho's network thread
        logger.exception("ingest: %s failed", what)
