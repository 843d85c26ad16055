"""History retention: per-camera detail older than the kept window is deleted; area totals stay.

Why: at a million cameras the per-camera detail grows by about 36 MB a day (``transitions``
~14 MB, ``camera_day`` ~23 MB, measured on the national bench database), while the site and
province day totals that every area rollup sums (site, district, province, agency, nation)
grow by well under 1 MB a day. Administrators choose how many days of camera detail to keep
(``history_keep_days``); the area totals are kept for ever and stay exact.

How the kept history stays exact:

* The floor moves by whole Bangkok calendar months (the first day of the month holding
  "the last rolled day minus the days to keep"), so the work below happens once a month, and
  at least the asked number of days is always kept. On a longer history (retention turned on
  after a year) it moves one month per step, so no step reads more than a month of rows.
* Before anything is deleted, every camera whose last row is older than the floor gets a
  *carry row* at the floor's midnight: ``old_state = new_state`` = its state then, the same
  reason, no event id, marked historical. A camera's timeline read from the floor on is then
  the same as before (the state at any instant after the floor is found without the deleted
  days), and its ``tail_ms`` (the start of its open interval) moves to the carry row, which
  changes no total: the state is the same on both sides of it.
* Then the days before the floor are deleted one day per transaction, so ingest keeps
  committing between them.
* Events older than the floor that arrive later (an agent back after a longer outage than the
  kept window) are not stored: their truth can no longer be placed among deleted rows. The
  store reports them as rejected, so they are counted in quarantine.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlite_utils import Database

from aggregator.days import date_to_day, day_of, day_start, day_to_date
from aggregator.store import camera_log
from aggregator.store.memory import REASON_VALUES, CameraColumns
from aggregator.store.recent import RECENT_DAYS

__all__ = [
    "MIN_KEEP_DAYS",
    "PruneReport",
    "Carry",
    "at_midnight",
    "carry_forward",
    "delete_oldest_day",
    "floor_day",
    "history_floor",
    "insert_carry_rows",
    "kept_from",
    "last_rows_before",
    "next_floor",
    "set_history_floor",
]

# The in-memory recent log and the partial-day rollups read the last RECENT_DAYS days of
# transitions (a 30-day window's first partial day included), and a late event is most often
# hours old: never delete inside that reach, plus a few days of slack.
MIN_KEEP_DAYS = RECENT_DAYS + 3

_KEY = "history_from_day"


@dataclass(frozen=True)
class PruneReport:
    """What one pruning pass did (logged by the service, read by tests)."""

    floor_day: int | None  # first day kept (None: history is not pruned)
    carried: int = 0  # carry rows written this pass
    days_deleted: int = 0
    transitions_deleted: int = 0
    camera_days_deleted: int = 0


def floor_day(checkpoint_ms: int, keep_days: int) -> int:
    """First day to keep: the first of the Bangkok month holding ``keep_days`` before the last rolled day."""
    if keep_days < MIN_KEEP_DAYS:
        raise ValueError(f"keep at least {MIN_KEEP_DAYS} days of camera history, not {keep_days}")
    last_complete = day_of(checkpoint_ms) - 1
    oldest_kept = day_to_date(last_complete - keep_days + 1)
    return date_to_day(oldest_kept.replace(day=1))


def next_floor(db: Database, current: int | None, target: int) -> int:
    """The next first kept day on the way to ``target``: the first of the month after the
    current one (or after the oldest row, the first time), so each move's search reads at
    most about a month of rows."""
    if current is None:
        oldest = camera_log.first_day(db)
        if oldest is None or oldest >= target:
            return target
        current = oldest
    first = day_to_date(current).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return min(target, date_to_day(following))


def history_floor(db: Database) -> int | None:
    """The first day of camera detail kept, or None when nothing was ever pruned."""
    row = db.execute("SELECT value FROM store_meta WHERE key = ?", [_KEY]).fetchone()
    return None if row is None else int(row[0])


def kept_from(db: Database, start_ms: int) -> date | None:
    """The first kept day of camera history when a window starting at ``start_ms`` reaches
    before it (what answers covering that window must say), else None."""
    floor = history_floor(db)
    return day_to_date(floor) if floor is not None and start_ms < day_start(floor) else None


def set_history_floor(db: Database, day: int) -> None:
    db.execute(
        "INSERT INTO store_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [_KEY, day],
    )


Carry = tuple[int, int, int, str]
"""``(camera, site, state, reason)`` of one carry row."""


def at_midnight(db: Database, day: int) -> set[int]:
    """Cameras with a row exactly at ``day``'s midnight: their state there needs no carry row."""
    at = day_start(day)
    return {int(c) for (c,) in db.execute("SELECT camera FROM transitions WHERE day = ? AND at_ms = ?", [day, at])}


def last_rows_before(db: Database, day: int, need: bytearray, *, since: int | None) -> Iterator[Carry]:
    """The newest row before ``day`` of each camera flagged in ``need`` (latest id among equal
    times); flags are cleared as cameras are found.

    Walks back one day at a time (each a range of the ``(day, camera, at_ms)`` index) and
    stops when every camera is found, at ``since`` (the current first kept day: its carry
    rows stand for everything older, even before those days are deleted), or where the log
    begins. Each day's answers are read whole before they are yielded, so the caller may
    insert while iterating; memory stays at one day's answers whatever the number of
    cameras. A camera with no row in the walk is simply not in the answer.
    """
    low = since if since is not None else camera_log.first_day(db)
    left = sum(need)
    d = day - 1
    while left and low is not None and d >= low:
        found: list[Carry] = []
        last: Carry | None = None
        for cam, site, state, reason in db.execute(
            "SELECT camera, site, new_state, reason FROM transitions WHERE day = ? ORDER BY camera, at_ms, id", [d]
        ):
            if not need[cam]:
                continue
            if last is not None and last[0] != cam:
                found.append(last)  # the camera's rows are done: its last one of the day
            last = (cam, site, state, reason)
        if last is not None:
            found.append(last)
        for row in found:
            need[row[0]] = 0
        left -= len(found)
        yield from found
        d -= 1


def insert_carry_rows(db: Database, day: int, rows: Iterable[Carry], *, made_ms: int) -> int:
    """Write ``rows`` as carry rows at ``day``'s midnight (same state on both sides, no event
    id, historical, received when made); return how many."""
    at = day_start(day)
    count = 0

    def values() -> Iterator[tuple[object, ...]]:
        nonlocal count
        for cam, site, state, reason in rows:
            count += 1
            yield cam, site, at, state, state, reason, made_ms, day

    db.conn.executemany(
        "INSERT INTO transitions(camera, site, at_ms, old_state, new_state, reason, event_id, historical, "
        "received_ms, day) VALUES (?, ?, ?, ?, ?, ?, NULL, 1, ?, ?)",
        values(),
    )
    return count


def carry_forward(db: Database, cols: CameraColumns, floor: int, since: int | None, *, made_ms: int) -> int:
    """Write every camera's carry row at ``floor``'s midnight (``since``: the current first
    kept day, if any); return how many.

    A camera quiet since before the floor carries what memory holds (its last row is its
    tail), and its tail moves to the carry row: in ``cols`` and in ``camera_state`` (one
    statement; the caller has written the states first). The others' state at midnight comes
    from their newest row before it.
    """
    at = day_start(floor)
    state, tail = cols.view("state", cols.n), cols.view("tail", cols.n)
    known = state >= 0
    quiet = np.nonzero(known & (tail < at))[0]
    need = known & (tail >= at)
    need[list(at_midnight(db, floor))] = False
    site, states, reason = cols.site, cols.state, cols.reason  # plain ints (numpy's would bind as blobs)
    rows = itertools.chain(
        ((cam, site[cam], states[cam], REASON_VALUES[reason[cam]])
         for part in np.array_split(quiet, len(quiet) // 65536 + 1) for cam in part.tolist()),
        last_rows_before(db, floor, bytearray(need.tobytes()), since=since),
    )  # fmt: skip
    count = insert_carry_rows(db, floor, rows, made_ms=made_ms)
    tail[quiet] = at
    db.execute("UPDATE camera_state SET tail_ms = ? WHERE tail_ms < ? AND camera IN "
               "(SELECT camera FROM transitions WHERE day = ? AND at_ms = ?)", [at, at, floor, at])  # fmt: skip
    return count


def delete_oldest_day(db: Database, floor: int) -> tuple[int, int, int] | None:
    """Delete the oldest day before ``floor`` from transitions and camera_day.

    Returns ``(day, transitions deleted, camera days deleted)``, or None when nothing older
    than the floor is left.
    """
    row = db.execute(
        "SELECT MIN(day) FROM (SELECT MIN(day) AS day FROM transitions UNION ALL SELECT MIN(day) FROM camera_day)"
    ).fetchone()
    if row is None or row[0] is None or int(row[0]) >= floor:
        return None
    day = int(row[0])
    transitions = db.execute("DELETE FROM transitions WHERE day = ?", [day]).rowcount
    camera_days = db.execute("DELETE FROM camera_day WHERE day = ?", [day]).rowcount
    return day, transitions, camera_days
