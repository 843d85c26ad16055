"""Durable SQLite queue of camera state changes, kept until the centre has committed them.

A PUBACK from the broker only proves that the broker received a message (Mosquitto saves
its persistence file periodically and drops queued messages past ``max_queued_messages``),
so every state change is written here *before* anything is published and deleted only
when the centre's :class:`protocol.Ack` covers its event id.

* Event ids are positive 64-bit integers issued in order and never reused, even across
  restarts: the next id and the birth/death sequence (``bd_seq``) live in the same
  database as the events, written in the same transaction.
* The database runs in WAL mode with ``synchronous=FULL``: a committed change survives a
  power cut of the site gateway.
* Bounded: when the queue reaches ``max_events`` or the disk is full, each camera's older
  history is merged into one interval event (per-state seconds in its details) and only its
  latest state is kept as is. The number of merged events is reported once, in the next
  heartbeat. When even that cannot be written, the latest state per camera is held in memory
  and written when the disk has room again; ``record`` never raises, so a full disk never
  crash-loops the agent.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from protocol import MAX_EVENT_ID, CameraState, Event, Reason, redact_uri

__all__ = ["ChangeLike", "Outbox", "StoredEvent"]

logger = logging.getLogger(__name__)

# A site with 1,000 cameras flapping once a minute makes ~1.5 M events a day; 100,000 rows
# (~20 MB) holds more than an hour of that worst case and days of a normal site.
DEFAULT_MAX_EVENTS = 100_000
# Compaction brings the queue down to this fraction of the limit so it does not run on
# every following record.
_COMPACT_TARGET = 0.5
# sqlite3 waits this long for a lock held by another connection (the CLI reading status)
# before raising; the publisher and the runner share one connection behind a lock.
_BUSY_TIMEOUT_S = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_camera ON events (camera_id, id);
"""


class ChangeLike(Protocol):
    """What the outbox reads from a state change (agent/health.py's StateChange)."""

    @property
    def camera_id(self) -> str: ...
    @property
    def state(self) -> CameraState: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def at(self) -> datetime: ...
    @property
    def details(self) -> Mapping[str, str | int | float | bool | None]: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One queued event as read back from the outbox."""

    id: int
    camera_id: str
    state: CameraState
    reason: Reason
    at: datetime
    details: dict[str, str | int | float | bool | None]

    def to_wire(self, *, historical: bool) -> Event:
        """The protocol event for this row."""
        return Event(
            id=self.id,
            camera_id=self.camera_id,
            at=self.at,
            state=self.state,
            reason=self.reason,
            details=self.details,
            historical=historical,
        )


def _is_disk_trouble(err: sqlite3.Error) -> bool:
    """Whether ``err`` means "no room" (SQLITE_FULL) or the disk failed (SQLITE_IOERR)."""
    text = str(err).lower()
    return "full" in text or "disk i/o" in text


def _safe_details(details: Mapping[str, str | int | float | bool | None]) -> dict[str, str | int | float | bool | None]:
    """The details with any user name or password removed from URIs: camera credentials
    never leave the gateway, even when a check puts the URI it used into an event."""
    return {
        key: redact_uri(value) if isinstance(value, str) and "://" in value else value
        for key, value in details.items()
    }


class Outbox:
    """SQLite outbox; implements the runner's EventSink (``record``).

    >>> box = Outbox(tmp / "outbox.db")
    >>> box.record(change)          # durable before this returns
    >>> box.pending(after_id=0)     # what to publish, in event-id order
    >>> box.ack(17)                 # the centre committed everything up to 17
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        on_record: Callable[[], None] | None = None,
    ) -> None:
        if max_events < 2:
            raise ValueError("max_events must be at least 2")
        self.path = Path(path)
        self.max_events = max_events
        self._listeners: list[Callable[[], None]] = [on_record] if on_record is not None else []
        self._lock = threading.RLock()
        self._held: dict[str, ChangeLike] = {}  # camera -> latest change, while the disk is full
        # Full-disk mode: logged once on entry and once on leaving, never per change.
        self._disk_full = False
        # Events merged in memory (a held change replaced by a newer one), not yet reported.
        self._merged_in_memory = 0
        # Part of meta 'compacted' already reported in a heartbeat but not yet zeroed on disk.
        self._reported_unsaved = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        with self._tx():
            for key in ("next_event_id", "bd_seq", "compacted"):
                self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, 0)", (key,))
            self._db.execute("UPDATE meta SET value = 1 WHERE key = 'next_event_id' AND value = 0")

    # -- transactions -------------------------------------------------------------------

    def _tx(self) -> _Tx:
        return _Tx(self._db)

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- EventSink ------------------------------------------------------------------------

    def record(self, change: ChangeLike) -> None:
        """Store ``change`` durably with the next event id; never raises on disk trouble."""
        self.append(change)

    def append(self, change: ChangeLike) -> int | None:
        """Store ``change``; return its event id, or None when it is held in memory."""
        event_id: int | None
        with self._lock:
            try:
                self._flush_held()
                if self.depth() >= self.max_events:
                    self._compact(int(self.max_events * _COMPACT_TARGET))
                event_id = self._insert(change)
            except sqlite3.OperationalError as err:
                if not _is_disk_trouble(err):
                    raise
                event_id = self._on_disk_trouble(change, err)
        for listener in self._listeners:
            listener()
        return event_id

    def _insert(self, change: ChangeLike, merged: int = 0) -> int:
        with self._tx():
            event_id = self._meta("next_event_id")
            if event_id >= MAX_EVENT_ID:
                raise OverflowError("event ids exhausted")  # 2**63 events: never in practice
            self._db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    change.camera_id,
                    CameraState(change.state).value,
                    Reason(change.reason).value,
                    change.at.astimezone(UTC).isoformat(),
                    json.dumps(_safe_details(change.details), sort_keys=True),
                ),
            )
            self._db.execute(
                "UPDATE meta SET value = ? WHERE key = 'next_event_id'", (event_id + 1,)
            )
            if merged:
                self._db.execute(
                    "UPDATE meta SET value = value + ? WHERE key = 'compacted'", (merged,)
                )
        return event_id

    def _on_disk_trouble(self, change: ChangeLike, err: sqlite3.OperationalError) -> int | None:
        if not self._disk_full:
            logger.warning("%s: outbox write failed (%s): compacting", change.camera_id, err)
        try:
            self._compact(0)
            return self._insert(change)
        except sqlite3.OperationalError as again:
            if not _is_disk_trouble(again):
                raise
            if change.camera_id in self._held:
                self._merged_in_memory += 1  # the older held state is merged away
            self._held[change.camera_id] = change
            if not self._disk_full:
                self._disk_full = True
                logger.error("outbox: disk full (%s): keeping the latest state of each camera in memory "
                             "until there is room again", again)  # fmt: skip
            return None

    def _flush_held(self) -> None:
        """Write changes held in memory during a full disk, once there is room again."""
        if not self._held:
            return
        written = 0
        for camera_id in list(self._held):
            self._insert(self._held[camera_id])
            del self._held[camera_id]
            written += 1
        if self._disk_full:
            self._disk_full = False
            logger.warning("outbox: the disk has room again: %d cameras' latest states written", written)

    # -- compaction -----------------------------------------------------------------------

    def _compact(self, target: int) -> int:
        """Merge each camera's older events into one interval until ``target`` rows remain.

        Cameras with the longest history are merged first. The interval takes the time of
        the camera's first old event and the id of its last old one (so an interval that
        covers events not yet published is published after the ones that were), the state
        that lasted longest, and the seconds spent in each state up to the camera's latest
        event (which stays as is). Returns how many events disappeared.
        """
        removed = 0
        depth = self.depth()
        cameras = self._db.execute(
            "SELECT camera_id, COUNT(*) AS n FROM events GROUP BY camera_id HAVING n > 2 "
            "ORDER BY n DESC"
        ).fetchall()
        for camera_id, _count in cameras:
            if target and depth - removed <= target:
                break
            removed += self._compact_camera(camera_id)
        if removed:
            logger.warning("outbox: compacted %d events into intervals (limit %d)", removed, self.max_events)
        return removed

    def _compact_camera(self, camera_id: str) -> int:
        rows = self._db.execute(
            "SELECT id, state, reason, at, details FROM events WHERE camera_id = ? ORDER BY id",
            (camera_id,),
        ).fetchall()
        old, latest = rows[:-1], rows[-1]
        seconds: dict[str, float] = {}
        merged = 0
        for (_, state, _, at, details_json), nxt in zip(old, rows[1:], strict=True):
            earlier = json.loads(details_json)
            spans = {k[2:]: float(v) for k, v in earlier.items() if k.startswith("s_")}
            if not spans:  # a plain event: its state lasted until the next one
                span = (datetime.fromisoformat(nxt[3]) - datetime.fromisoformat(at)).total_seconds()
                spans = {state: max(span, 0.0)}
            for key, secs in spans.items():
                seconds[key] = seconds.get(key, 0.0) + secs
            merged += int(earlier.get("compacted", 1) or 1)
        longest = max(seconds, key=lambda s: seconds[s]) if seconds else old[0][1]
        first = old[0]
        reason = first[2] if first[1] == longest else next(r[2] for r in old if r[1] == longest)
        details: dict[str, str | int | float | bool | None] = {
            "compacted": merged,
            "until": latest[3],
        }
        for state, secs in sorted(seconds.items()):
            details[f"s_{state}"] = round(secs, 3)
        keep = old[-1][0]
        with self._tx():
            self._db.execute(
                "DELETE FROM events WHERE camera_id = ? AND id >= ? AND id < ?",
                (camera_id, first[0], keep),
            )
            self._db.execute(
                "UPDATE events SET state = ?, reason = ?, at = ?, details = ? WHERE id = ?",
                (longest, reason, first[3], json.dumps(details, sort_keys=True), keep),
            )
            self._db.execute(
                "UPDATE meta SET value = value + ? WHERE key = 'compacted'", (len(old) - 1,)
            )
        return len(old) - 1

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every record (the publisher wakes up to send at once)."""
        self._listeners.append(callback)

    # -- reading and acknowledging --------------------------------------------------------

    def depth(self) -> int:
        """How many events wait for the centre's ack."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def last_event_id(self) -> int:
        """The highest event id issued so far (0 before the first)."""
        with self._lock:
            return self._meta("next_event_id") - 1

    def pending(self, after_id: int = 0, limit: int = 500) -> list[StoredEvent]:
        """Up to ``limit`` queued events with an id above ``after_id``, in id order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, camera_id, state, reason, at, details FROM events "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [
            StoredEvent(
                id=row[0],
                camera_id=row[1],
                state=CameraState(row[2]),
                reason=Reason(row[3]),
                at=datetime.fromisoformat(row[4]),
                details=json.loads(row[5]),
            )
            for row in rows
        ]

    def ack(self, event_id: int) -> int:
        """Delete every event up to ``event_id``; return how many went."""
        with self._lock:
            try:
                with self._tx():
                    cursor = self._db.execute("DELETE FROM events WHERE id <= ?", (event_id,))
                return cursor.rowcount
            except sqlite3.OperationalError as err:
                if not _is_disk_trouble(err):
                    raise
                logger.warning("outbox: ack up to %d not written yet (%s)", event_id, err)
                return 0

    # -- session counters -----------------------------------------------------------------

    def next_bd_seq(self) -> int:
        """Advance and return the birth/death sequence (0..255), durably."""
        with self._lock, self._tx():
            value = (self._meta("bd_seq") + 1) % 256
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'bd_seq'", (value,))
        return value

    def take_compacted(self) -> int:
        """How many events were merged since the last call (reported in a heartbeat).

        Counted even while the disk is full: what is merged in memory, and what is on disk
        but cannot be zeroed yet (remembered, so it is never reported twice)."""
        with self._lock:
            stored = self._meta("compacted")  # a read works on a full disk
            value = stored - self._reported_unsaved + self._merged_in_memory
            self._merged_in_memory = 0
            try:
                with self._tx():
                    self._db.execute("UPDATE meta SET value = 0 WHERE key = 'compacted'")
                self._reported_unsaved = 0
            except sqlite3.OperationalError as err:
                if not _is_disk_trouble(err):
                    raise
                self._reported_unsaved = stored
            return value

    @property
    def disk_full(self) -> bool:
        """Whether the outbox is in full-disk mode (latest states held in memory)."""
        return self._disk_full

    def held_in_memory(self) -> int:
        """Cameras whose latest state waits in memory for disk space."""
        with self._lock:
            return len(self._held)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
            return
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # BEGIN itself failed, or SQLite already rolled back: nothing is open
