"""One camera's transitions, read through the day-partitioned index ``(day, camera, at_ms)``.

The index is keyed by Bangkok day first so the writer's inserts land in today's small part
of it (aggregator.store.db ``core_v2``); a camera's rows are therefore found one day at a time: a
window of N days is N index seeks, and the row before an instant is found by stepping back
a day at a time. ``tail`` (the camera's last row time, ``camera_state.tail_ms``) bounds the
step-back: at or after it, the answer is in the tail's own day, so a quiet camera costs one
seek; inside its active history the walk stops at the first day with a row.

Every function works on any connection (the writer's or an API reader's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from aggregator.days import day_of

__all__ = [
    "Row", "between", "db_last_day", "exists_at", "first_after", "first_day", "last_at_or_before", "latest",
    "marks", "stored_between",
]  # fmt: skip

Row = tuple[int, int, int, str, int, bool]
"""``(at_ms, old_state, new_state, reason, id, historical)`` of one transition."""

_COLS = "at_ms, old_state, new_state, reason, id, historical"
_LAST = (f"SELECT {_COLS} FROM transitions WHERE day = ? AND camera = ? AND at_ms <= ? "
         "ORDER BY at_ms DESC, id DESC LIMIT 1")  # fmt: skip
_FIRST = (f"SELECT {_COLS} FROM transitions WHERE day = ? AND camera = ? AND at_ms > ? "
          "ORDER BY at_ms, id LIMIT 1")  # fmt: skip
_DAY = f"SELECT {_COLS} FROM transitions WHERE day = ? AND camera = ? ORDER BY at_ms DESC, id DESC"


def marks(values: Sequence[object]) -> str:
    """SQL placeholders for an ``IN (...)`` over ``values``."""
    return ", ".join("?" * len(values))


def _row(r: Sequence[Any]) -> Row:
    return int(r[0]), int(r[1]), int(r[2]), str(r[3]), int(r[4]), bool(r[5])


def first_day(db: Database) -> int | None:
    """The earliest day with any transition (one index probe), None for an empty log."""
    row = db.execute("SELECT MIN(day) FROM transitions").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def last_at_or_before(db: Database, camera: int, t: int, *, tail: int | None = None, floor: int | None = None) -> Row | None:
    """The camera's last transition at or before ``t`` (latest id among equal times), or None.

    ``tail`` (its last row's time, when known) starts the walk near the tail's day when ``t`` is
    later (a day on: a reader's copy of the tail may lag the writer's by a second); ``floor``
    is the earliest day to look at (default: the log's first day).
    """
    day = day_of(t) if tail is None or t < tail else min(day_of(t), day_of(tail) + 1)
    low = first_day(db) if floor is None else floor
    if low is None:
        return None
    conn = db.conn
    while day >= low:
        row = conn.execute(_LAST, [day, camera, t]).fetchone()
        if row is not None:
            return _row(row)
        day -= 1
    return None


def first_after(db: Database, camera: int, t: int, tail: int) -> Row | None:
    """The camera's first transition after ``t`` up to its ``tail`` (last row time), or None."""
    conn = db.conn
    for day in range(day_of(t), day_of(tail) + 1):
        row = conn.execute(_FIRST, [day, camera, t]).fetchone()
        if row is not None:
            return _row(row)
    return None


def between(db: Database, camera: int, a: int, b: int) -> list[tuple[int, int]]:
    """``(at_ms, new_state)`` of the camera's transitions with ``a < at < b``, in order."""
    if b <= a + 1:
        return []
    days = list(range(day_of(a), day_of(b - 1) + 1))
    rows = db.conn.execute(
        f"SELECT at_ms, new_state FROM transitions WHERE day IN ({marks(days)}) AND camera = ? "
        "AND at_ms > ? AND at_ms < ? ORDER BY at_ms, id", [*days, camera, a, b]).fetchall()  # fmt: skip
    return [(int(at), int(state)) for at, state in rows]


def stored_between(db: Database, camera: int, event_id: int, a: int, b: int) -> bool:
    """Whether a transition of the camera with ``event_id`` is stored at a time in ``[a, b]``."""
    days = list(range(day_of(a), day_of(b) + 1))
    row = db.conn.execute(
        f"SELECT 1 FROM transitions WHERE day IN ({marks(days)}) AND camera = ? "
        "AND at_ms BETWEEN ? AND ? AND event_id = ? LIMIT 1", [*days, camera, a, b, event_id]).fetchone()  # fmt: skip
    return row is not None


def exists_at(db: Database, camera: int, at: int, event_id: int) -> bool:
    """Whether the camera's transition with ``event_id`` at exactly ``at`` is stored."""
    row = db.conn.execute(
        "SELECT 1 FROM transitions WHERE day = ? AND camera = ? AND at_ms = ? AND event_id = ? LIMIT 1",
        [day_of(at), camera, at, event_id]).fetchone()  # fmt: skip
    return row is not None


def latest(db: Database, camera: int, limit: int, *, tail: int | None = None) -> list[Row]:
    """The camera's ``limit`` newest transitions, newest first (walking back from its tail's day)."""
    if limit <= 0:
        return []
    low = first_day(db)
    if low is None:
        return []
    day = day_of(tail) + 1 if tail is not None else db_last_day(db)  # a reader's tail may lag a second
    out: list[Row] = []
    conn = db.conn
    while day >= low and len(out) < limit:
        for row in conn.execute(_DAY, [day, camera]):
            out.append(_row(row))
            if len(out) == limit:
                break
        day -= 1
    return out


def db_last_day(db: Database) -> int:
    """The latest day with any transition (one index probe); 0 for an empty log."""
    row = db.execute("SELECT MAX(day) FROM transitions").fetchone()
    return 0 if row is None or row[0] is None else int(row[0])
