"""Time at the centre is the centre's: each site's clock offset, and where its events are placed.

Every message a site sends carries ``ts``, when the agent built it; agents publish only while
the centre is online, so ``ts - received`` is the site's clock offset (plus a transport delay
of milliseconds). It is measured on every birth, events and heartbeat message; a heartbeat
may also report the agent's own known error (``clock_offset_s``). Beyond the tolerance
(``store.clock_skew_tolerance_s``) the site is flagged ``clock_skew``.

Placement (nothing is ever stored later than the centre's now):

* a live event from a skewed site is placed at its receive time; its edge time is kept
  beside it in ``clock_placements``;
* any other event is placed at its edge time, but never after its receive time;
* a historical (replayed) event keeps its edge time, clamped to the receive time.

So no row is ever dated ahead of the centre: the current state of a camera is its newest
received live state, never one a fast clock dated into the future.

A redelivered event that was moved is recognised by its edge time in ``clock_placements``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlite_utils import Database

from aggregator.days import from_ms

__all__ = ["CLOCK_SKEW_HINT", "DEFAULT_TOLERANCE_S", "SiteClock", "SiteClocks", "migrate_clocks"]

logger = logging.getLogger("aggregator.store.state")

DEFAULT_TOLERANCE_S = 120.0
# What a technician does about a flagged site (the sites API, the dashboard, the hygiene report).
CLOCK_SKEW_HINT = (
    "The site gateway's clock is wrong: turn on time synchronisation (NTP) on the gateway, e.g. "
    "`timedatectl set-ntp true`, and check its time zone; until then the centre places its live "
    "events at the time it receives them."
)
# An offset is written again when it moved by this much (or the flag changed): a heartbeat a
# minute per site must not rewrite every site row for transport jitter.
_WRITE_STEP_MS = 1000


def migrate_clocks(db: Database) -> None:
    """Sites' measured clock offsets and the edge times of events placed elsewhere."""
    db.executescript("""
        ALTER TABLE sites ADD COLUMN clock_offset_ms INTEGER;
        ALTER TABLE sites ADD COLUMN clock_reported_ms INTEGER;
        ALTER TABLE sites ADD COLUMN clock_checked_ms INTEGER;
        ALTER TABLE sites ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE IF NOT EXISTS clock_placements (
            camera INTEGER NOT NULL,
            event_id INTEGER NOT NULL,
            edge_ms INTEGER NOT NULL,
            placed_ms INTEGER NOT NULL,
            PRIMARY KEY (camera, event_id, edge_ms)
        ) WITHOUT ROWID;
    """)


@dataclass(slots=True)
class SiteClock:
    """One site's clock as last measured (ms; positive: the site is ahead)."""

    offset_ms: int | None = None
    reported_ms: int | None = None
    checked_ms: int | None = None
    skewed: bool = False
    written: tuple[int | None, int | None, bool] = (None, None, False)


class SiteClocks:
    """Every site's clock; the writer's, used under its lock and inside its transaction."""

    def __init__(self, db: Database, tolerance_s: float = DEFAULT_TOLERANCE_S) -> None:
        self.db = db
        self.tolerance_ms = int(tolerance_s * 1000)
        self.sites: dict[int, SiteClock] = {}
        self._dirty: set[int] = set()
        for site, offset, reported, checked, skew in db.execute(
            "SELECT id, clock_offset_ms, clock_reported_ms, clock_checked_ms, clock_skew FROM sites "
            "WHERE clock_checked_ms IS NOT NULL"
        ).fetchall():  # fmt: skip
            self.sites[int(site)] = SiteClock(offset, reported, checked, bool(skew), (offset, reported, bool(skew)))

    def observe(self, site: int, name: str, sent_ms: int, recv: int, reported_s: float | None = None) -> SiteClock:
        """Measure ``site``'s offset from a message built at ``sent_ms`` (its clock) received at ``recv``."""
        clock = self.sites.get(site)
        if clock is None:
            clock = self.sites[site] = SiteClock()
        clock.offset_ms = sent_ms - recv
        if reported_s is not None:
            clock.reported_ms = int(reported_s * 1000)
        clock.checked_ms = recv
        skewed = abs(clock.offset_ms) > self.tolerance_ms or (
            clock.reported_ms is not None and abs(clock.reported_ms) > self.tolerance_ms)
        if skewed != clock.skewed:
            level = logging.WARNING if skewed else logging.INFO
            logger.log(level, "%s: clock %s (offset %+.1f s, tolerance %.0f s)", name,
                       "skewed: live events placed at receive time" if skewed else "back within tolerance",
                       clock.offset_ms / 1000, self.tolerance_ms / 1000)  # fmt: skip
            clock.skewed = skewed
        last_offset, last_reported, last_skew = clock.written
        if (skewed != last_skew or last_offset is None or abs(clock.offset_ms - last_offset) >= _WRITE_STEP_MS
                or clock.reported_ms != last_reported):  # fmt: skip
            self._dirty.add(site)
        return clock

    def skewed(self, site: int) -> bool:
        """Whether ``site`` is flagged now."""
        clock = self.sites.get(site)
        return clock is not None and clock.skewed

    def offset_ms(self, site: int) -> int:
        """The site's measured offset while it is skewed, else 0 (its times are taken as they are)."""
        clock = self.sites.get(site)
        return (clock.offset_ms or 0) if clock is not None and clock.skewed else 0

    def place(self, site: int, at: int, recv: int, historical: bool) -> int:
        """Where an event with edge time ``at`` received at ``recv`` goes (see the module's rules)."""
        if historical or not self.skewed(site):
            return min(at, recv)
        return recv

    def moved(self, camera: int, event_id: int, edge_ms: int, placed_ms: int) -> None:
        """Keep an event's edge time beside the time it was placed at."""
        self.db.execute("INSERT OR IGNORE INTO clock_placements(camera, event_id, edge_ms, placed_ms) VALUES (?, ?, ?, ?)",
                        [camera, event_id, edge_ms, placed_ms])  # fmt: skip

    def was_moved(self, camera: int, event_id: int, edge_ms: int) -> bool:
        """Whether this event (a redelivery) was stored already at another time than its edge time."""
        row = self.db.execute("SELECT 1 FROM clock_placements WHERE camera = ? AND event_id = ? AND edge_ms = ?",
                              [camera, event_id, edge_ms]).fetchone()  # fmt: skip
        return row is not None

    def flush(self) -> None:
        """Write the sites' clocks that moved (inside the writer's transaction)."""
        if not self._dirty:
            return
        rows = []
        for site in sorted(self._dirty):
            c = self.sites[site]
            rows.append((c.offset_ms, c.reported_ms, c.checked_ms, int(c.skewed), site))
            c.written = (c.offset_ms, c.reported_ms, c.skewed)
        self.db.conn.executemany("UPDATE sites SET clock_offset_ms = ?, clock_reported_ms = ?, clock_checked_ms = ?, "
                                 "clock_skew = ? WHERE id = ?", rows)  # fmt: skip
        self._dirty.clear()

    def describe(self, site: int) -> str:
        """The site's clock in words (logs)."""
        c = self.sites.get(site)
        if c is None or c.offset_ms is None or c.checked_ms is None:
            return "not measured"
        return f"offset {c.offset_ms / 1000:+.1f} s at {from_ms(c.checked_ms).isoformat()}"
