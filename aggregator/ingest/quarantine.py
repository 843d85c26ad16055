"""Bounded quarantine of payloads the aggregator refused, and a counter per reason.

Ingest never stops for a bad payload: it is recorded here with its topic, the reason
(``protocol.errors`` reasons plus ``unknown_site``, ``wrong_location``, ``store_rejected``, ``ingest_error``,
``unknown_camera``),
a human detail and its first KiB, then acknowledged to the broker. The table keeps the
newest :data:`DEFAULT_MAX_ROWS` rows; the counters are never trimmed, so operators see
how much was refused even after the rows are gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

__all__ = [
    "DEFAULT_MAX_ROWS",
    "HEAD_BYTES",
    "Quarantine",
    "QuarantinedRow",
    "migrate_quarantine",
    "migrate_transport",
]

logger = logging.getLogger(__name__)

# Enough rows to diagnose a misbehaving agent fleet, small enough (~10 MB) that a flood of
# garbage can never fill the aggregator's disk.
DEFAULT_MAX_ROWS = 10_000
# The first KiB shows what the sender meant without storing an attacker's megabytes.
HEAD_BYTES = 1024


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        topic TEXT NOT NULL,
        client_id TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        head BLOB NOT NULL,
        size INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS quarantine_reason ON quarantine (reason, at_ms)",
    """CREATE TABLE IF NOT EXISTS quarantine_counts (
        reason TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_ms INTEGER NOT NULL
    )""",
)


def migrate_quarantine(db: Database) -> None:
    """Create the quarantine table and its per-reason counters (statement by statement, so
    it runs inside the migration's transaction; executescript would commit it)."""
    for statement in _SCHEMA:
        db.execute(statement)


# The name CONTRACTS.md first gave the transport migration.
migrate_transport = migrate_quarantine


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    """One refused payload as stored."""

    at: datetime
    topic: str
    client_id: str | None
    reason: str
    detail: str
    head: bytes
    size: int


class Quarantine:
    """Writes refused payloads; used only from ingest's writer thread."""

    def __init__(self, db: Database, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.db = db
        self.max_rows = max_rows
        self.added = 0  # refused payloads recorded by this process
        if not db["quarantine_counts"].exists():  # a database opened without migrations
            with db.conn:
                migrate_quarantine(db)

    def add(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        detail: str,
        *,
        client_id: str | None = None,
        now: datetime | None = None,
        quiet: bool = False,
    ) -> None:
        """Record one refused payload and count its reason (one transaction); ``quiet`` when the
        caller logs the refusal itself (once per site and window, not once per payload)."""
        at_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
        conn = self.db.conn
        with conn:
            cursor = conn.execute(
                "INSERT INTO quarantine (at_ms, topic, client_id, reason, detail, head, size) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at_ms, topic[:300], client_id, reason, detail[:500], payload[:HEAD_BYTES], len(payload)),
            )
            conn.execute(
                "INSERT INTO quarantine_counts (reason, count, last_ms) VALUES (?, 1, ?) "
                "ON CONFLICT (reason) DO UPDATE SET count = count + 1, last_ms = excluded.last_ms",
                (reason, at_ms),
            )
            newest = cursor.lastrowid or 0
            conn.execute("DELETE FROM quarantine WHERE id <= ?", (newest - self.max_rows,))
        self.added += 1
        if not quiet:
            logger.warning("%s: quarantined (%s): %s", topic[:120], reason, detail[:200])

    def counts(self) -> dict[str, int]:
        """How many payloads were refused, per reason."""
        rows = self.db.execute("SELECT reason, count FROM quarantine_counts").fetchall()
        return {str(reason): int(count) for reason, count in rows}

    def recent(self, limit: int = 100) -> list[QuarantinedRow]:
        """The newest quarantined payloads, newest first."""
        rows = self.db.execute(
            "SELECT at_ms, topic, client_id, reason, detail, head, size FROM quarantine "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            QuarantinedRow(
                at=datetime.fromtimestamp(r[0] / 1000, UTC),
                topic=r[1],
                client_id=r[2],
                reason=r[3],
                detail=r[4],
                head=bytes(r[5]),
                size=int(r[6]),
            )
            for r in rows
        ]
