"""The composition root of ``serve``: every part built from the one settings tree and wired.

Database, StateStore, checkpointer, live feed, ingest meter, fault service (with its alert
channels from the ``notify``, ``webhook``, ``smtp`` and ``alert_mqtt`` sections), MQTT ingest,
silence watch, API. Nothing below reads the environment: each part gets its section.

The silence watch's tick also keeps the camera history to ``retention.history_keep_days``
(aggregator.store.retention), a day at a time.

Connections: the store has its own writer connection; ingest and the fault service open
theirs; API readers get one per server thread. SQLite WAL lets them read while the store
commits, and the store's lock keeps ``apply`` and ``expire_silent_sites`` one at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlite_utils import Database

from aggregator.api.metrics import IngestMeter
from aggregator.app import create_app
from aggregator.faults.service import FaultService
from aggregator.feed import Feed
from aggregator.geography import load_geography
from aggregator.ingest.consumer import Ingest
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.checkpointer import WRITER_BACKSTOP_PAGES, Checkpointer
from aggregator.store.state import STATE_FLUSH_S, ApplyResult, StateStore, Transition

__all__ = ["PRUNE_RETRY_S", "SILENCE_CHECK_S", "Service"]

logger = logging.getLogger(__name__)

# How often silent sites are looked for. A heartbeat is due every 60 s and a site is
# silent after 2.5 of them, so checking every 10 s marks it within 6% of the deadline.
SILENCE_CHECK_S = 10.0
# How long history pruning waits after a failure before it tries again.
PRUNE_RETRY_S = 600.0

Listener = Callable[[ApplyResult], None]


class Service:
    """The aggregator process's parts. ``start`` then ``app`` (served by uvicorn), then ``stop``.

    ``ingest=False`` / ``faults=False`` leave a part out on purpose (``serve --no-ingest``,
    tests); a part that cannot be built fails the start, it is never left out silently.
    """

    def __init__(
        self, settings: AggregatorSettings, *, ingest: bool = True, faults: bool = True,
        silence_check_s: float = SILENCE_CHECK_S, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:  # fmt: skip
        self.settings = settings
        self.clock = clock  # the wall clock of the silence watch and of a new store's first day
        db_path = settings.store.db_path
        self.db: Database = open_db(db_path)
        self.geography = load_geography(self.db)
        self.store = StateStore(self.db, self.geography, heartbeat_grace=settings.store.heartbeat_grace,
                                state_flush_s=STATE_FLUSH_S, start=clock(),
                                clock_tolerance_s=settings.store.clock_skew_tolerance_s)  # fmt: skip
        # WAL pages are copied back by a background thread, not by the committing writer
        self.checkpointer = Checkpointer(db_path)
        self.db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_BACKSTOP_PAGES}")
        self.feed = Feed(self.store.state_counts)
        self.meter = IngestMeter()
        self.faults: FaultService | None = (
            FaultService(lambda: open_db(db_path), settings=settings.notify_settings()) if faults else None
        )
        self.listeners: list[Listener] = [self.meter.on_applied, self.feed.on_applied]
        if self.faults is not None:
            self.listeners.append(self.faults.on_applied)
        self.ingest: Ingest | None = (
            Ingest(settings.ingest, open_db(db_path), self.store, listeners=self.listeners,
                   link_listeners=self._link_listeners(), broker_listeners=self._broker_listeners())
            if ingest else None
        )  # fmt: skip
        self._silence_check_s = silence_check_s
        self._prune_after = 0.0  # monotonic time before which pruning is not tried again
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_silence, name="silence-watch", daemon=True)
        self.app: FastAPI = create_app(
            settings, self.geography, store=self.store, feed=self.feed, ingest=self.ingest,
            fault_service=self.faults, meter=self.meter,
        )  # fmt: skip

    def _link_listeners(self) -> list[Callable[[str, bool], None]]:
        """The national primary (every province, the primary role) opens "province link down" faults."""
        ingest = self.settings.ingest
        if self.faults is None or not ingest.primary or ingest.province is not None:
            return []
        return [self.faults.on_link]

    def _broker_listeners(self) -> list[Callable[[str, bool], None]]:
        """The national primary also opens "broker down" faults for its configured brokers
        (ingest watches them only when it has fallback_urls: a pair of national brokers)."""
        return [self.faults.on_broker] if self.faults is not None and self._link_listeners() else []

    def start(self) -> None:
        """Start the fault service, the ingest and the silence watch."""
        self.checkpointer.start()
        if self.faults is not None:
            self.faults.start()
        if self.ingest is not None:
            self.ingest.start()
        self._watch.start()

    def stop(self) -> None:
        """Stop everything started, newest first."""
        self._stop.set()
        if self._watch.is_alive():
            self._watch.join(timeout=30)
        if self.ingest is not None:
            self.ingest.stop()
        if self.faults is not None:
            self.faults.stop()
        self.store.flush_state()
        self.checkpointer.stop()

    def check_silence(self, now: datetime | None = None) -> list[Transition]:
        """Expire silent sites now and tell the listeners; return the transitions."""
        transitions = self.store.expire_silent_sites(now or self.clock())
        if transitions:
            result = ApplyResult(transitions=transitions)
            for listener in self.listeners:
                try:
                    listener(result)
                except Exception:  # a listener's bug must not stop the watch
                    logger.exception("silence: listener %r failed", listener)
        return transitions

    def prune_history(self) -> None:
        """Keep ``retention.history_keep_days`` of camera detail: one day deleted per call (a tick of the watch).

        After a failure the next try waits PRUNE_RETRY_S: a carry step that keeps failing
        (a full disk) must not hold the writer's lock every tick."""
        keep = self.settings.retention.history_keep_days
        if not keep or time.monotonic() < self._prune_after:
            return
        try:
            report = self.store.prune_history(keep, max_days=1)
        except Exception:
            self._prune_after = time.monotonic() + PRUNE_RETRY_S
            raise
        if report.days_deleted:
            logger.info("retention: deleted a day of camera history (%d transitions, %d camera days)",
                        report.transitions_deleted, report.camera_days_deleted)  # fmt: skip

    def _watch_silence(self) -> None:
        while not self._stop.wait(self._silence_check_s):
            try:
                self.check_silence()
            except Exception:  # the database may be busy; the next tick retries
                logger.exception("silence: check failed")
            try:
                self.prune_history()
            except Exception:  # same: the next tick retries
                logger.exception("retention: pruning failed")
