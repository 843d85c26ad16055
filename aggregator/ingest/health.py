"""What /healthz and /metrics read about ingest: why it cannot be trusted now, and its counters.

Why apart from :mod:`aggregator.ingest.consumer`: these are read from the API's thread while the
writer runs, and their limits (how old an unacknowledged delivery may get, how many failed commits
make a failing writer) are operating policy, not the writer's work. The functions take what they
read explicitly, so none of them reaches into the Ingest's private state.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from aggregator.ingest.commit import CommitHealth

__all__ = ["UNACKED_AGE_LIMIT_S", "health_reasons", "ingest_stats", "unacked_age_s"]

# /healthz turns 503 when a delivery waits longer than this: a batch commits in well under a
# second, so a minute means the writer is stuck (or the store is down), not busy.
UNACKED_AGE_LIMIT_S = 60.0
# Failed whole-batch commits in a row before health says the writer is failing (one failure
# is a checkpoint holding the lock; three are not).
_ATTEMPTS_BEFORE_UNHEALTHY = 3


class _Received(Protocol):
    @property
    def received_at(self) -> datetime: ...


_D = TypeVar("_D", bound=_Received)


def unacked_age_s(in_work_since: datetime | None, pending: queue.Queue[_D], now: datetime) -> float:
    """Age of the oldest delivery received and not yet acknowledged (0 when none waits): the
    oldest of the batch in the writer's hands (``in_work_since``) and the head of its queue."""
    oldest = in_work_since
    with pending.mutex:  # peek at the head without taking it
        if pending.queue:
            head = pending.queue[0].received_at
            oldest = head if oldest is None else min(oldest, head)
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest).total_seconds())


def health_reasons(
    *, connected: bool, broker: tuple[str, int], commits: CommitHealth, failing_cycles: int, unacked_s: float
) -> list[str]:
    """Why ingest cannot be trusted right now, one reason each; empty when it can."""
    reasons = []
    if not connected:
        host, port = broker
        reasons.append(f"ingest_disconnected: not connected to the broker {host}:{port}")
    if commits.failed_in_a_row >= _ATTEMPTS_BEFORE_UNHEALTHY or failing_cycles:
        reasons.append(f"writer_failing: the last {max(commits.failed_in_a_row, failing_cycles)} "
                       "commits failed")  # fmt: skip
    if unacked_s > UNACKED_AGE_LIMIT_S:
        reasons.append(f"ingest_stalled: the oldest unacknowledged delivery is {unacked_s:.0f} s old "
                       f"(limit {UNACKED_AGE_LIMIT_S:.0f} s)")  # fmt: skip
    return reasons


def ingest_stats(
    counters: Mapping[str, int], *, quarantined: int, queue_depth: int, lag_s: float, gaps: int, late_wills: int,
    connected: bool, commits: CommitHealth, unacked_s: float,
) -> dict[str, int | float]:  # fmt: skip
    """Counters for /metrics: the writer's ``counters`` (received, committed, dropped, duplicates,
    rebirths, acks, isolated, unknown_cameras), then the quarantine's count (no database read
    from the caller's thread), the queue depth, the last receive-to-commit lag, the sessions'
    gaps and late wills, the connection, the commits that failed or were refused, the oldest
    unacknowledged delivery's age."""
    out: dict[str, int | float] = dict(counters)
    out["quarantined"] = quarantined
    out["queue_depth"] = queue_depth
    out["lag_s"] = round(lag_s, 3)
    out["gaps"] = gaps
    out["late_wills"] = late_wills
    out["connected"] = int(connected)
    out["commits_failed"] = commits.failed_total
    out["store_rejected"] = commits.isolated_total
    out["oldest_unacked_s"] = round(unacked_s, 3)
    return out
