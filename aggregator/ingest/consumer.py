"""MQTT ingest: validation, quarantine, session rules, one batching writer, acks after commit.

Why each rule (DESIGN.md, transport):

* Manual acks: a message is acknowledged to the broker only after the database commit
  that stored it, so a crash between receive and commit makes the broker deliver it again.
  The store de-duplicates by (site, event id), so a crash between commit and ack costs a
  duplicate, never a loss.
* One writer thread: the paho network thread only queues deliveries; the writer decodes,
  validates, quarantines, applies a batch in one transaction, acks to the broker, then
  publishes one :class:`protocol.Ack` per site, then tells the listeners.
* Role (``ingest.role``): only the primary host acknowledges, commands and says its state; a
  secondary (a provincial control room) reads the same stream, keeps its own figures and sends
  nothing, so the agents' outboxes are governed by the primary alone.

The broker connection (persistent session, fallback brokers, retained host state, subscriptions)
is in :mod:`aggregator.ingest.connection`, which hands each message to :meth:`Ingest._on_message`;
what one delivery is worth (decode, enrolment, session routing) in :mod:`aggregator.ingest.dispatch`,
while this module keeps the writer loop (batches, commit, acks, replies, listeners);
what /healthz and /metrics read (and their limits) in :mod:`aggregator.ingest.health`;
sessions, seq gaps and rebirths are in :mod:`aggregator.ingest.sessions`; the broker and batching
settings in :mod:`aggregator.ingest.settings`; why a batch runs with the garbage collector
paused in :mod:`aggregator.ingest.gcpause`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import count
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from sqlite_utils import Database

from aggregator.ingest.brokers import BrokerWatch
from aggregator.ingest.commit import CommitHealth, Stopped, commit_batch
from aggregator.ingest.connection import BrokerConnection
from aggregator.ingest.dispatch import Delivery, DeliveryDispatch
from aggregator.ingest.gcpause import collector_paused
from aggregator.ingest.health import (
    UNACKED_AGE_LIMIT_S,
    health_reasons,
    ingest_stats,
    unacked_age_s,
)
from aggregator.ingest.links import parse_link_state
from aggregator.ingest.quarantine import Quarantine, migrate_quarantine
from aggregator.ingest.sessions import SiteSessions
from aggregator.ingest.settings import IngestSettings
from aggregator.store.snapshots import SnapshotStore, snapshot_command
from aggregator.store.state import ApplyResult, Inbound
from protocol import (
    Ack,
    BirthAssembler,
    Command,
    CommandKind,
    Events,
    Heartbeat,
    Kind,
    SiteMessage,
    SiteTopic,
    encode,
    site_topic,
)

__all__ = ["UNACKED_AGE_LIMIT_S", "Inbound", "Ingest", "IngestSettings", "migrate_quarantine"]

_Delivery = Delivery  # the old name (bench/ingest_bench.py builds deliveries by hand)

logger = logging.getLogger(__name__)

# A batch whose cycle raised (a bug, a full disk under the quarantine) is tried this many
# times before it is left to the broker's redelivery.
_CYCLE_RETRIES = 5
# The writer wakes at least this often to close expired seq gaps.
_WRITER_TICK_S = 0.2
# Deliveries waiting for the writer; past this the network thread blocks (back-pressure
# on the broker, which keeps the rest in the session queue).
_QUEUE_MAX = 50_000
# Reply topics kept built: two kinds (ack, cmd) for every site of a national fleet.
_REPLY_TOPICS = 65_536


@lru_cache(maxsize=_REPLY_TOPICS)
def _reply_topic(topic: SiteTopic, kind: Kind) -> str:
    """The topic of a reply (ack, command) to the site of ``topic``, built and checked once."""
    return site_topic(topic.province, topic.district, topic.site, kind)


class Store(Protocol):
    """What ingest needs from aggregator.store.state.StateStore."""

    def apply(self, items: Sequence[Inbound]) -> ApplyResult: ...


class Ingest(DeliveryDispatch):
    """Subscribes to every site and feeds the store through one writer thread.

    >>> ingest = Ingest(settings, db, store, listeners=[faults.on_applied])
    >>> ingest.start()
    >>> ingest.stop()
    """

    def __init__(
        self,
        settings: IngestSettings,
        db: Database,
        store: Store,
        *,
        listeners: Sequence[Callable[[Any], None]] = (),
        stage_hook: Callable[[str], None] | None = None,
        link_listeners: Sequence[Callable[[str, bool], None]] = (),
        broker_listeners: Sequence[Callable[[str, bool], None]] = (),
    ) -> None:
        self.settings = settings
        # Told (province, up) by a national primary reading its brokers' bridge notifications.
        self.link_listeners = list(link_listeners)
        self.db = db
        self.store = store
        self.listeners = list(listeners)
        self.quarantine = Quarantine(db)
        self.snapshots = SnapshotStore(db)  # replies to snapshot commands: latest per camera
        self.sessions: SiteSessions[Delivery] = SiteSessions(
            reorder_window_s=settings.reorder_window_s,
            rebirth_min_interval_s=settings.rebirth_min_interval_s,
        )
        self._assembler = BirthAssembler()
        self._stage_hook = stage_hook  # tests: called at "received", "committed", "acked"
        self._queue: queue.Queue[Delivery] = queue.Queue(_QUEUE_MAX)
        self._stop = threading.Event()
        self._carry: list[Delivery] = []  # a batch whose cycle failed, tried again
        self._cmd_ids = count(1)
        self.committed_batches = 0
        self._counters = dict.fromkeys(
            ("received", "committed", "dropped", "quarantined", "duplicates", "rebirths", "acks", "isolated",
             "unknown_cameras"), 0
        )
        self._failing_cycles = 0  # writer cycles failed in a row (health: the writer is stuck)
        self.commits = CommitHealth()
        self._batch_since: datetime | None = None  # receive time of the oldest delivery in work
        self._lag_s = 0.0  # receive-to-commit delay of the oldest message of the last batch
        self._topics: dict[str, SiteTopic] = {}  # last topic seen per site (for acks and cmds)
        self._enrolled: dict[str, tuple[str, str]] = {}  # cache of registry lookups that hit
        self._conn = BrokerConnection(settings, on_message=self._on_message, link_state=bool(self.link_listeners))
        # The writer's acks and replies go through this client (the benchmark swaps in a null one).
        self._client = self._conn.client
        # Told (host:port, up) when a configured broker goes down or comes back (with fallbacks only).
        conn = self._conn
        self._brokers = BrokerWatch(settings, current=lambda: conn.broker if conn.connected else None,
                                    listeners=broker_listeners) if broker_listeners and settings.fallback_urls else None  # fmt: skip
        self._writer = threading.Thread(target=self._run, name="ingest-writer", daemon=True)

    # -- broker -----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (persistent session) and start the writer thread."""
        self._conn.connect()
        self._writer.start()
        self._conn.loop_start()
        if self._brokers is not None:
            self._brokers.start()

    def stop(self) -> None:
        """Say offline (retained), disconnect, and stop; unacked deliveries come back later."""
        self._stop.set()
        if self._brokers is not None:
            self._brokers.stop()
        self._conn.begin_stop()
        self._writer.join(10)
        self._conn.close()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until connected and subscribed (what a health check and a test wait for)."""
        return self._conn.wait_ready(timeout)

    @property
    def connected(self) -> bool:
        """Whether the MQTT connection is up."""
        return self._conn.connected

    @property
    def _generation(self) -> int:
        """The connection a delivery must have come on for its mid to be acked."""
        return self._conn.generation

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Called once per message on paho's network thread: no closure, no logging on the
        # happy path (its cost is per status paid by the whole ingest, see bench/ingest_bench.py).
        if message.topic.startswith("$SYS/"):
            self._on_link_state(message)
            return
        try:
            delivery = Delivery(
                message.topic,
                bytes(message.payload),  # no copy: paho already made bytes
                message.mid,
                message.qos,
                self._conn.generation,
                datetime.now(UTC),
            )
            while not self._stop.is_set():
                try:
                    self._queue.put(delivery, timeout=1.0)
                    return
                except queue.Full:
                    logger.warning("ingest: writer is behind (%d queued)", self._queue.qsize())
        except Exception:  # a callback must never kill paho's network thread
            logger.exception("ingest: on_message failed")

    def _on_link_state(self, message: mqtt.MQTTMessage) -> None:
        """A bridge notification: tell the link listeners, then ack (nothing to store)."""
        try:
            parsed = parse_link_state(message.topic, bytes(message.payload))
            if parsed is not None:
                logger.info("ingest: province %s link %s", parsed[0], "up" if parsed[1] else "down")
                for listener in self.link_listeners:
                    listener(*parsed)
        except Exception:  # a callback must never kill paho's network thread
            logger.exception("ingest: link state %s failed", message.topic)
        if message.qos:
            self._client.ack(message.mid, message.qos)

    # -- writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            batch = self._carry or self._take_batch()
            self._carry = []
            self._batch_since = min((d.received_at for d in batch), default=None)
            try:
                self._cycle(batch)
                failures = 0
                self._failing_cycles = 0
            except Exception:  # the writer must survive anything
                failures += 1
                self._failing_cycles += 1
                logger.exception("ingest: writer cycle failed (%d in a row)", failures)
                if failures < _CYCLE_RETRIES:
                    self._carry = batch  # the same deliveries again: the store de-duplicates
                    self._stop.wait(1.0)
                else:
                    # Never retried for ever: one delivery at a time, so the one that breaks
                    # the cycle is found, quarantined and acknowledged, and the rest go on.
                    self._isolate(batch)
                    failures = 0
            self._batch_since = None

    def _isolate(self, batch: list[Delivery]) -> None:
        """Run each delivery of a failing batch alone; quarantine and ack those that still fail."""
        for delivery in batch:
            if self._stop.is_set():
                return  # left unacknowledged: redelivered after the restart
            try:
                self._cycle([delivery])
            except Exception as err:  # noqa: BLE001 - this delivery is the one that breaks ingest
                logger.error("ingest: %s: delivery isolated after %d failed cycles: %s",
                             delivery.topic, _CYCLE_RETRIES, err)  # fmt: skip
                self.quarantine.add(delivery.topic, delivery.payload, "ingest_error", f"{type(err).__name__}: {err}")
                self._counters["isolated"] += 1
                if delivery.generation == self._generation:
                    self._client.ack(delivery.mid, delivery.qos)

    def _take_batch(self) -> list[Delivery]:
        batch: list[Delivery] = []
        try:
            batch.append(self._queue.get(timeout=_WRITER_TICK_S))
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.settings.batch_wait_s
        while len(batch) < self.settings.batch_max:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=max(remaining, 0)) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _cycle(self, batch: list[Delivery]) -> None:
        """Decode, route, commit and acknowledge one batch, with the collector paused: the
        batch's objects live until its acks and die together (aggregator.ingest.gcpause)."""
        with collector_paused():
            self._cycle_work(batch)

    def _cycle_work(self, batch: list[Delivery]) -> None:
        now = time.monotonic()
        wall = datetime.now(UTC)  # the reader's clock of the time checks, once per batch
        self._counters["received"] += len(batch)
        items: list[Inbound] = []
        to_ack: list[Delivery] = []
        rebirths: set[str] = set()
        for delivery in batch:
            try:
                self._route(delivery, now, wall, items, to_ack, rebirths)
            except Exception as err:  # noqa: BLE001 - one delivery must never stop the batch
                logger.error("ingest: %s: delivery refused by an unexpected error: %s", delivery.topic, err)
                self.quarantine.add(delivery.topic, delivery.payload, "ingest_error", f"{type(err).__name__}: {err}")
                self._counters["isolated"] += 1
                to_ack.append(delivery)
        expired, gap_sites = self.sessions.expire(now)
        to_ack += [r.tag for r in expired]
        self._counters["dropped"] += len(expired)
        rebirths.update(gap_sites)
        if not items and not to_ack and not rebirths:
            return
        self._stage("received")
        result: ApplyResult | None = None
        if items:
            try:
                result, committed = commit_batch(self.store, items, self.quarantine, self._stop, self.commits)
            except Stopped:
                return  # nothing acknowledged: the broker delivers it all again after a restart
            for item in committed:
                self.sessions.committed(item.message)
            self._counters["committed"] += len(committed)
            self._lag_s = (datetime.now(UTC) - min(i.received_at for i in items)).total_seconds()
        self._stage("committed")
        for delivery in to_ack:
            if delivery.generation == self._generation:
                self._client.ack(delivery.mid, delivery.qos)
        self._stage("acked")
        try:  # past the broker acks: a failure here must not make the writer retry the batch
            self._after_commit(items, rebirths, result, now)
        except Exception:
            logger.exception("ingest: after-commit work failed (acks come again with the next batch)")

    def _after_commit(
        self, items: list[Inbound], rebirths: set[str], result: ApplyResult | None, now: float
    ) -> None:
        """Application acks, rebirth commands, rejected items and listeners, after the commit."""
        # One ack per site; a heartbeat reporting a non-empty outbox gets the last ack again,
        # in case the previous one was lost with a connection.
        ack_sites = {
            i.message.site
            for i in items
            if isinstance(i.message, Events)
            or (isinstance(i.message, Heartbeat) and i.message.outbox_depth > 0)
        }
        if result is not None and result.unknown_cameras:
            rebirths |= self._unknown_cameras(result.unknown_cameras, now)
        if not self.settings.primary:  # a secondary host never acknowledges nor commands
            ack_sites, rebirths = set(), set()
        ts = datetime.now(UTC)
        for site in sorted(ack_sites):
            upto = self.sessions.ack_upto(site)
            if upto:
                self._send(self._topics[site], Kind.ACK, Ack(site=site, ts=ts, event_id=upto))
                self._counters["acks"] += 1
        for site in sorted(rebirths):
            if site in self._topics:
                self._request_rebirth(self._topics[site])
        if result is None:
            return
        self.committed_batches += 1
        self._counters["duplicates"] += result.duplicates
        for site, why in result.rejected:
            self.quarantine.add(str(self._topics.get(site, site)), b"", "rejected", why)
        for listener in self.listeners:
            try:
                listener(result)
            except Exception:  # one broken listener must not stop ingest or the others
                logger.exception("ingest: listener %r failed", listener)

    def _send(self, topic: SiteTopic, kind: Kind, message: SiteMessage) -> None:
        self._client.publish(_reply_topic(topic, kind), encode(message), qos=1)

    def _request_rebirth(self, topic: SiteTopic) -> None:
        logger.info("%s: asking for a rebirth", topic.site)
        self._counters["rebirths"] += 1
        cmd = Command(
            site=topic.site,
            ts=datetime.now(UTC),
            cmd_id=f"rebirth-{next(self._cmd_ids)}",
            command=CommandKind.REBIRTH,
        )
        self._send(topic, Kind.CMD, cmd)

    def request_snapshot(self, province: str, district: str, site: str, camera_id: str) -> str | None:
        """Publish a ``snapshot`` command (any thread); its cmd_id, or None when not connected."""
        if not self.settings.primary:
            return None  # only the primary host commands a site
        cmd_id, topic, payload = snapshot_command(province, district, site, camera_id)
        self.snapshots.expect(cmd_id, site, camera_id)
        ok = self._client.is_connected() and self._client.publish(topic, payload, qos=1).rc == mqtt.MQTT_ERR_SUCCESS
        return cmd_id if ok else None

    def _stage(self, name: str) -> None:
        if self._stage_hook is not None:
            self._stage_hook(name)

    def stats(self) -> dict[str, int | float]:
        """Counters for /metrics (which ones: :func:`aggregator.ingest.health.ingest_stats`)."""
        return ingest_stats(
            self._counters, quarantined=self.quarantine.added, queue_depth=self._queue.qsize(), lag_s=self._lag_s,
            gaps=self.sessions.gaps, late_wills=self.sessions.late_wills, connected=self.connected,
            commits=self.commits, unacked_s=self.oldest_unacked_s(),
        )  # fmt: skip

    def oldest_unacked_s(self, now: datetime | None = None) -> float:
        """Age of the oldest delivery received and not yet acknowledged (0 when none waits)."""
        return unacked_age_s(self._batch_since, self._queue, now or datetime.now(UTC))

    def health(self, now: datetime | None = None) -> list[str]:
        """Why ingest cannot be trusted right now, one reason each; empty when it can."""
        return health_reasons(
            connected=self.connected, broker=self._conn.broker, commits=self.commits,
            failing_cycles=self._failing_cycles, unacked_s=self.oldest_unacked_s(now),
        )  # fmt: skip
