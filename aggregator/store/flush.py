"""The writer's database writes: what one batch changed, kept in :class:`PendingWrites`, written by :class:`Flusher`."""

from __future__ import annotations

import time

from sqlite_utils import Database

from aggregator.states import UNKNOWN
from aggregator.store import changes, registry
from aggregator.store.ledger import Ledger
from aggregator.store.memory import REASON_VALUES, StoreMemory

__all__ = ["INSERT_TRANSITION", "STATE_FLUSH_MAX", "STATE_FLUSH_S", "Flusher", "PendingWrites"]

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


class PendingWrites:
    """What the batch changed in memory and the database does not hold yet.

    The containers are cleared in place, never replaced, so the parts that fill them may keep
    a reference for the length of a loop.
    """

    __slots__ = ("births", "checkpoint", "dirty", "dirty_sites", "inventory", "inventory_at", "missing_rows",
                 "new_cameras", "reboots", "seen_sites", "transitions")  # fmt: skip

    def __init__(self) -> None:
        self.transitions: list[tuple[object, ...]] = []  # INSERT_TRANSITION rows of forward changes
        self.dirty: set[int] = set()  # cameras whose camera_state row is stale
        self.new_cameras: dict[int, int] = {}  # camera -> first_seen_ms
        self.dirty_sites: set[int] = set()  # site rows to write with this batch
        self.seen_sites: set[int] = set()  # only last seen / event mark moved: written with the states
        self.inventory: dict[int, tuple[object, ...]] = {}  # camera -> registry.inventory_values
        self.inventory_at: dict[int, int] = {}  # camera -> receipt ms of the birth that changed it
        self.reboots: dict[int, int] = {}  # camera -> ms of a reboot its agent reported
        self.missing_rows: list[tuple[int, int, int]] = []  # (missing, at, camera)
        self.births: set[int] = set()  # sites whose memory.birth_ms moved
        self.checkpoint = False  # memory.checkpoint moved


class Flusher:
    """Writes a batch's :class:`PendingWrites` (inside the caller's transaction).

    ``camera_state`` is rewritten at most every ``state_flush_s`` (or when STATE_FLUSH_MAX
    cameras changed, or when forced); everything else every batch.
    """

    def __init__(
        self, db: Database, memory: StoreMemory, writes: PendingWrites, ledger: Ledger, state_flush_s: float
    ) -> None:
        self.db = db
        self.memory = memory
        self.writes = writes
        self.ledger = ledger
        self.state_flush_s = state_flush_s
        self._state_flushed = time.monotonic()

    def flush_pending(self) -> None:
        """Insert the batch's transitions so far (before a read of the camera's log)."""
        pending = self.writes.transitions
        if pending:
            conn = self.db.conn
            conn.executemany(INSERT_TRANSITION, pending)
            # rowids of one executemany are consecutive, ending at the last one inserted
            last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
            self.memory.recent.extend(last - len(pending) + 1, pending, day_column=9)
            pending.clear()

    def flush(self, force: bool = False) -> None:
        """Write everything pending; camera states too when due or ``force``."""
        db, memory, writes = self.db, self.memory, self.writes
        cols, sites = memory.cols, memory.sites
        self.flush_pending()
        if writes.new_cameras:
            rows = []
            for cam, first in writes.new_cameras.items():
                site = sites[cols.site[cam]]
                known = cols.state[cam] >= 0
                rows.append((cam, site.id, cols.ids[cam], site.agency, first, first,
                             cols.state[cam] if known else UNKNOWN, REASON_VALUES[cols.reason[cam]],
                             cols.since[cam] if known else first, cols.tail[cam] if known else first,
                             *writes.inventory.pop(cam)))  # fmt: skip
            registry.insert_cameras(db, rows)
            writes.new_cameras.clear()
        if writes.dirty_sites:
            registry.update_site(db, [sites[s].row() for s in writes.dirty_sites])
            writes.seen_sites -= writes.dirty_sites
            writes.dirty_sites.clear()
        if (writes.dirty or writes.seen_sites) and (force or len(writes.dirty) >= STATE_FLUSH_MAX
                                                    or time.monotonic() - self._state_flushed >= self.state_flush_s):  # fmt: skip
            db.conn.executemany(
                "UPDATE camera_state SET state = ?, reason = ?, since_ms = ?, tail_ms = ? WHERE camera = ?",
                [(cols.state[c], REASON_VALUES[cols.reason[c]], cols.since[c], cols.tail[c], c)
                 for c in sorted(writes.dirty)],  # fmt: skip
            )
            registry.update_site(db, [sites[s].row() for s in sorted(writes.seen_sites)])
            writes.seen_sites.clear()
            through = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM transitions").fetchone()[0])
            db.execute("INSERT INTO store_meta(key, value) VALUES ('state_through', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [through])  # fmt: skip
            writes.dirty.clear()
            self._state_flushed = time.monotonic()
        if writes.inventory:
            changes.record_changes(db, writes.inventory, writes.inventory_at)
            registry.update_inventory(db, [(*v, c) for c, v in writes.inventory.items()])
            writes.inventory.clear()
            writes.inventory_at.clear()
        if writes.reboots:
            changes.record_reboots(db, writes.reboots)
            writes.reboots.clear()
        if writes.missing_rows:
            registry.set_missing(db, writes.missing_rows)
            writes.missing_rows.clear()
        if writes.births:
            db.conn.executemany(
                "INSERT INTO store_meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(f"birth_ms:{s}", memory.birth_ms[s]) for s in sorted(writes.births)],
            )
            writes.births.clear()
        self.ledger.flush(db)
        if writes.checkpoint:
            db.execute("UPDATE store_meta SET value = ? WHERE key = 'checkpoint_ms'", [memory.checkpoint])
            writes.checkpoint = False
