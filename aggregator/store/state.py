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
totals stay exact. Events are de-duplicated by (site, event id): ids above the site's
high-water mark are new; lower ids are looked up in ``transitions``. The mark never goes
down (whatever births say), and a birth older than the site's last applied one of the same
session is ignored, so redeliveries after a broker restart are never stored twice.

If a batch fails the transaction rolls back and the in-memory state is reloaded from the
database, so memory never holds what the database does not.

The timeline insertion (``_change``) is in :mod:`aggregator.store.timeline` and the database
writes in :mod:`aggregator.store.flush`; both are mixed into :class:`StateStore`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlite_utils import Database

from aggregator.days import DAY_MS, day_of, day_start, day_to_date, from_ms, to_ms
from aggregator.geography import Geography, UnknownArea
from aggregator.store import camera_log, registry, retention
from aggregator.store.compacted import interval_pieces, is_compacted, until_ms
from aggregator.store.flush import STATE_FLUSH_MAX, STATE_FLUSH_S
from aggregator.store.ledger import N_STATES, Ledger
from aggregator.store.memory import (
    NO_STATE,
    REASON_BY_VALUE,
    REASON_CODE,
    RECENT_DAYS,
    STATE_CODE,
    STATES,
    CameraColumns,
    LiveView,
    RecentLog,
    SiteRecord,
)
from aggregator.store.midnight import roll_day
from aggregator.store.records import ApplyResult, Inbound, Transition
from aggregator.store.timeline import Timeline
from protocol import (
    Birth,
    CameraInventory,
    CameraState,
    Death,
    Events,
    Heartbeat,
    Reason,
    SiteTopic,
)
from protocol.sequence import death_matches

__all__ = [
    "NO_STATE",
    "STATES",
    "STATE_FLUSH_MAX",
    "STATE_FLUSH_S",
    "STATE_CODE",
    "ApplyResult",
    "Inbound",
    "StateStore",
    "Transition",
]

logger = logging.getLogger(__name__)

_UNKNOWN = STATE_CODE[CameraState.UNKNOWN]
_OFFLINE = REASON_CODE[Reason.SITE_OFFLINE]
_MISSING = REASON_CODE[Reason.MISSING]
_NONE_REASON = REASON_CODE[Reason.NONE]
# Reason of an interval piece whose state is not the compacted event's own (its cause is lost).
_PIECE_REASON = {CameraState.MAINTENANCE: Reason.PLANNED}
_DEFAULT_HEARTBEAT_S = 60
_NO_FLOOR = -(2**62)  # history_from_ms while every day of camera detail is kept


class StateStore(Timeline, LiveView):
    """The one writer: ``apply`` batches of inbound messages, ``expire_silent_sites``.

    Example::

        store = StateStore(open_db("camwatch.db"), Geography.from_geothai())
        result = store.apply([Inbound(topic, birth, received_at)])
    """

    def __init__(
        self, db: Database, geography: Geography, *, heartbeat_grace: float = 2.5, start: datetime | None = None,
        state_flush_s: float = 0.0,
    ) -> None:  # fmt: skip
        self.db = db
        self.geography = geography
        self.heartbeat_grace = heartbeat_grace
        self.state_flush_s = state_flush_s
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

    # ----- loading -------------------------------------------------------------------
    def _load(self) -> None:
        db = self.db
        self.checkpoint = int(db.execute("SELECT value FROM store_meta WHERE key='checkpoint_ms'").fetchone()[0])
        self.sites: dict[int, SiteRecord] = {}
        self.site_by_name: dict[str, SiteRecord] = {}
        for srow in registry.iter_sites(db):
            site = SiteRecord(srow)
            self.sites[site.id] = site
            self.site_by_name[site.site_id] = site
        count = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM camera_inventory").fetchone()[0])
        cols = CameraColumns(count + 2)
        cols.ids = [""] * (count + 1)
        cols.n = count + 1
        cur = db.execute(
            "SELECT id, site, camera_id, state, reason, since_ms, missing, tail_ms, "
            + ", ".join(registry.INVENTORY_COLUMNS) + " FROM cameras ORDER BY id"
        )
        for r in cur:
            cam = r[0]
            cols.state[cam] = r[3]
            cols.reason[cam] = REASON_BY_VALUE.get(r[4], 0)
            cols.since[cam] = r[5]
            cols.site[cam] = r[1]
            cols.missing[cam] = r[6]
            cols.tail[cam] = r[7]
            cols.inv_hash[cam] = hash(tuple(r[8:]))
            cols.ids[cam] = r[2]
            self.sites[r[1]].cameras[r[2]] = cam
        self.cols = cols
        self._dirty: set[int] = set()
        self._dirty_sites: set[int] = set()  # site rows to write with this batch
        self._seen_sites: set[int] = set()  # only last seen / event mark moved: written with the states
        self._replay_states()
        self._state_flushed = time.monotonic()
        self._counts: dict[str, list[int]] = {}
        for site in self.sites.values():
            counts = self._counts.setdefault(site.district, [0] * N_STATES)
            for cam in site.cameras.values():
                if cols.state[cam] >= 0:
                    counts[cols.state[cam]] += 1
        self._new_cameras: dict[int, int] = {}  # camera -> first_seen_ms
        self._inventory: dict[int, tuple[object, ...]] = {}
        self._missing_rows: list[tuple[int, int, int]] = []
        self._pending: list[tuple[object, ...]] = []
        self._ledger = Ledger(self.checkpoint)
        self.recent = RecentLog(self.checkpoint - RECENT_DAYS * DAY_MS)
        for row in db.execute(
            "SELECT id, site, at_ms, old_state, new_state FROM transitions WHERE at_ms >= ? ORDER BY id",
            [self.recent.horizon],
        ):
            self.recent.append(*row)
        self._checkpoint_dirty = False
        # ts of the last birth applied per site (store_meta 'birth_ms:<site row id>'), so a
        # redelivered old birth is recognised even after a restart.
        self._birth_ms: dict[int, int] = {
            int(key[9:]): int(value)
            for key, value in db.execute("SELECT key, value FROM store_meta WHERE key LIKE 'birth_ms:%'")
        }
        self._births_dirty: set[int] = set()
        floor = retention.history_floor(db)
        self.history_from_ms = _NO_FLOOR if floor is None else day_start(floor)

    # ----- public ----------------------------------------------------------------------
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
                    apply_one = self._apply_one
                    for item, recv in zip(items, received, strict=True):
                        apply_one(item, recv, result)
                    self._flush()
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
                    for site in list(self.sites.values()):
                        deadline = site.last_seen_ms + int(self.heartbeat_grace * site.interval_s * 1000)
                        if site.online and deadline < now_ms:
                            logger.warning("%s: silent since %s; cameras now unknown", site.site_id, from_ms(site.last_seen_ms))
                            self._site_offline(site, site.last_seen_ms + site.interval_s * 1000, result)
                    self._flush()
            except BaseException:
                self._load()
                raise
        return result.transitions

    def roll(self, now: datetime) -> None:
        """Close every Bangkok day that ended before ``now`` into the daily totals."""
        with self.lock, self.db.atomic():
            self._roll(to_ms(now))
            self._flush()

    # ----- per message -----------------------------------------------------------------
    def _apply_one(self, item: Inbound, recv: int, result: ApplyResult) -> None:
        msg = item.message
        site = self._site_for(item.topic, recv, result)
        if site is None:
            return
        if isinstance(msg, Events):
            result.statuses += len(msg.events)
            self._events(site, msg, recv, result)
        elif isinstance(msg, Birth):
            result.statuses += len(msg.cameras)
            self._birth(site, msg, recv, result)
        elif isinstance(msg, Death):
            if death_matches(site.bd_seq, msg.bd_seq) and site.online:
                site.last_seen_ms = recv
                # The will's own ts was written when the agent connected; the broker
                # publishes it when the connection dies, which is when we receive it.
                self._site_offline(site, recv, result)
            else:
                logger.info("%s: stale death bd_seq=%s ignored (session %s)", site.site_id, msg.bd_seq, site.bd_seq)
        elif isinstance(msg, Heartbeat):
            self._heartbeat(site, msg, recv, result)
        else:
            result.rejected.append((site.site_id, f"{type(msg).__name__} is not a message the store applies"))

    def _site_for(self, topic: SiteTopic, recv: int, result: ApplyResult) -> SiteRecord | None:
        site = self.site_by_name.get(topic.site)
        if site is None:
            row = registry.get_site(self.db, topic.site)
            if row is None:
                try:
                    self.geography.district(topic.district, topic.province)
                except UnknownArea as err:
                    result.rejected.append((topic.site, str(err)))
                    return None
                registry.insert_site(self.db, topic.site, topic.province, topic.district, now_ms=recv)
                row = registry.get_site(self.db, topic.site)
                assert row is not None
            site = SiteRecord(row)
            self.sites[site.id] = site
            self.site_by_name[site.site_id] = site
        if site.district != topic.district or site.province != topic.province:
            result.rejected.append(
                (site.site_id, f"topic names {topic.province}/{topic.district}, site is in {site.province}/{site.district}")
            )
            return None
        return site

    def _birth(self, site: SiteRecord, birth: Birth, recv: int, result: ApplyResult) -> None:
        ts = to_ms(birth.ts)
        last = self._birth_ms.get(site.id)
        if last is not None and birth.bd_seq == site.bd_seq and ts <= last:
            # The same session's birth again, or an older one (QoS 1 redelivery after a broker
            # or aggregator restart): its snapshot is older than what is stored, so applying it
            # would rewind the cameras. A rebirth the centre asked for carries a newer ts.
            logger.info("%s: stale birth (bd_seq %s, ts %s) ignored", site.site_id, birth.bd_seq, birth.ts)
            result.duplicates += 1
            return
        self._birth_ms[site.id] = ts
        self._births_dirty.add(site.id)
        info = birth.site_info
        site.name, site.agency, site.lat, site.lon = info.name, info.agency, info.lat, info.lon
        site.agent_version = birth.agent_version
        site.bd_seq = birth.bd_seq
        site.last_seen_ms = recv
        if birth.last_event_id < site.last_event_id:
            # Either the agent's outbox was reset or this is an old birth delivered again. The
            # high-water mark is NOT lowered: ids at or below it are looked up exactly in
            # ``transitions`` (camera, time, id), so a redelivered event is never stored twice
            # and a reset agent's new events (other times) are still applied.
            logger.info("%s: birth names event id %d below the committed %d (reset outbox or redelivery)",
                        site.site_id, birth.last_event_id, site.last_event_id)  # fmt: skip
        if not site.online:
            site.online = True
            result.transitions.append(self._site_transition(site, CameraState.UNKNOWN, CameraState.UP, Reason.NONE, recv))
        self._dirty_sites.add(site.id)
        cols = self.cols
        seen: set[int] = set()
        for bc in birth.cameras:
            cam = site.cameras.get(bc.camera_id)
            values = registry.inventory_values(bc.name, bc.inventory)
            digest = hash(values)
            if cam is None:
                cam = self._new_camera(site, bc.camera_id, recv)
                self._inventory[cam] = values
            elif cols.inv_hash[cam] != digest:
                self._inventory[cam] = values
            cols.inv_hash[cam] = digest
            if cols.missing[cam]:
                cols.missing[cam] = 0
                self._missing_rows.append((0, recv, cam))
            seen.add(cam)
            # never before the kept camera history (aggregator.store.retention): a new camera "up
            # since" longer ago starts at its first kept day
            at = max(to_ms(bc.since), cols.tail[cam], self.history_from_ms)
            self._change(cam, site, at, STATE_CODE[bc.state], REASON_CODE[bc.reason], None, False, recv, result)
        for cam in site.cameras.values():
            if cam not in seen and not cols.missing[cam]:
                cols.missing[cam] = 1
                self._missing_rows.append((1, recv, cam))
                self._change(cam, site, max(recv, cols.tail[cam]), _UNKNOWN, _MISSING, None, False, recv, result)

    def _events(self, site: SiteRecord, msg: Events, recv: int, result: ApplyResult) -> None:
        cols = self.cols
        site.last_seen_ms = recv
        self._seen_sites.add(site.id)
        cameras = site.cameras
        change = self._change
        floor = self.history_from_ms
        too_old = 0
        for ev in msg.events:
            at = to_ms(ev.at)
            if at < floor:  # before the kept camera history (aggregator.store.retention): not stored
                too_old += 1
                site.last_event_id = max(site.last_event_id, ev.id)
                continue
            cam = cameras.get(ev.camera_id)
            merged = bool(ev.details) and is_compacted(ev.details)
            if ev.id <= site.last_event_id and cam is not None:
                self._flush_pending()
                if merged:  # an interval ending with an event already stored is already here
                    hit = camera_log.stored_between(self.db, cam, ev.id, at, max(at, until_ms(ev.details) or at))
                else:
                    hit = camera_log.exists_at(self.db, cam, at, ev.id)
                if hit:
                    result.duplicates += 1
                    continue
            if cam is None:
                cam = self._new_camera(site, ev.camera_id, recv)
                self._inventory[cam] = registry.inventory_values("", _EMPTY_INVENTORY)
            if cols.missing[cam]:
                cols.missing[cam] = 0
                self._missing_rows.append((0, recv, cam))
            if merged:  # the agent merged history into an interval: apply each state's seconds
                for piece_at, state in interval_pieces(at, ev.state, ev.details):
                    reason = ev.reason if state == ev.state else _PIECE_REASON.get(state, Reason.NONE)
                    change(cam, site, piece_at, STATE_CODE[state], REASON_CODE[reason], ev.id, ev.historical,
                           recv, result)  # fmt: skip
            else:
                change(cam, site, at, STATE_CODE[ev.state], REASON_CODE[ev.reason], ev.id, ev.historical, recv,
                       result, ev.at)  # fmt: skip
            if ev.id > site.last_event_id:
                site.last_event_id = ev.id
        result.committed_event_ids[site.site_id] = site.last_event_id
        if too_old:
            since = day_to_date(day_of(floor)).isoformat()
            result.rejected.append((site.site_id, f"{too_old} event(s) older than the kept camera history "
                                                  f"(from {since}) not stored"))  # fmt: skip

    def _heartbeat(self, site: SiteRecord, msg: Heartbeat, recv: int, result: ApplyResult) -> None:
        site.last_seen_ms = recv
        if site.interval_s != msg.interval_s:
            site.interval_s = msg.interval_s
            self._dirty_sites.add(site.id)
        else:
            self._seen_sites.add(site.id)
        if site.online or site.bd_seq is None:
            return
        self._dirty_sites.add(site.id)
        # A silent site speaks again without a new session: its cameras are known again.
        site.online = True
        result.transitions.append(self._site_transition(site, CameraState.UNKNOWN, CameraState.UP, Reason.NONE, recv))
        cols = self.cols
        for camera_id, state in msg.cameras.items():
            cam = site.cameras.get(camera_id)
            if cam is not None and cols.reason[cam] == _OFFLINE:
                self._change(cam, site, max(recv, cols.tail[cam]), STATE_CODE[state], _NONE_REASON,
                             None, False, recv, result)  # fmt: skip

    def _site_offline(self, site: SiteRecord, at: int, result: ApplyResult) -> None:
        site.online = False
        self._dirty_sites.add(site.id)
        result.transitions.append(self._site_transition(site, CameraState.UP, CameraState.UNKNOWN, Reason.SITE_OFFLINE, at))
        cols = self.cols
        for cam in site.cameras.values():
            if not cols.missing[cam] and cols.state[cam] >= 0:
                self._change(cam, site, max(at, cols.tail[cam]), _UNKNOWN, _OFFLINE, None, False, at, result)

    def _site_transition(self, site: SiteRecord, old: CameraState, new: CameraState, reason: Reason, at: int) -> Transition:
        return Transition(site.site_id, site.province, site.district, None, old, new, reason, from_ms(at), False)

    def _new_camera(self, site: SiteRecord, camera_id: str, recv: int) -> int:
        cols = self.cols
        cam = cols.n
        if cam >= len(cols.state):
            cols.grow()
        cols.n += 1
        cols.ids.append(camera_id)
        cols.site[cam] = site.id
        site.cameras[camera_id] = cam
        self._new_cameras[cam] = recv
        return cam

    # ----- retention -----------------------------------------------------------------------
    def prune_history(self, keep_days: int, *, max_days: int | None = None) -> retention.PruneReport:
        """Delete camera detail older than ``keep_days`` (whole months; see aggregator.store.retention).

        The first kept day moves one month at a time, its carry rows and the new floor in one
        transaction (each move reads at most about a month of rows); old days are deleted one
        per transaction, the lock released between them so ingest keeps committing. With
        ``max_days`` None every move and deletion is done now; otherwise one move and at most
        ``max_days`` deletions, the rest by the next calls.
        """
        target = retention.floor_day(self.checkpoint, keep_days)
        carried = days = transitions = camera_days = 0
        while True:
            moved = self._move_floor(target)
            carried += moved or 0
            while max_days is None or days < max_days:
                with self.lock, self.db.atomic():
                    gone = retention.delete_oldest_day(self.db, day_of(self.history_from_ms))
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
        return None if self.history_from_ms == _NO_FLOOR else day_of(self.history_from_ms)

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
                    self._flush(force=True)  # camera_state equals memory before the bulk tail update
                    carried = retention.carry_forward(self.db, self.cols, floor, current,
                                                      made_ms=to_ms(datetime.now(UTC)))  # fmt: skip
                    retention.set_history_floor(self.db, floor)
            except BaseException:
                self._load()
                raise
            self.history_from_ms = day_start(floor)
            logger.info("retention: camera history now kept from %s (%d carry rows)",
                        day_to_date(floor).isoformat(), carried)  # fmt: skip
            return carried

    # ----- midnight roll -----------------------------------------------------------------
    def _roll(self, now_ms: int) -> None:
        """Move the checkpoint to the last Bangkok midnight at or before ``now_ms``."""
        while day_start(day_of(self.checkpoint) + 1) <= now_ms:
            self._flush_pending()
            c1 = roll_day(self.db, self.cols, self.sites, self._ledger, self.checkpoint)
            self.checkpoint = c1
            self.recent.prune(c1 - RECENT_DAYS * DAY_MS)
            self._ledger.checkpoint = c1
            self._checkpoint_dirty = True


_EMPTY_INVENTORY = CameraInventory()
