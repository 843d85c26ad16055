"""A camera's timeline insertion (open interval or backfill): the exact accounting of one change, in one place."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlite_utils import Database

from aggregator.days import DAY_MS, OFFSET_MS, day_of, from_ms
from aggregator.states import N_STATES, STATES
from aggregator.store import camera_log
from aggregator.store.flush import INSERT_TRANSITION, Flusher, PendingWrites
from aggregator.store.ledger import Ledger
from aggregator.store.memory import (
    NO_STATE,
    REASON_BY_VALUE,
    REASON_VALUES,
    REASONS,
    SiteRecord,
    StoreMemory,
)
from aggregator.store.records import ApplyResult, Transition

__all__ = ["Timeline"]

logger = logging.getLogger("aggregator.store.state")  # the store's logger, as before this code moved here


class Timeline:
    """Inserts changes into cameras' timelines: memory, the batch's pending writes and the ledger.

    :meth:`change` is the per-event path, kept whole so an event costs one call.
    """

    def __init__(
        self, db: Database, memory: StoreMemory, writes: PendingWrites, ledger: Ledger, flusher: Flusher
    ) -> None:
        self.db = db
        self.memory = memory
        self.writes = writes
        self.ledger = ledger
        self.flusher = flusher

    def change(
        self, cam: int, site: SiteRecord, t: int, state: int, reason: int, event_id: int | None,
        historical: bool, recv: int, result: ApplyResult, at: datetime | None = None,
    ) -> None:  # fmt: skip
        """Insert ``state`` at ``t`` (``at`` as a datetime when the caller has it) into the
        camera's timeline and account for it exactly.

        An event that repeats the state in force at ``t`` is still stored (with an id): it
        bounds the interval of any change backfilled before it later. ``tail`` is the time of
        the camera's last stored row, where its open interval starts; ``since`` is when the
        current state began (what operators see).
        """
        memory = self.memory
        cols = memory.cols
        ledger = self.ledger
        prov = site.province
        tail = cols.tail[cam]
        old = cols.state[cam]
        same = old == state and cols.reason[cam] == reason
        if t >= tail:
            if same and event_id is None:
                return
            ledger.forward(cam, site.id, prov, tail, t, old, state)
            if t <= ledger.checkpoint and old != state:
                ledger.midnights(site.id, prov, t, None, old, state)
            cols.tail[cam] = t
            if not same:
                if old != state:
                    counts = memory.counts.get(site.district)
                    if counts is None:
                        counts = memory.counts[site.district] = [0] * N_STATES
                    if old >= 0:
                        counts[old] -= 1
                    counts[state] += 1
                cols.state[cam] = state
                cols.reason[cam] = reason
                cols.since[cam] = t
            writes = self.writes
            if cam not in writes.new_cameras:
                writes.dirty.add(cam)
            writes.transitions.append((cam, site.id, t, old, state, REASON_VALUES[reason], event_id, int(historical),
                                       recv, (t + OFFSET_MS) // DAY_MS))  # day_of inlined  # fmt: skip
        else:
            self.flusher.flush_pending()
            db = self.db
            found = camera_log.last_at_or_before(db, cam, t)
            prev = (found[0], found[2], found[3]) if found else None
            after = camera_log.first_after(db, cam, t, tail)
            nxt = (after[4], after[0]) if after else None
            if nxt is None:  # cannot happen: the tail row is later than t
                logger.error("%s/%s: timeline has no row after %d; applying at %d",
                             site.site_id, cols.ids[cam], t, tail)  # fmt: skip
                self.change(cam, site, tail, state, reason, event_id, historical, recv, result)
                return
            old = int(prev[1]) if prev else NO_STATE
            same = prev is not None and old == state and REASON_BY_VALUE.get(prev[2]) == reason
            if same and event_id is None:
                return
            next_id, next_at = int(nxt[0]), int(nxt[1])
            if not same:
                if prev:
                    ledger.interval(cam, site.id, prov, int(prev[0]), next_at, old, -1)
                    ledger.interval(cam, site.id, prov, int(prev[0]), t, old, +1)
                ledger.interval(cam, site.id, prov, t, next_at, state, +1)
                ledger.midnights(site.id, prov, t, next_at, old, state)
                since = cols.since[cam]
                if t >= since and state != cols.state[cam]:
                    # the current state's run is broken at t: it now begins at the next row
                    cols.since[cam] = next_at
                elif t < since and state == cols.state[cam] and next_at == since:
                    cols.since[cam] = t  # the current state's run now begins earlier
                if cols.since[cam] != since and cam not in self.writes.new_cameras:
                    self.writes.dirty.add(cam)
            cur = db.execute(INSERT_TRANSITION, [cam, site.id, t, old, state, REASON_VALUES[reason], event_id,
                                                  int(historical), recv, day_of(t)])  # fmt: skip
            db.execute("UPDATE transitions SET old_state = ? WHERE id = ?", [state, next_id])
            memory.recent.append(int(cur.lastrowid or 0), site.id, t, old, state)
            memory.recent.set_old(next_id, next_at, state)
            if same:
                return
            now_state = cols.state[cam]
            result.transitions.append(
                Transition(
                    site.site_id, site.province, site.district, cols.ids[cam], STATES[old] if old >= 0 else None,
                    STATES[state], REASONS[reason], at if at is not None else from_ms(t), True,
                    from_ms(next_at), STATES[now_state] if now_state >= 0 else None,
                )
            )  # fmt: skip
            return
        if same:
            return
        result.transitions.append(
            Transition(
                site.site_id, site.province, site.district, cols.ids[cam], STATES[old] if old >= 0 else None,
                STATES[state], REASONS[reason], at if at is not None else from_ms(t), historical or t < tail,
            )
        )  # fmt: skip
