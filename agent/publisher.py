"""MQTT side of the agent: will, birth, backlog replay, live events, heartbeat, acks, commands.

Session rules (after Sparkplug B, see protocol/sequence.py):

* Every connection gets a new ``bd_seq`` (kept in the outbox database so it survives
  restarts); the will registered with the broker is a :class:`protocol.Death` carrying it.
* Nothing is published until the centre's retained :class:`protocol.HostState` says it is
  online. Then: birth (split into parts when large), the outbox backlog replayed in event-id
  order flagged ``historical``, then live events in batches, and a heartbeat every interval.
  When the centre goes offline the agent keeps checking and buffering in the outbox; when it
  comes back, or sends a rebirth command, the agent births again and replays.
* Events leave the outbox only when the centre's :class:`protocol.Ack` covers their id.

Threads: paho's network thread runs the callbacks, each guarded so an exception never
kills it; one worker thread of ours does all publishing, so ``seq`` is strictly ordered.

This module keeps the session rules and the worker (when to send); around it:
:mod:`agent.publisher_settings` (what it is configured with), :mod:`agent.publisher_client`
(how the paho client is built), :mod:`agent.session_messages` (what a birth and a heartbeat
carry) and :mod:`agent.moves` (moves between brokers).
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from protocol import (
    Ack,
    BirthCamera,
    CameraRecording,
    Command,
    CommandKind,
    Death,
    Events,
    HostState,
    Kind,
    ProtocolError,
    RecorderStorage,
    SiteInfo,
    SiteMessage,
    agent_subscriptions,
    decode,
    decode_site_message,
    encode,
    next_seq,
    site_topic,
    split_birth,
)
from protocol.topics import HOST_STATE_TOPIC

from .failover import BrokerList, Endpoint
from .moves import BrokerMoves
from .outbox import Outbox
from .publisher_client import MAX_IN_FLIGHT, guarded, new_client, tls_context
from .publisher_settings import PublisherSettings
from .session_messages import build_birth, build_heartbeat, free_disk, heartbeat_payload

__all__ = ["Publisher", "PublisherSettings"]

logger = logging.getLogger(__name__)

# The worker sleeps at least this long between idle passes, and at most _MAX_SLEEP_S.
_WORKER_TICK_S = 0.5
_MAX_SLEEP_S = 5.0
# With fallback brokers, the worker looks at the broker's state at least this often.
_FAILOVER_TICK_S = 1.0
# A stopping agent waits this long for its death's PUBACK; past it, the heartbeat deadline
# tells the centre instead.
_DEATH_WAIT_S = 2.0
# How long the worker waits for one PUBACK before it looks at the session again.
_PUBACK_WAIT_S = 0.2


class Publisher(BrokerMoves):
    """Publishes one site's outbox to the centre over MQTT.

    >>> pub = Publisher(settings, outbox, snapshot=runner.current_snapshot)
    >>> pub.start()     # returns at once; connects in the background
    >>> pub.stop()      # clean disconnect (the broker does not publish the will)
    """

    def __init__(
        self,
        settings: PublisherSettings,
        outbox: Outbox,
        snapshot: Callable[[], list[BirthCamera]],
        site_info: SiteInfo | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self._snapshot = snapshot
        self._site_info = site_info or SiteInfo()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        # Session state, guarded by _lock; written by callbacks, read by the worker.
        self._connected = False
        self._centre_online = False
        self._need_birth = False
        self._session = 0  # bumped on every connect/disconnect so the worker restarts cleanly
        self._host_ts: float | None = None  # newest host state seen (POSIX s): older ones are stale
        self._moving = False  # a planned move to another broker: no reconnect jitter
        self.brokers = BrokerList([Endpoint(settings.host, settings.port), *(Endpoint(h, p) for h, p in settings.fallbacks)],
                                  settings.failover_after_s, settings.return_check_s, who=settings.site)  # fmt: skip
        self._probe: threading.Thread | None = None
        self._probe_ok: bool | None = None
        self.moves = 0  # how many times the agent changed broker (status and tests)
        self._bd_seq = outbox.next_bd_seq()
        # Worker-only state.
        self._seq = 0
        self._sent_upto = 0
        self._backlog_upto = 0
        self._next_heartbeat = 0.0
        self._in_flight: deque[tuple[mqtt.MQTTMessageInfo, int]] = deque()  # (message, event id up to)
        self.births = 0  # how many births went out (status and tests)
        self.acked_upto = 0  # highest event id the centre acknowledged
        self.confirmed_upto = 0  # highest event id whose message the broker acknowledged
        # Other commands (snapshot) go here, called on paho's thread: it must return at once.
        self.on_command: Callable[[Command], None] | None = None
        # Recording figures for the heartbeat (issue 16): set by ``run`` when recorders are configured.
        self.recording_figures: Callable[[], tuple[dict[str, CameraRecording], dict[str, RecorderStorage]]] | None = None
        self._client = self._make_client()
        outbox.add_listener(self.notify)  # a recorded change leaves at once, not at the next tick
        self._worker = threading.Thread(target=self._run, name=f"publisher-{settings.site}", daemon=True)

    def topic(self, kind: Kind) -> str:
        """This site's topic for ``kind``."""
        s = self.settings
        return site_topic(s.province, s.district, s.site, kind)

    # -- client set-up --------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = new_client(self.settings, self._tls_context)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._set_will(client)
        return client

    def _tls_context(self) -> ssl.SSLContext:
        return tls_context(self.settings)

    def _set_will(self, client: mqtt.Client) -> None:
        death = Death(site=self.settings.site, ts=datetime.now(UTC), bd_seq=self._bd_seq)
        client.will_set(self.topic(Kind.DEATH), encode(death), qos=1, retain=False)

    def start(self) -> None:
        """Connect in the background (after a random jitter) and start publishing."""
        self._connect(self.brokers.current, self.settings.jitter_s)
        self._worker.start()

    def _connect(self, endpoint: Endpoint, jitter_s: float) -> None:
        s = self.settings
        client = self._client
        client.connect_async(endpoint.host, endpoint.port, keepalive=s.keepalive_s)
        delay = random.uniform(0, jitter_s) if jitter_s > 0 else 0.0
        logger.info("%s: connecting to %s in %.1f s", s.site, endpoint, delay)
        threading.Thread(target=self._delayed_loop_start, args=(client, delay), daemon=True).start()

    def _delayed_loop_start(self, client: mqtt.Client, delay: float) -> None:
        if not self._stop.wait(delay) and client is self._client:
            client.loop_start()

    def stop(self) -> None:
        """Publish our own death, disconnect cleanly and stop the threads.

        A clean MQTT disconnect discards the will, so the death is sent explicitly (as
        Sparkplug edge nodes do): the centre marks the site unknown at once instead of
        waiting for the heartbeat deadline.
        """
        self._stop.set()
        self._wake.set()
        if self._worker.is_alive():
            self._worker.join(10)
        if self._connected:
            death = Death(site=self.settings.site, ts=datetime.now(UTC), bd_seq=self._bd_seq)
            try:
                info = self._client.publish(self.topic(Kind.DEATH), encode(death), qos=1)
                info.wait_for_publish(_DEATH_WAIT_S)
            except (RuntimeError, ValueError) as err:
                logger.warning("%s: death not published on stop: %s", self.settings.site, err)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def bd_seq(self) -> int:
        """The current connection's birth/death sequence."""
        return self._bd_seq

    # -- paho callbacks (network thread) ---------------------------------------------------

    @guarded
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            logger.warning("%s: broker refused the connection: %s", self.settings.site, reason)
            return
        s = self.settings
        client.subscribe([(t, 1) for t in agent_subscriptions(s.province, s.district, s.site)])
        with self._lock:
            self._connected = True
            self._need_birth = True
            self._session += 1
        logger.info("%s: connected (bd_seq %d)", s.site, self._bd_seq)
        self._wake.set()

    @guarded
    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            was_connected = self._connected
            self._connected = False
            self._centre_online = False
            self._session += 1
        self._wake.set()  # the failover clock starts now
        if not was_connected:
            return
        # The next connection is a new session: new bd_seq in the will, durably first.
        self._bd_seq = self.outbox.next_bd_seq()
        self._set_will(client)
        logger.warning("%s: disconnected (%s); next bd_seq %d", self.settings.site, reason, self._bd_seq)
        if self.settings.jitter_s > 0 and not self._stop.is_set() and not self._moving:
            # Spread the first reconnect; paho's exponential back-off takes over after it.
            self._stop.wait(random.uniform(0, self.settings.jitter_s))

    @guarded
    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic == HOST_STATE_TOPIC:
                self._on_host_state(decode(HostState, message.payload))
                return
            _, decoded = decode_site_message(message.topic, message.payload)
        except ProtocolError as err:
            logger.warning("%s: ignored a bad message on %s: %s", self.settings.site, message.topic, err)
            return
        if isinstance(decoded, Ack):
            deleted = self.outbox.ack(decoded.event_id)
            self.acked_upto = max(self.acked_upto, decoded.event_id)
            logger.debug("%s: ack up to %d deleted %d events", self.settings.site, decoded.event_id, deleted)
        elif isinstance(decoded, Command) and decoded.command == CommandKind.REBIRTH:
            logger.info("%s: centre asked for a rebirth (%s)", self.settings.site, decoded.cmd_id)
            with self._lock:
                self._need_birth = True
            self._wake.set()
        elif isinstance(decoded, Command) and self.on_command is not None:
            self.on_command(decoded)

    def request_birth(self) -> None:
        """Send a fresh birth soon (a camera's identity changed: replaced, firmware, rebooted)."""
        with self._lock:
            self._need_birth = True
        self._wake.set()

    def publish_reply(self, message: SiteMessage, kind: Kind = Kind.SNAPSHOT) -> bool:
        """Publish one reply (QoS 1, not retained, not kept in the outbox) if connected now.

        Replies do not take part in ``seq``: the centre matches them by their ``cmd_id``.
        """
        with self._lock:
            if not self._connected:
                return False
        info = self._client.publish(self.topic(kind), encode(message, max_bytes=self.settings.max_payload_bytes), qos=1)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def _on_host_state(self, state: HostState) -> None:
        ts = state.ts.timestamp()
        if self._host_ts is not None and ts < self._host_ts:
            # Sparkplug 3.0: a retained state older than one already seen (another broker's,
            # bridged in late) says nothing about the host now.
            logger.debug("%s: stale host state (%s) ignored", self.settings.site, state.ts)
            return
        self._host_ts = ts
        with self._lock:
            was_online = self._centre_online
            self._centre_online = state.online
            if state.online and not was_online:
                self._need_birth = True
        if state.online != was_online:
            logger.info("%s: centre is %s", self.settings.site, "online" if state.online else "offline")
        self._wake.set()

    # -- worker thread ------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the worker: new events are in the outbox (pass as the outbox's on_record)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Sleep until the next heartbeat is due; new events, acks and session changes wake
            # the worker at once, so thousands of idle publishers in one process stay cheap.
            until_beat = self._next_heartbeat - time.monotonic()
            longest = _FAILOVER_TICK_S if len(self.brokers.brokers) > 1 else _MAX_SLEEP_S
            self._wake.wait(min(max(until_beat, _WORKER_TICK_S), longest))
            self._wake.clear()
            try:
                self._step()
                self._trim_in_flight()
                self._check_broker(time.monotonic())
            except Exception:  # the worker must survive anything; the next tick retries
                logger.exception("%s: publisher step failed", self.settings.site)
                self._stop.wait(1.0)

    def _live(self, session: int) -> bool:
        with self._lock:
            return (
                self._connected
                and self._centre_online
                and self._session == session
                and not self._stop.is_set()
            )

    def _step(self) -> None:
        with self._lock:
            if not (self._connected and self._centre_online):
                self._in_flight.clear()
                return
            session = self._session
            birth_due = self._need_birth
            self._need_birth = False
        if birth_due:
            self._in_flight.clear()
            if not self._birth(session):
                with self._lock:
                    self._need_birth = True
                return
        while self._live(session):
            batch = self.outbox.pending(self._sent_upto, self.settings.batch_size)
            if not batch:
                break
            self._seq = next_seq(self._seq)
            message = Events(
                site=self.settings.site,
                ts=datetime.now(UTC),
                seq=self._seq,
                events=[e.to_wire(historical=e.id <= self._backlog_upto) for e in batch],
            )
            if not self._publish(Kind.EVENTS, encode(message, max_bytes=2**31), session, batch[-1].id):
                return
            self._sent_upto = batch[-1].id
        if self._live(session) and time.monotonic() >= self._next_heartbeat:
            self._heartbeat(session)

    def _birth(self, session: int) -> bool:
        s = self.settings
        self._backlog_upto = self.outbox.last_event_id()
        birth = build_birth(s, bd_seq=self._bd_seq, site_info=self._site_info, last_event_id=self._backlog_upto,
                            cameras=self._snapshot())  # fmt: skip
        parts = split_birth(birth, max_bytes=s.max_payload_bytes)
        for part in parts:
            if not self._publish(Kind.BIRTH, encode(part, max_bytes=s.max_payload_bytes), session):
                return False
        self._seq = parts[-1].seq
        self._sent_upto = 0  # replay the whole backlog after every birth
        self._next_heartbeat = time.monotonic() + s.heartbeat_interval_s
        self.births += 1
        logger.info(
            "%s: birth bd_seq %d sent in %d part(s), replaying %d queued events",
            s.site, self._bd_seq, len(parts), self.outbox.depth(),
        )
        return True

    def _heartbeat(self, session: int) -> None:
        s = self.settings
        self._seq = next_seq(self._seq)
        compacted = self.outbox.take_compacted()
        recording, recorders = self.recording_figures() if self.recording_figures is not None else ({}, {})
        beat = build_heartbeat(
            s, seq=self._seq, uptime_s=time.monotonic() - self._started, outbox_depth=self.outbox.depth(),
            compacted=compacted, free_disk_bytes=self._free_disk(), cameras=self._snapshot(),
            recording=recording, recorders=recorders,
        )  # fmt: skip
        self._next_heartbeat = time.monotonic() + s.heartbeat_interval_s
        payload = heartbeat_payload(s, beat)
        if not self._publish(Kind.HEARTBEAT, payload, session) and compacted:
            logger.warning("%s: heartbeat with %d compacted events not sent", s.site, compacted)

    def _free_disk(self) -> int | None:
        """Free bytes where the outbox lives: the centre sees a gateway filling up in time."""
        return free_disk(self.outbox.path.parent)

    def _publish(self, kind: Kind, payload: bytes, session: int, upto: int = 0) -> bool:
        """Hand one QoS 1 message to paho, keeping at most MAX_IN_FLIGHT unacknowledged."""
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            oldest = self._in_flight[0][0]
            if oldest.is_published():
                self._trim_in_flight()
                continue
            if not self._live(session):
                return False
            try:
                oldest.wait_for_publish(_PUBACK_WAIT_S)
            except (RuntimeError, ValueError):  # the connection went away under it
                return False
        info = self._client.publish(self.topic(kind), payload, qos=1)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            logger.debug("%s: publish on %s not queued: %s", self.settings.site, kind, info.rc)
            return False
        self._in_flight.append((info, upto))
        return True

    def _trim_in_flight(self) -> None:
        """Forget messages the broker acknowledged, in order, advancing ``confirmed_upto``."""
        while self._in_flight and self._in_flight[0][0].is_published():
            _, upto = self._in_flight.popleft()
            self.confirmed_upto = max(self.confirmed_upto, upto)
