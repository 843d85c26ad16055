"""The durable delivery log: every webhook, e-mail and LINE alert until its recipient took it.

A delivery is written before anyone tries to send it, so a crash or an endpoint that is
down for hours loses nothing. Each row carries an idempotency key that travels with every
attempt (the ``Idempotency-Key`` header for webhooks, the ``Message-ID`` for e-mail), so a
recipient that saw an attempt whose answer got lost can drop the retry. Failed attempts
back off exponentially; a delivery still failing after ``give_up_s`` is marked dead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from aggregator.timetext import iso, parse_iso

__all__ = ["Backoff", "Delivery", "DeliveryLog", "migrate_deliveries"]

DELIVERIES = "deliveries"


def migrate_deliveries(db: Database) -> None:
    """Create the delivery log table."""
    db.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS {DELIVERIES} (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            route_id INTEGER NOT NULL,
            recipient TEXT NOT NULL,
            province TEXT NOT NULL DEFAULT '',
            fault_ids TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            sent_at TEXT,
            last_error TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS deliveries_due ON {DELIVERIES}(channel, status, next_attempt_at);
        CREATE INDEX IF NOT EXISTS deliveries_created ON {DELIVERIES}(created_at);
        """
    )


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off between attempts: base * 2**(attempts-1), capped, until give-up."""

    base_s: float = 2.0
    max_s: float = 300.0
    give_up_s: float = 24 * 3600.0

    def delay(self, attempts: int) -> timedelta:
        """Wait before the next attempt after ``attempts`` failures."""
        return timedelta(seconds=min(self.base_s * 2 ** max(attempts - 1, 0), self.max_s))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pending delivery as a sender sees it."""

    id: int
    key: str
    channel: str
    route_id: int
    recipient: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


class DeliveryLog:
    """Enqueue, pick due, and record the outcome of deliveries (one connection per thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(
        self,
        *,
        key: str,
        channel: str,
        route_id: int,
        recipient: str,
        payload: dict[str, Any],
        now: datetime,
        province: str = "",
        fault_ids: tuple[int, ...] = (),
    ) -> bool:
        """Record a delivery due now; False when that idempotency key is already logged."""
        with self.db.conn:
            cur = self.db.execute(
                f"""INSERT OR IGNORE INTO {DELIVERIES}
                (idempotency_key, channel, route_id, recipient, province, fault_ids, payload,
                 created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    key,
                    channel,
                    route_id,
                    recipient,
                    province,
                    ",".join(map(str, fault_ids)),
                    json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                    iso(now),
                    iso(now),
                ],
            )
        return cur.rowcount > 0

    def due(self, channel: str, now: datetime, limit: int = 50) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        rows = self.db.query(
            f"""SELECT * FROM {DELIVERIES} WHERE channel = ? AND status = 'pending'
            AND next_attempt_at <= ? ORDER BY id LIMIT ?""",
            [channel, iso(now), limit],
        )
        out = []
        for r in rows:
            created = parse_iso(r["created_at"])
            assert created is not None
            out.append(
                Delivery(
                    id=int(r["id"]),
                    key=r["idempotency_key"],
                    channel=r["channel"],
                    route_id=int(r["route_id"]),
                    recipient=r["recipient"],
                    payload=json.loads(r["payload"]),
                    attempts=int(r["attempts"]),
                    created_at=created,
                )
            )
        return out

    def next_due(self, channel: str) -> datetime | None:
        """When the earliest pending delivery of the channel is due."""
        row = self.db.execute(
            f"SELECT MIN(next_attempt_at) FROM {DELIVERIES} WHERE channel = ? AND status = 'pending'",
            [channel],
        ).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def mark_sent(self, delivery: Delivery, now: datetime) -> None:
        """The recipient took it."""
        with self.db.conn:
            self.db.execute(
                f"UPDATE {DELIVERIES} SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = '' WHERE id = ?",
                [iso(now), delivery.id],
            )

    def mark_failed(
        self,
        delivery: Delivery,
        now: datetime,
        error: str,
        backoff: Backoff,
        *,
        retry_after_s: float | None = None,
        permanent: bool = False,
    ) -> bool:
        """Record a failed attempt and schedule the next; True when the delivery is now dead.

        ``retry_after_s`` (the recipient's Retry-After) sets the next attempt when it is later
        than the back-off would; ``permanent`` kills the delivery at once.
        """
        attempts = delivery.attempts + 1
        dead = permanent or (now - delivery.created_at).total_seconds() >= backoff.give_up_s
        delay = backoff.delay(attempts)
        if retry_after_s is not None:
            delay = max(delay, timedelta(seconds=retry_after_s))
        with self.db.conn:
            self.db.execute(
                f"UPDATE {DELIVERIES} SET status = ?, attempts = ?, next_attempt_at = ?,"
                " last_error = ? WHERE id = ?",
                [
                    "dead" if dead else "pending",
                    attempts,
                    iso(now + delay),
                    error[:500],
                    delivery.id,
                ],
            )
        return dead

    def list(
        self,
        *,
        provinces: list[str] | None = None,
        status: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Log rows for the API, newest first (payloads included, never secrets)."""
        clauses, params = [], []
        if provinces is not None:
            clauses.append(f"province IN ({','.join('?' * len(provinces)) or 'NULL'})")
            params += provinces
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if channel is not None:
            clauses.append("channel = ?")
            params.append(channel)
        where = "WHERE " + " AND ".join(clauses) if clauses else ""
        rows = self.db.query(
            f"SELECT * FROM {DELIVERIES} {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [{**r, "payload": json.loads(r["payload"])} for r in rows]
