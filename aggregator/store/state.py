"""StateStore: the one writer of camera state, transitions and daily totals.

Current state lives in compact numpy columns indexed by the camera's row id (1M cameras
take ~25 MiB plus their id strings), persisted in ``cameras``; every change is appended
to ``transitions`` at its edge time; per-day totals are maintained incrementally by
:class:`~aggregator.store.ledger.Ledger`. :meth:`StateStore.apply` takes a batch of validated
inbound messages and commits them in ONE transaction.

Exactness: a change at time ``t`` is an insertion into the camera's timeline. When ``t``
is after the current state's start (the usual case) the open interval is split in memory;
when it is earlier (a backfilled outage, an out-of-order replay) the neighbouring
transitions are read and only the interval between them is recomputed, so past days'
totals stay exact.

If a batch fails the transaction rolls back and the in-memory state is reloaded from the
database, so memory never holds what the database does not.

The store is composed of parts, each handed what it works on (built again on every reload):

* :class:`~aggregator.store.memory.StoreMemory`: what the writer knows now (columns, sites,
  counts, the recent log), loaded by :func:`~aggregator.store.loader.load_memory`;
* :class:`~aggregator.store.messages.SiteMessages`: the rules of each site message;
* :class:`~aggregator.store.timeline.Timeline`: one change inserted into a camera's timeline;
* :class:`~aggregator.store.flush.Flusher`: the batch's :class:`~aggregator.store.flush.PendingWrites` written;
* :class:`~aggregator.store.live.LiveView`: reads of memory for the API, the feed and rollups.

This class holds the lock and the transaction around them, the midnight roll and retention.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlite_utils import Database

from aggregator.days import DAY_MS, day_of, day_start, day_to_date, from_ms, to_ms
from aggregator.geography import Geography
from aggregator.store import retention
from aggregator.store.clocks import DEFAULT_TOLERANCE_S, SiteClocks
from aggregator.store.flush import STATE_FLUSH_MAX, STATE_FLUSH_S, Flusher
from aggregator.store.ledger import Ledger
from aggregator.store.live import LiveView
from aggregator.store.loader import NO_FLOOR, load_memory
from aggregator.store.memory import CameraColumns, SiteRecord
from aggregator.store.messages import SiteMessages
from aggregator.store.midnight import roll_day
from aggregator.store.recent import RECENT_DAYS
from aggregator.store.recording import SiteRecordings
from aggregator.store.records import ApplyResult, Inbound, Transition
from aggregator.store.timeline import Timeline
from protocol import CameraState, Reason

__all__ = [
    "STATE_FLUSH_MAX",
    "STATE_FLUSH_S",
    "ApplyResult",
    "Inbound",
    "StateStore",
    "Transition",
]

logger = logging.getLogger(__name__)


class StateStore:
    """The one writer: ``apply`` batches of inbound messages, ``expire_silent_sites``.

    Example::

        store = StateStore(open_db("camwatch.db"), Geography.from_geothai())
        result = store.apply([Inbound(topic, birth, received_at)])
    """

    def __init__(
        self, db: Database, geography: Geography, *, heartbeat_grace: float = 2.5, start: datetime | None = None,
        state_flush_s: float = 0.0, clock_tolerance_s: float = DEFAULT_TOLERANCE_S,
    ) -> None:  # fmt: skip
        self.db = db
        self.clock_tolerance_s = clock_tolerance_s
        self.geography = geography
        self.heartbeat_grace = heartbeat_grace
        self._state_flush_s = state_flush_s
        self.lock = threading.Lock()  # one apply at a time even if two threads try
        # Checkpoint the WAL every ~80 MiB instead of SQLite's 4 MiB: hot pages (today's daily
        # totals, camera states) are copied back once per checkpoint, not once per few batches;
        # measured 40-50% more statuses/s in bench/aggregator_bench.py. The size limit trims it after.
        db.execute("PRAGMA wal_autocheckpoint = 20000")
        db.execute("PRAGMA journal_size_limit = 134217728")
        row = db.execute("SELECT value FROM store_meta WHERE key = 'checkpoint_ms'").fetchone()
        if row is None:
            checkpoint = day_start(day_of(to_ms(start or datetime.now(UTC))))
            with db.atomic():
                db.execute("INSERT INTO store_meta(key, value) VALUES ('checkpoint_ms', ?)", [checkpoint])
                # camera_state reflects transitions up to this id; later ones are replayed on start
                db.execute("INSERT INTO store_meta(key, value) VALUES ('state_through', 0)")
        self._load()

    def _load(self) -> None:
        """Build memory from the database and the parts around it (on start and after a failed batch)."""
        self.memory, self.writes = load_memory(self.db)
        self.ledger = Ledger(self.memory.checkpoint)
        self.flusher = Flusher(self.db, self.memory, self.writes, self.ledger, self._state_flush_s)
        self.timeline = Timeline(self.db, self.memory, self.writes, self.ledger, self.flusher)
        self.clocks = SiteClocks(self.db, self.clock_tolerance_s)
        self.recordings = SiteRecordings(self.db)
        self.messages = SiteMessages(self.db, self.geography, self.memory, self.writes, self.timeline, self.flusher,
                                     self.clocks, self.recordings)  # fmt: skip
        self.live = LiveView(self.memory, self.geography)

    # ----- what callers read ---------------------------------------------------------
    @property
    def state_flush_s(self) -> float:
        """How often camera_state is rewritten (0: every batch; see aggregator.store.flush)."""
        return self._state_flush_s

    @state_flush_s.setter
    def state_flush_s(self, value: float) -> None:
        self._state_flush_s = value
        self.flusher.state_flush_s = value

    @property
    def checkpoint(self) -> int:
        """The last Bangkok midnight rolled into the daily totals (ms)."""
        return self.memory.checkpoint

    @property
    def history_from_ms(self) -> int:
        """The first kept instant of camera detail (aggregator.store.retention)."""
        return self.memory.history_from_ms

    @property
    def sites(self) -> dict[int, SiteRecord]:
        """Sites by row id."""
        return self.memory.sites

    @property
    def site_by_name(self) -> dict[str, SiteRecord]:
        """Sites by site id."""
        return self.memory.site_by_name

    @property
    def cols(self) -> CameraColumns:
        """Every camera's current state by camera row id."""
        return self.memory.cols

    def state_counts(self) -> dict[str, list[int]]:
        """Cameras per state (list in STATES order) per district right now (no lock needed)."""
        return self.live.state_counts()

    def counts_now(self, level: str, key: str | None) -> list[int]:
        """Cameras per state now for one level (the caller holds ``lock`` for a consistent read)."""
        return self.live.counts_now(level, key)

    def open_ms(self, level: str, key: str | None, start_ms: int, end_ms: int) -> list[int]:
        """Milliseconds in each state over ``[start_ms, end_ms)`` of the cameras' open intervals."""
        return self.live.open_ms(level, key, start_ms, end_ms)

    def changes(self, level: str, key: str | None, lo: int, hi: int) -> list[tuple[int, int, int, int]] | None:
        """Transitions in ``[lo, hi)`` as ``(old, new, how_many, sum_of_at)``, or None before the recent log."""
        return self.live.changes(level, key, lo, hi)

    def current(self, site_id: str, camera_id: str) -> tuple[CameraState, Reason, datetime] | None:
        """The current (state, reason, since) of one camera, or None if unknown."""
        return self.live.current(site_id, camera_id)

    def site_last_seen_ms(self, site_id: str) -> int | None:
        """When the centre last heard from the site, as the writer knows it now (the database
        row follows with the next state flush), or None for a site it never heard from."""
        return self.live.site_last_seen_ms(site_id)

    # ----- writing -------------------------------------------------------------------
    def apply(self, items: Sequence[Inbound]) -> ApplyResult:
        """Apply ``items`` in order and commit them in one transaction."""
        result = ApplyResult()
        if not items:
            return result
        with self.lock:
            received = [to_ms(i.received_at) for i in items]
            try:
                with self.db.atomic():
                    self._roll(max(received))
                    apply_one = self.messages.apply
                    for item, recv in zip(items, received, strict=True):
                        apply_one(item, recv, result)
                    self.flusher.flush()
                    self.clocks.flush()
                    self.recordings.flush()
                result.messages = len(items)
                result.lag_s = (to_ms(datetime.now(UTC)) - min(received)) / 1000
            except BaseException:
                logger.exception("apply: batch of %d rolled back; reloading state", len(items))
                self._load()
                raise
        return result

    def expire_silent_sites(self, now: datetime) -> list[Transition]:
        """Make every camera of each site silent past its heartbeat deadline ``unknown``."""
        now_ms = to_ms(now)
        result = ApplyResult()
        with self.lock:
            try:
                with self.db.atomic():
                    self._roll(now_ms)
                    for site in list(self.memory.sites.values()):
                        deadline = site.last_seen_ms + int(self.heartbeat_grace * site.interval_s * 1000)
                        if site.online and deadline < now_ms:
                            logger.warning("%s: silent since %s; cameras now unknown", site.site_id, from_ms(site.last_seen_ms))
                            self.messages.site_offline(site, site.last_seen_ms + site.interval_s * 1000, result,
                                                       deadline_ms=deadline)
                    self.flusher.flush()
            except BaseException:
                self._load()
                raise
        return result.transitions

    def roll(self, now: datetime) -> None:
        """Close every Bangkok day that ended before ``now`` into the daily totals."""
        with self.lock, self.db.atomic():
            self._roll(to_ms(now))
            self.flusher.flush()

    def flush_state(self) -> None:
        """Write every camera's current state now (on shutdown; otherwise at most every STATE_FLUSH_S)."""
        with self.lock, self.db.atomic():
            self.flusher.flush(force=True)

    def _roll(self, now_ms: int) -> None:
        """Move the checkpoint to the last Bangkok midnight at or before ``now_ms``."""
        memory = self.memory
        while day_start(day_of(memory.checkpoint) + 1) <= now_ms:
            self.flusher.flush_pending()
            c1 = roll_day(self.db, memory.cols, memory.sites, self.ledger, memory.checkpoint)
            memory.checkpoint = c1
            memory.recent.prune(c1 - RECENT_DAYS * DAY_MS)
            self.ledger.checkpoint = c1
            self.writes.checkpoint = True

    # ----- retention -----------------------------------------------------------------
    def prune_history(self, keep_days: int, *, max_days: int | None = None) -> retention.PruneReport:
        """Delete camera detail older than ``keep_days`` (whole months; see aggregator.store.retention).

        The first kept day moves one month at a time, its carry rows and the new floor in one
        transaction (each move reads at most about a month of rows); old days are deleted one
        per transaction, the lock released between them so ingest keeps committing. With
        ``max_days`` None every move and deletion is done now; otherwise one move and at most
        ``max_days`` deletions, the rest by the next calls.
        """
        target = retention.floor_day(self.memory.checkpoint, keep_days)
        carried = days = transitions = camera_days = 0
        while True:
            moved = self._move_floor(target)
            carried += moved or 0
            while max_days is None or days < max_days:
                with self.lock, self.db.atomic():
                    gone = retention.delete_oldest_day(self.db, day_of(self.memory.history_from_ms))
                if gone is None:
                    break
                days += 1
                transitions += gone[1]
                camera_days += gone[2]
            if moved is None or max_days is not None:
                break
        return retention.PruneReport(self._floor_day(), carried, days, transitions, camera_days)

    def _floor_day(self) -> int | None:
        """The first kept day of camera history, None while everything is kept."""
        return None if self.memory.history_from_ms == NO_FLOOR else day_of(self.memory.history_from_ms)

    def _move_floor(self, target: int) -> int | None:
        """Move the first kept day one month towards ``target``; the carry rows written, or
        None when it is there already."""
        with self.lock:
            current = self._floor_day()
            floor = retention.next_floor(self.db, current, target)
            if current is not None and floor <= current:
                return None
            try:
                with self.db.atomic():
                    self.flusher.flush(force=True)  # camera_state equals memory before the bulk tail update
                    carried = retention.carry_forward(self.db, self.memory.cols, floor, current,
                                                      made_ms=to_ms(datetime.now(UTC)))  # fmt: skip
                    retention.set_history_floor(self.db, floor)
            except BaseException:
                self._load()
                raise
            self.memory.history_from_ms = day_start(floor)
            logger.info("retention: camera history now kept from %s (%d carry rows)",
                        day_to_date(floor).isoformat(), carried)  # fmt: skip
            return carried
