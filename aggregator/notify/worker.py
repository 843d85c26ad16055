"""A sender thread per channel: take due deliveries from the log, send, record, back off.

A recipient that answers "too many requests" with a Retry-After (LINE's 429) pauses the
whole channel for that long: the limit is the channel's (one access token), not one
recipient's, so trying the next delivery at once would only be refused again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aggregator.notify.deliveries import Backoff, Delivery, DeliveryLog
from aggregator.notify.webhook import DeliveryError

__all__ = ["DeliveryWorker", "utcnow"]

logger = logging.getLogger(__name__)

# An idle worker looks at the log this often even without a wake-up, so a delivery written
# by another process (or whose wake-up was missed) waits at most this long.
_IDLE_POLL_S = 5.0


def utcnow() -> datetime:
    """The current time, aware, UTC."""
    return datetime.now(UTC)


class DeliveryWorker:
    """Send the due deliveries of one channel; a recipient failing is skipped for the pass."""

    def __init__(
        self,
        channel: str,
        log: DeliveryLog,
        send: Callable[[Delivery, datetime], None],
        backoff: Backoff,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.channel = channel
        self._log = log
        self._send = send
        self._backoff = backoff
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused_until: datetime | None = None
        self.counts = {"sent": 0, "failed": 0, "dead": 0}

    def run_once(self, now: datetime) -> int:
        """Attempt every delivery due at ``now``; return how many were attempted."""
        attempted = 0
        if self.paused_until is not None and now < self.paused_until:
            return 0
        failing: set[str] = set()
        while True:
            batch = [d for d in self._log.due(self.channel, now) if d.recipient not in failing]
            if not batch:
                return attempted
            for delivery in batch:
                if delivery.recipient in failing:
                    continue
                attempted += 1
                try:
                    self._send(delivery, now)
                except DeliveryError as err:
                    failing.add(delivery.recipient)
                    self.counts["failed"] += 1
                    dead = self._log.mark_failed(delivery, now, str(err), self._backoff,
                                                 retry_after_s=err.retry_after_s, permanent=err.permanent)
                    if dead:
                        self.counts["dead"] += 1
                        logger.error("%s: %s delivery to route %s given up: %s",
                                     delivery.key, self.channel, delivery.route_id, err)
                    else:
                        logger.warning("%s: %s delivery to route %s failed (attempt %d): %s",
                                       delivery.key, self.channel, delivery.route_id,
                                       delivery.attempts + 1, err)
                    if err.retry_after_s is not None:
                        self.paused_until = now + timedelta(seconds=err.retry_after_s)
                        logger.warning("%s: channel paused %.0f s as the recipient asked (Retry-After)",
                                       self.channel, err.retry_after_s)
                        return attempted
                else:
                    self._log.mark_sent(delivery, now)
                    self.counts["sent"] += 1
            now = self._clock() if self._thread is not None else now

    def wake(self) -> None:
        """Look at the log now (a delivery was just written)."""
        self._wake.set()

    def start(self) -> None:
        """Run in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name=f"camwatch-{self.channel}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the attempt in progress (each has its own network timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(self._clock())
                due = self._log.next_due(self.channel)
            except Exception:  # noqa: BLE001 - a sender thread must outlive one bad row
                logger.exception("%s: delivery pass failed", self.channel)
                due = None
            wait = _IDLE_POLL_S
            if self.paused_until is not None and (due is None or due < self.paused_until):
                due = self.paused_until
            if due is not None:
                wait = min(wait, max((due - self._clock()).total_seconds(), 0.0))
            self._wake.wait(wait)
            self._wake.clear()
