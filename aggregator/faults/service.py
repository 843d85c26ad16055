"""The fault worker: engine, store and dispatcher on one thread, fed by ingest's listener call.

Ingest calls :meth:`FaultService.on_applied` after each commit; that only puts the batch
on a queue, so faults and alerts never slow ingest down. The worker thread applies the
rules, persists the changes, buffers and sends notifications, and runs the time-based
rules every ``tick_s``. Technician actions from the API run on the same thread (through
the queue), so the engine has a single writer. Webhook, e-mail and LINE deliveries are sent
by their own threads from the durable delivery log.

Tests and benchmarks may skip :meth:`start` and drive :meth:`feed` and :meth:`step` with a
simulated clock instead.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlite_utils import Database

from aggregator.faults.dispatcher import Dispatcher, Notification
from aggregator.faults.model import Fault, FaultChange, FaultRules, RepairNote, TransitionLike
from aggregator.faults.never_online import NeverOnlineWatch
from aggregator.faults.routing import RouteBook
from aggregator.faults.rules import FaultEngine, FaultNotFound
from aggregator.faults.store import FaultStore, fault_row
from aggregator.faults.text import Directory, RegistryDirectory
from aggregator.notify.deliveries import Backoff, DeliveryLog
from aggregator.notify.email import EmailSender
from aggregator.notify.images import ImageLinks
from aggregator.notify.line import LineSender
from aggregator.notify.mqtt import MqttAlerts
from aggregator.notify.settings import NotifySettings
from aggregator.notify.webhook import WebhookSender
from aggregator.notify.worker import DeliveryWorker, utcnow
from aggregator.store.maintenance import MaintenanceCalendar
from aggregator.store.queries.recording import recorder_group

__all__ = ["FaultService"]

logger = logging.getLogger(__name__)

# Registry facts (site counts, agencies) change only when sites are enrolled; five minutes
# keeps a fault storm from querying them per transition while new sites count soon enough.
_REGISTRY_CACHE_S = 300.0
_T = TypeVar("_T")

# An API call waits this long for the fault worker to run a technician action; the worker
# handles a batch in milliseconds, so this only expires when it is wedged.
_ACTION_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class _Link:
    province: str
    up: bool


@dataclass(frozen=True, slots=True)
class _Broker:
    broker: str
    up: bool


class _Applied(Protocol):
    @property
    def transitions(self) -> Sequence[TransitionLike]: ...


def _cached(lookup: Callable[[str], _T]) -> Callable[[str], _T]:
    """Remember registry answers for a while: sites are enrolled rarely, faults open often."""
    memo: dict[str, tuple[float, _T]] = {}

    def get(key: str) -> _T:
        now = time.monotonic()
        hit = memo.get(key)
        if hit is None or now - hit[0] > _REGISTRY_CACHE_S:
            hit = memo[key] = (now, lookup(key))
        return hit[1]

    return get


class FaultService:
    """Wire the fault engine, store, dispatcher and channels (see the module docstring)."""

    def __init__(
        self,
        connect: Callable[[], Database],
        *,
        rules: FaultRules | None = None,
        settings: NotifySettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        directory: Directory | None = None,
        sites_in_district: Callable[[str], int] | None = None,
        districts_in_province: Callable[[str], int] | None = None,
        agency_of: Callable[[str], str] | None = None,
        on_handoff: Callable[[Notification, str, datetime], None] | None = None,
    ) -> None:
        self.settings = settings or NotifySettings()
        self.clock = clock
        self._connect = connect
        self.db = connect()
        self.store = FaultStore(self.db)
        self.calendar = MaintenanceCalendar(connect())
        self.routes = RouteBook(connect())
        registry = RegistryDirectory(self.db)
        rules = rules or FaultRules(reopen_window_s=self.settings.reopen_window_s)
        self.engine = FaultEngine(
            rules,
            next_id=self.store.next_id(),
            active=self.store.load_active(),
            # closed within the reopen window before a restart still reopen (with their history)
            closed=self.store.load_closed_since(clock() - timedelta(seconds=rules.reopen_window_s)),
            sites_in_district=sites_in_district or _cached(registry.sites_in_district),
            districts_in_province=districts_in_province or _cached(registry.districts_in_province),
            agency_of=agency_of or _cached(registry.agency),
            recorder_of=lambda site, cam: recorder_group(self.db, site, cam),
        )
        self.mqtt = MqttAlerts(self.settings.mqtt) if self.settings.mqtt else None
        self.never_online = NeverOnlineWatch(self.db, self.settings.never_online_after_s)
        self.deliveries = DeliveryLog(self.db)
        self.workers: list[DeliveryWorker] = []
        backoff = Backoff(
            self.settings.webhook.backoff_base_s,
            self.settings.webhook.backoff_max_s,
            self.settings.webhook.give_up_s,
        )
        self.webhook = WebhookSender(self.routes.secret, self.settings.webhook)
        self.workers.append(
            DeliveryWorker("webhook", DeliveryLog(connect()), self.webhook.send, backoff, clock)
        )
        if self.settings.smtp is not None:
            sender = EmailSender(self.settings.smtp)
            self.workers.append(DeliveryWorker("email", DeliveryLog(connect()), sender.send, backoff, clock))
        self.line: LineSender | None = None
        image_link = None
        if self.settings.line is not None:
            line = self.settings.line
            self.line = LineSender(line)
            line_backoff = Backoff(line.backoff_base_s, line.backoff_max_s, line.give_up_s)
            self.workers.append(DeliveryWorker("line", DeliveryLog(connect()), self.line.send, line_backoff, clock))
            image_link = ImageLinks(self.db, self.settings.base_url, line.image_link_ttl_s).link
        self.dispatcher = Dispatcher(
            self.settings,
            lookup=self.engine.get,
            routes=self.routes,
            deliveries=self.deliveries,
            mqtt=self.mqtt,
            calendar=self.calendar,
            directory=directory or registry,
            on_handoff=on_handoff,
            image_link=image_link,
        )
        self.dispatcher.seed_suppressed(self.engine.active())
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- ingest side (never blocks) ----------------------------------------------------

    def on_applied(self, result: _Applied) -> None:
        """Ingest listener: queue the committed batch's transitions for the fault worker."""
        if result.transitions:
            self._queue.put(list(result.transitions))

    def on_link(self, province: str, up: bool) -> None:
        """Ingest's link listener: a province's bridge went down (``up`` False) or came back."""
        self._queue.put(_Link(province, up))

    def on_broker(self, broker: str, up: bool) -> None:
        """Ingest's broker watch: a configured broker ("host:port") went down or came back."""
        self._queue.put(_Broker(broker, up))

    # -- the worker's steps (callable directly with a simulated clock) -------------------

    def feed(self, transitions: Sequence[TransitionLike], now: datetime) -> list[FaultChange]:
        """Apply transitions, persist the changes, offer them to the dispatcher, flush due groups."""
        changes = self.engine.process(transitions, now)
        self._commit(changes, now)
        self._flush(now)
        return changes

    def step(self, now: datetime) -> list[FaultChange]:
        """Run the time-based rules (flapping end, escalation, sites never online) and flush due notifications."""
        changes = self.engine.tick(now, muted=self.dispatcher.muted)
        changes += self.never_online.tick(self.engine, now)
        self._commit(changes, now)
        self._flush(now)
        return changes

    def _commit(self, changes: list[FaultChange], now: datetime) -> None:
        self.store.save(changes)
        self.dispatcher.offer(changes, now)

    def _flush(self, now: datetime) -> None:
        alerted = self.dispatcher.pump(now)
        marks: list[FaultChange] = []
        for fault_id in alerted:
            marks += self.engine.mark_alerted(fault_id, now)
        self.store.save(marks)
        if alerted or self.dispatcher.counts["deliveries"]:
            for worker in self.workers:
                worker.wake()

    def current_fault(self, site: str, camera_id: str) -> dict[str, Any] | None:
        """The camera's active fault (or its site's, while the site is gone), for the camera page."""
        fault = self.engine.active_for_camera(camera_id) or self.engine.active_for_site(site)
        return fault_row(fault) if fault is not None else None

    # -- technician actions --------------------------------------------------------------

    def acknowledge(self, fault_id: int, by: str) -> Fault:
        """Acknowledge a fault (raises FaultNotFound / FaultStateError)."""
        return self._act(lambda now: self.engine.acknowledge(fault_id, by, now))

    def assign(self, fault_id: int, by: str, assignee: str) -> Fault:
        """Give a fault to a named technician (or the caller themselves)."""
        return self._act(lambda now: self.engine.assign(fault_id, by, assignee, now))

    def resolve(self, fault_id: int, by: str, note: RepairNote, *, wont_fix: bool = False) -> Fault:
        """Resolve a fault by hand with its repair note (or close it as won't-fix)."""
        return self._act(lambda now: self.engine.resolve(fault_id, by, note, now, wont_fix=wont_fix))

    def _act(self, action: Callable[[datetime], list[FaultChange]]) -> Fault:
        def run() -> Fault:
            now = self.clock()
            changes = action(now)
            self._commit(changes, now)
            self._flush(now)
            return changes[0].fault

        if self._thread is None:
            return run()
        future: Future[Fault] = Future()
        self._queue.put((run, future))
        return future.result(timeout=_ACTION_TIMEOUT_S)

    # -- thread --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the fault worker, the delivery senders and the MQTT client."""
        if self.mqtt is not None:
            self.mqtt.start()
        for worker in self.workers:
            worker.start()
        self._thread = threading.Thread(target=self._run, name="camwatch-faults", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every thread this service started."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(_ACTION_TIMEOUT_S)
            self._thread = None
        for worker in self.workers:
            worker.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
        self.webhook.close()
        if self.line is not None:
            self.line.close()

    def _run(self) -> None:
        next_tick = self.clock()
        while not self._stopping.is_set():
            wait = max((next_tick - self.clock()).total_seconds(), 0.0)
            items: list[Any] = []
            try:
                items.append(self._queue.get(timeout=wait))
                while True:
                    items.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            batch: list[TransitionLike] = []
            for item in items:
                if isinstance(item, _Link | _Broker):
                    self._feed_safely(batch)
                    batch = []
                    self._link_safely(item)
                elif isinstance(item, tuple):
                    self._feed_safely(batch)
                    batch = []
                    self._run_action(*item)
                elif item is not None:
                    batch.extend(item)
            self._feed_safely(batch)
            now = self.clock()
            if now >= next_tick:
                try:
                    self.step(now)
                except Exception:  # noqa: BLE001 - the fault worker must outlive one bad tick
                    logger.exception("faults: tick failed")
                next_tick = now + timedelta(seconds=self.settings.tick_s)

    def link(self, province: str, up: bool, now: datetime) -> list[FaultChange]:
        """Apply a province link state (aggregator.faults.links) and persist its changes."""
        changes = self.engine.link_changed(province, up, now)
        self._commit(changes, now)
        self._flush(now)
        return changes

    def broker(self, broker: str, up: bool, now: datetime) -> list[FaultChange]:
        """Apply a broker state (aggregator.faults.brokers) and persist its changes."""
        changes = self.engine.broker_changed(broker, up, now)
        self._commit(changes, now)
        self._flush(now)
        return changes

    def _link_safely(self, item: _Link | _Broker) -> None:
        try:
            if isinstance(item, _Broker):
                self.broker(item.broker, item.up, self.clock())
            else:
                self.link(item.province, item.up, self.clock())
        except Exception:  # noqa: BLE001 - the fault worker must outlive one bad link change
            logger.exception("faults: change %r failed", item)

    def _feed_safely(self, batch: list[TransitionLike]) -> None:
        if not batch:
            return
        try:
            self.feed(batch, self.clock())
        except Exception:  # noqa: BLE001 - the fault worker must outlive one bad batch
            logger.exception("faults: batch of %d transitions failed", len(batch))

    @staticmethod
    def _run_action(run: Callable[[], Fault], future: Future[Fault]) -> None:
        try:
            future.set_result(run())
        except (FaultNotFound, ValueError) as err:
            future.set_exception(err)
