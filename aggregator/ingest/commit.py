"""Commit one ingest batch to the store: retry, isolate poison messages, wait out a store that is down.

Why: an acknowledged message is gone from the broker, and its events from the agent's
outbox once the application ack goes out. So a batch is acknowledged only for what the
store really committed:

* a failing batch is retried (a reader's checkpoint can hold the write lock briefly);
* then applied message by message: messages that fail while others commit are poison and
  are quarantined (``store_error``) so they cannot block the site forever;
* when every message fails, the store itself is down (disk full, database gone): nothing
  is acknowledged, and the batch is retried with back-off until it commits or ingest stops
  (:class:`Stopped`), while the broker keeps queueing the rest.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Protocol

from aggregator.ingest.gcpause import wait_collecting
from aggregator.ingest.quarantine import Quarantine
from aggregator.store.state import ApplyResult, Inbound
from protocol import encode

__all__ = ["Stopped", "commit_batch"]

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


def commit_batch(
    store: _Store, items: list[Inbound], quarantine: Quarantine, stop: threading.Event
) -> tuple[ApplyResult, list[Inbound]]:
    """Commit ``items``; return the (merged) result and the items that were committed."""
    delay = _RETRY_S
    while True:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return store.apply(items), items
            except Exception as err:  # noqa: BLE001 - any store failure: retry, then isolate
                logger.warning("ingest: apply of %d items failed (try %d): %s", len(items), attempt, err)
                if wait_collecting(stop, _RETRY_S):
                    raise Stopped from err
        merged, done = ApplyResult(), []
        failed: list[tuple[Inbound, Exception]] = []
        for item in items:
            try:
                _merge(merged, store.apply([item]))
                done.append(item)
            except Exception as err:  # noqa: BLE001 - judged below: poison or store down
                failed.append((item, err))
        if done or not _store_down(failed[0][1]):
            for item, why in failed:
                payload = encode(item.message, max_bytes=2**31)
                quarantine.add(str(item.topic), payload, "store_error", str(why))
            return merged, done
        logger.error("ingest: the store refuses every message (%s); retrying in %.0f s", failed[0][1], delay)
        if wait_collecting(stop, delay):
            raise Stopped
        delay = min(delay * 2, _MAX_BACKOFF_S)
