"""Commit one ingest batch to the store: retry, isolate poison messages, wait out a store that is down.

Why: an acknowledged message is gone from the broker, and its events from the agent's
outbox once the application ack goes out. So a batch is acknowledged only for what the
store really committed:

* a failing batch is retried (a reader's checkpoint can hold the write lock briefly);
* then split in halves until the failing messages stand alone: those that fail while others
  commit are poison and are quarantined (``store_rejected``) so they cannot block anyone;
* when every message fails, the store itself is down (disk full, database gone): nothing
  is acknowledged, and the batch is retried with back-off until it commits or ingest stops
  (:class:`Stopped`), while the broker keeps queueing the rest.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Protocol

from aggregator.ingest.gcpause import wait_collecting
from aggregator.ingest.quarantine import Quarantine
from aggregator.store.state import ApplyResult, Inbound
from protocol import encode

__all__ = ["CommitHealth", "Stopped", "commit_batch"]

logger = logging.getLogger(__name__)

# Retries of a whole batch before it is split; 0.5 s apart (a WAL checkpoint takes less).
_ATTEMPTS = 3
_RETRY_S = 0.5
# A store that refuses everything is retried at most this far apart.
_MAX_BACKOFF_S = 30.0


class _Store(Protocol):
    def apply(self, items: list[Inbound]) -> ApplyResult: ...


class Stopped(Exception):
    """Ingest is stopping while the store is down: leave the batch unacknowledged."""


def _store_down(err: Exception) -> bool:
    """Whether ``err`` says the database itself is unusable (not one bad message)."""
    return isinstance(err, sqlite3.OperationalError | OSError)


def _merge(total: ApplyResult, part: ApplyResult) -> None:
    for site, event_id in part.committed_event_ids.items():
        total.committed_event_ids[site] = max(total.committed_event_ids.get(site, 0), event_id)
    total.transitions.extend(part.transitions)
    total.duplicates += part.duplicates
    total.rejected.extend(part.rejected)
    total.unknown_cameras.extend(part.unknown_cameras)


@dataclass
class CommitHealth:
    """What health and metrics read about the writer's commits (written by the writer only)."""

    failed_in_a_row: int = 0  # whole-batch commits that failed since the last one that worked
    failed_total: int = 0
    isolated_total: int = 0  # deliveries the store refused alone, quarantined as store_rejected


def _bisect(
    store: _Store, items: list[Inbound], merged: ApplyResult, done: list[Inbound],
    failed: list[tuple[Inbound, Exception]], *, whole_failed: bool = False,
) -> None:  # fmt: skip
    """Apply ``items``; when that fails, each half alone, down to the single failing items."""
    if not whole_failed:
        try:
            _merge(merged, store.apply(items))
            done.extend(items)
            return
        except Exception as err:  # noqa: BLE001 - judged by the caller: poison or store down
            if len(items) == 1:
                failed.append((items[0], err))
                return
    middle = len(items) // 2
    _bisect(store, items[:middle], merged, done, failed)
    _bisect(store, items[middle:], merged, done, failed)


def commit_batch(
    store: _Store, items: list[Inbound], quarantine: Quarantine, stop: threading.Event,
    health: CommitHealth | None = None,
) -> tuple[ApplyResult, list[Inbound]]:  # fmt: skip
    """Commit ``items``; return the (merged) result and the items that were committed.

    Every item comes out committed or quarantined; an item the store refuses because the
    store itself is down is retried with back-off, never acknowledged unstored."""
    health = health if health is not None else CommitHealth()
    merged, done = ApplyResult(), list[Inbound]()
    pending = items
    delay = _RETRY_S
    while True:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                _merge(merged, store.apply(pending))
                done.extend(pending)
                health.failed_in_a_row = 0
                return merged, done
            except Exception as err:  # noqa: BLE001 - any store failure: retry, then isolate
                health.failed_in_a_row += 1
                health.failed_total += 1
                logger.warning("ingest: apply of %d items failed (try %d): %s", len(pending), attempt, err)
                if wait_collecting(stop, _RETRY_S):
                    raise Stopped from err
        # Split until the failing items stand alone: about 2*log2(n) commits per poison
        # message, not one commit per message of the batch.
        failed: list[tuple[Inbound, Exception]] = []
        _bisect(store, pending, merged, done, failed, whole_failed=len(pending) > 1)
        for item, why in failed:
            if not _store_down(why):
                payload = encode(item.message, max_bytes=2**31)
                quarantine.add(str(item.topic), payload, "store_rejected", str(why))
                health.isolated_total += 1
        pending = [item for item, why in failed if _store_down(why)]
        if not pending:
            health.failed_in_a_row = 0
            return merged, done
        logger.error("ingest: the store refuses %d messages (%s); retrying in %.0f s",
                     len(pending), next(why for _, why in failed if _store_down(why)), delay)  # fmt: skip
        if wait_collecting(stop, delay):
            raise Stopped
        delay = min(delay * 2, _MAX_BACKOFF_S)
