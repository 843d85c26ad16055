"""The StateStore's database writes and their replay on start, apart from the in-memory rules they persist."""

from __future__ import annotations

import threading
import time

from sqlite_utils import Database

from aggregator.store import camera_log, registry
from aggregator.store.ledger import Ledger
from aggregator.store.memory import (
    REASON_BY_VALUE,
    REASON_VALUES,
    STATE_CODE,
    CameraColumns,
    RecentLog,
    SiteRecord,
)
from protocol import CameraState

__all__ = ["INSERT_TRANSITION", "STATE_FLUSH_MAX", "STATE_FLUSH_S", "StateFlush"]

_UNKNOWN = STATE_CODE[CameraState.UNKNOWN]
# The service rewrites camera_state at most this often (or when this many cameras changed): at
# a million cameras each change dirties a random 4 KiB page, so writing it every batch costs
# more than everything else; transitions (the truth) are written every batch and replayed on
# start. The StateStore default (0) writes it every batch, for tools and tests that read it at once.
STATE_FLUSH_S = 1.0
STATE_FLUSH_MAX = 200_000

INSERT_TRANSITION = (
    "INSERT INTO transitions(camera, site, at_ms, old_state, new_state, reason, event_id, historical, received_ms, day) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class StateFlush:
    """The StateStore's writing to the database (mixed into it; it owns the attributes)."""

    db: Database
    cols: CameraColumns
    sites: dict[int, SiteRecord]
    lock: threading.Lock
    recent: RecentLog
    checkpoint: int
    state_flush_s: float
    _ledger: Ledger
    _dirty: set[int]
    _state_flushed: float
    _new_cameras: dict[int, int]
    _dirty_sites: set[int]
    _seen_sites: set[int]
    _inventory: dict[int, tuple[object, ...]]
    _missing_rows: list[tuple[int, int, int]]
    _pending: list[tuple[object, ...]]
    _checkpoint_dirty: bool
    _birth_ms: dict[int, int]
    _births_dirty: set[int]

    def _replay_states(self) -> None:
        """Bring states read from ``camera_state`` and each site's event high-water mark up to date
        with the transitions committed after their last write (they are written at most every
        STATE_FLUSH_S; transitions every batch). Replaying a transition already reflected changes
        nothing, so ``state_through`` may lag."""
        db, cols = self.db, self.cols
        row = db.execute("SELECT value FROM store_meta WHERE key = 'state_through'").fetchone()
        if row is None:
            return  # a database from before lazy state writes: camera_state is current
        rows = db.execute(
            "SELECT id, camera, at_ms, new_state, reason, site, event_id FROM transitions WHERE id > ? ORDER BY id",
            [int(row[0])],
        ).fetchall()
        last: dict[int, int] = {}  # the time of each camera's last stored row (bounds the walks below)
        for _, cam, at, _, _, site_row, event_id in rows:
            last[cam] = max(at, last.get(cam, int(cols.tail[cam])))
            site = self.sites.get(site_row)
            if site is not None and event_id is not None and event_id > site.last_event_id:
                site.last_event_id = event_id  # written with the state, at most every STATE_FLUSH_S
                self._dirty_sites.add(site.id)
        for _, cam, at, new, reason_text, _, _ in rows:
            reason = REASON_BY_VALUE.get(reason_text, 0)
            if at >= cols.tail[cam]:
                if (cols.state[cam], cols.reason[cam]) != (new, reason):
                    cols.state[cam], cols.reason[cam], cols.since[cam] = new, reason, at
                cols.tail[cam] = at
            elif (at >= cols.since[cam]) == (new != cols.state[cam]):  # a backfill that moves the run's start
                nxt = camera_log.first_after(db, cam, at, last[cam])
                next_at = nxt[0] if nxt else at
                if new != cols.state[cam]:
                    cols.since[cam] = next_at
                elif next_at == cols.since[cam]:
                    cols.since[cam] = at
            self._dirty.add(cam)

    def flush_state(self) -> None:
        """Write every camera's current state now (on shutdown; otherwise at most every STATE_FLUSH_S)."""
        with self.lock, self.db.atomic():
            self._flush(force=True)

    def _flush_pending(self) -> None:
        if self._pending:
            self.db.conn.executemany(INSERT_TRANSITION, self._pending)
            # rowids of one executemany are consecutive, ending at the last one inserted
            last = int(self.db.conn.execute("SELECT last_insert_rowid()").fetchone()[0])
            first = last - len(self._pending) + 1
            self.recent.extend(first, self._pending, day_column=9)
            self._pending.clear()

    def _flush(self, force: bool = False) -> None:
        db = self.db
        cols = self.cols
        self._flush_pending()
        if self._new_cameras:
            rows = []
            for cam, first in self._new_cameras.items():
                site = self.sites[cols.site[cam]]
                known = cols.state[cam] >= 0
                rows.append((cam, site.id, cols.ids[cam], site.agency, first, first,
                             cols.state[cam] if known else _UNKNOWN, REASON_VALUES[cols.reason[cam]],
                             cols.since[cam] if known else first, cols.tail[cam] if known else first,
                             *self._inventory.pop(cam)))  # fmt: skip
            registry.insert_cameras(db, rows)
            self._new_cameras.clear()
        if self._dirty_sites:
            registry.update_site(db, [self.sites[s].row() for s in self._dirty_sites])
            self._seen_sites -= self._dirty_sites
            self._dirty_sites.clear()
        if (self._dirty or self._seen_sites) and (force or len(self._dirty) >= STATE_FLUSH_MAX
                                                  or time.monotonic() - self._state_flushed >= self.state_flush_s):  # fmt: skip
            db.conn.executemany(
                "UPDATE camera_state SET state = ?, reason = ?, since_ms = ?, tail_ms = ? WHERE camera = ?",
                [(cols.state[c], REASON_VALUES[cols.reason[c]], cols.since[c], cols.tail[c], c)
                 for c in sorted(self._dirty)],  # fmt: skip
            )
            registry.update_site(db, [self.sites[s].row() for s in sorted(self._seen_sites)])
            self._seen_sites.clear()
            through = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM transitions").fetchone()[0])
            db.execute("INSERT INTO store_meta(key, value) VALUES ('state_through', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [through])  # fmt: skip
            self._dirty.clear()
            self._state_flushed = time.monotonic()
        if self._inventory:
            registry.update_inventory(db, [(*v, c) for c, v in self._inventory.items()])
            self._inventory.clear()
        if self._missing_rows:
            registry.set_missing(db, self._missing_rows)
            self._missing_rows.clear()
        if self._births_dirty:
            db.conn.executemany(
                "INSERT INTO store_meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(f"birth_ms:{s}", self._birth_ms[s]) for s in sorted(self._births_dirty)],
            )
            self._births_dirty.clear()
        self._ledger.flush(db)
        if self._checkpoint_dirty:
            db.execute("UPDATE store_meta SET value = ? WHERE key = 'checkpoint_ms'", [self.checkpoint])
            self._checkpoint_dirty = False
