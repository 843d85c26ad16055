"""Live feed: state changes and rollup updates for Server-Sent Events clients.

The ingest writer calls :meth:`Feed.on_applied` after every commit; it must never wait for
a client. Each client has a bounded buffer: when a slow client's buffer is full it is
emptied and the client is flagged, so its stream says ``overflow`` and then sends a fresh
``snapshot`` (resynchronised) instead of blocking the publisher or growing without bound.
Rollup updates (cameras per state per province) go out at most once per
:data:`ROLLUP_INTERVAL_S` for the provinces that changed. Cameras under an active
maintenance window count as maintenance in them (:mod:`aggregator.store.maintenance_now`), and
when a window starts or ends every province's rollup goes out again with the next commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from aggregator.days import from_ms
from aggregator.states import N_STATES, STATE_NAMES
from aggregator.store.maintenance_now import ActiveCover, MaintenanceNow

__all__ = ["DEFAULT_BUFFER", "ROLLUP_INTERVAL_S", "Feed", "FeedClient", "FeedEvent", "format_sse"]

# Enough for a burst of a few thousand changes (a site outage is 64 events) yet bounded:
# a stalled browser costs at most this many small dicts.
DEFAULT_BUFFER = 2000
# Dashboards redraw province tiles at most once a second; faster is wasted work.
ROLLUP_INTERVAL_S = 1.0

logger = logging.getLogger(__name__)


class Maintenance(Protocol):
    """Counts cameras under active maintenance windows as maintenance (``MaintenanceNow``)."""

    def __call__(self, counts: dict[str, list[int]]) -> dict[str, list[int]]: ...

    def cover(self) -> ActiveCover: ...


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One SSE event: its name, the province it concerns (None = national) and its data."""

    kind: str
    province: str | None
    data: dict[str, Any]


def format_sse(event: FeedEvent) -> str:
    """The event in text/event-stream framing."""
    return f"event: {event.kind}\ndata: {json.dumps(event.data, separators=(',', ':'), ensure_ascii=False)}\n\n"


class FeedClient:
    """One subscriber's bounded buffer; ``offer`` is safe from any thread and never blocks."""

    def __init__(self, provinces: frozenset[str] | None, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.provinces = provinces
        self._loop = loop
        self._size = size
        self._items: deque[FeedEvent] = deque()
        self._lock = threading.Lock()
        self._overflowed = False
        self._wake = asyncio.Event()
        self.dropped = 0

    def wants(self, province: str | None) -> bool:
        """Whether this client subscribed to ``province``."""
        return self.provinces is None or province is None or province in self.provinces

    def offer(self, event: FeedEvent) -> None:
        """Queue ``event``; on overflow drop the buffer and flag a resync."""
        with self._lock:
            was_empty = not self._items and not self._overflowed
            if len(self._items) >= self._size:
                self.dropped += len(self._items) + 1
                self._items.clear()
                self._overflowed = True
            else:
                self._items.append(event)
        if was_empty:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the client's loop is closed: it is going away
                pass

    async def take(self, timeout: float) -> tuple[list[FeedEvent], bool]:
        """Wait up to ``timeout`` s; return the queued events and whether the client overflowed."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return [], False
        with self._lock:
            self._wake.clear()
            items = list(self._items)
            self._items.clear()
            overflowed, self._overflowed = self._overflowed, False
        return items, overflowed


class Feed:
    """Fan-out of state changes and rollups to SSE clients.

    ``counts`` returns cameras per state per district now (``StateStore.state_counts``);
    ``maintenance`` moves the cameras under active windows to maintenance. Given the store's
    own ``state_counts`` (the service's wiring) and no ``maintenance``, the feed reads the
    windows through a connection of its own on the store's database file.
    """

    def __init__(
        self, counts: Callable[[], dict[str, list[int]]], *, buffer: int = DEFAULT_BUFFER,
        clock: Callable[[], float] = time.monotonic, maintenance: Maintenance | None = None,
    ) -> None:  # fmt: skip
        self._counts = counts
        store = getattr(counts, "__self__", None)
        # the site's last_seen as the store's writer knows it: the figure the API shows too
        self._last_seen: Callable[[str], int | None] | None = getattr(store, "site_last_seen_ms", None)
        if maintenance is None and store is not None and hasattr(store, "site_by_name"):
            maintenance = MaintenanceNow.for_store(store)
        self._maintenance = maintenance
        self._windows: frozenset[int] = frozenset()  # the windows active at the last check
        self._all_changed = False  # a window started or ended: every province's rollup is due
        self._last_check = float("-inf")
        self._buffer = buffer
        self._clock = clock
        self._clients: list[FeedClient] = []
        self._lock = threading.Lock()
        self._changed: set[str] = set()
        self._last_rollup = 0.0
        self.published = 0

    def subscribe(self, provinces: Iterable[str] | None, loop: asyncio.AbstractEventLoop) -> FeedClient:
        """A new client for ``provinces`` (None = all)."""
        client = FeedClient(frozenset(provinces) if provinces is not None else None, loop, self._buffer)
        with self._lock:
            self._clients.append(client)
        return client

    def unsubscribe(self, client: FeedClient) -> None:
        """Forget ``client``."""
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)

    @property
    def clients(self) -> int:
        """How many clients are connected."""
        return len(self._clients)

    def snapshot(self, provinces: frozenset[str] | None) -> FeedEvent:
        """Cameras per state per province now (for a new or resynchronised client)."""
        per_province = self._province_counts(None)
        if provinces is not None:
            per_province = {p: c for p, c in per_province.items() if p in provinces}
        return FeedEvent("snapshot", None, {"provinces": {p: dict(zip(STATE_NAMES, c, strict=True))
                                                          for p, c in sorted(per_province.items())}})  # fmt: skip

    def _district_counts(self) -> dict[str, list[int]]:
        counts = self._counts()
        if self._maintenance is None:
            return counts
        try:
            return self._maintenance(counts)
        except sqlite3.Error as err:  # the windows could not be read: show the reported states
            logger.warning("feed: maintenance windows not read (%s); rollups show reported states", err)
            return counts

    def _province_counts(self, only: set[str] | None) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for district, counts in self._district_counts().items():
            province = district[:2]  # DOPA: a district code starts with its province's
            if only is not None and province not in only:
                continue
            acc = out.setdefault(province, [0] * N_STATES)
            for i, n in enumerate(counts):
                acc[i] += n
        return out

    def on_applied(self, result: Any) -> None:
        """Publish a committed batch's transitions (an ``ApplyResult``); never blocks."""
        events = []
        seen: dict[str, str | None] = {}
        for t in result.transitions:
            self._changed.add(t.province)
            if t.site not in seen:
                ms = self._last_seen(t.site) if self._last_seen is not None else None
                seen[t.site] = from_ms(ms).isoformat() if ms is not None else None
            events.append(FeedEvent("state", t.province, {
                "site": t.site, "province": t.province, "district": t.district, "camera_id": t.camera_id,
                "old": t.old_state.value if t.old_state else None, "new": t.new_state.value,
                "reason": t.reason.value, "at": t.at.isoformat(), "historical": t.historical,
                "last_seen": seen[t.site],
            }))  # fmt: skip
        self.publish(events)
        now = self._clock()
        if now - self._last_rollup < ROLLUP_INTERVAL_S:
            return
        if now - self._last_check >= ROLLUP_INTERVAL_S:  # one read of the windows a second at most
            self._last_check = now
            self._all_changed = self._all_changed or self._windows_changed()
        if self._changed or self._all_changed:
            changed = None if self._all_changed else self._changed
            self._changed, self._all_changed = set(), False
            self._last_rollup = now
            self.publish(
                FeedEvent("rollup", p, {"province": p, "states": dict(zip(STATE_NAMES, c, strict=True))})
                for p, c in sorted(self._province_counts(changed).items())
            )

    def _windows_changed(self) -> bool:
        """Whether a maintenance window started or ended since the last rollup (then every
        province's counts may have moved without any camera reporting a change)."""
        if self._maintenance is None:
            return False
        try:
            ids = self._maintenance.cover().window_ids
        except sqlite3.Error as err:
            logger.warning("feed: maintenance windows not read (%s)", err)
            return False
        changed, self._windows = ids != self._windows, ids
        return changed

    def publish(self, events: Iterable[FeedEvent]) -> None:
        """Offer each event to the clients that want its province."""
        with self._lock:
            clients = list(self._clients)
        for event in events:
            self.published += 1
            for client in clients:
                if client.wants(event.province):
                    client.offer(event)
