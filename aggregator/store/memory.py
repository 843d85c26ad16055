"""The writer's in-memory state: state codes, per-site records, compact camera columns, live reads.

Kept apart from :mod:`aggregator.store.state` (the writing) so the memory layout and the read side
the API uses under the store's lock are in one place.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

import numpy as np

from aggregator.days import day_of, day_start, from_ms
from aggregator.geography import Geography
from aggregator.store import registry
from protocol import CameraState, Reason

__all__ = [
    "NEVER",
    "RECENT_DAYS",
    "NO_STATE",
    "REASONS",
    "REASON_BY_VALUE",
    "REASON_CODE",
    "REASON_VALUES",
    "STATES",
    "STATE_CODE",
    "CameraColumns",
    "LiveView",
    "RecentLog",
    "SiteRecord",
]

N_STATES = 5
# Days of transitions kept in memory for rollups: a 30-day window's first partial day included.
RECENT_DAYS = 32
STATES: tuple[CameraState, ...] = (
    CameraState.UP, CameraState.DEGRADED, CameraState.DOWN, CameraState.UNKNOWN, CameraState.MAINTENANCE,
)  # fmt: skip
STATE_CODE: dict[CameraState, int] = {s: i for i, s in enumerate(STATES)}
REASONS: tuple[Reason, ...] = tuple(Reason)
REASON_CODE: dict[Reason, int] = {r: i for i, r in enumerate(REASONS)}
REASON_VALUES: tuple[str, ...] = tuple(r.value for r in REASONS)
REASON_BY_VALUE: dict[str, int] = {r.value: i for i, r in enumerate(REASONS)}
NO_STATE = -1  # the camera did not exist yet
NEVER = -(2**62)


class SiteRecord:
    __slots__ = (
        "agency", "agent_version", "bd_seq", "cameras", "district", "id", "interval_s", "last_event_id",
        "last_seen_ms", "lat", "lon", "name", "online", "province", "site_id",
    )  # fmt: skip

    def __init__(self, row: registry.SiteRow) -> None:
        self.id = row.id
        self.site_id = row.site_id
        self.province = row.province
        self.district = row.district
        self.name = row.name
        self.lat = row.lat
        self.lon = row.lon
        self.agency = row.agency
        self.agent_version = row.agent_version
        self.bd_seq = row.bd_seq
        self.last_event_id = row.last_event_id
        self.last_seen_ms = row.last_seen_ms or 0
        self.interval_s = row.heartbeat_interval_s
        self.online = row.online
        self.cameras: dict[str, int] = {}

    def row(self) -> tuple[object, ...]:
        return (
            self.name, self.lat, self.lon, self.agency, self.agent_version, self.bd_seq,
            self.last_event_id, self.last_seen_ms, self.interval_s, int(self.online), self.id,
        )  # fmt: skip


class CameraColumns:
    """Current state of every camera, indexed by camera row id (0 unused).

    ``array.array`` columns: item access returns plain ints (several times faster than
    numpy scalars on the per-event path) while :meth:`view` gives numpy views for the
    vectorised midnight roll and counts. Growth builds new arrays instead of resizing, so a
    reader's view of the old ones stays valid.
    """

    _SPEC = (("state", "b", NO_STATE), ("reason", "b", 0), ("since", "q", NEVER), ("tail", "q", NEVER),
             ("site", "l", 0), ("inv_hash", "q", 0), ("missing", "b", 0))  # fmt: skip

    def __init__(self, capacity: int) -> None:
        capacity = max(capacity, 1024)
        for name, code, fill in self._SPEC:
            setattr(self, name, array(code, [fill]) * capacity)
        self.state: array[int]
        self.reason: array[int]
        self.since: array[int]
        self.tail: array[int]
        self.site: array[int]
        self.inv_hash: array[int]
        self.missing: array[int]
        self.ids: list[str] = [""]
        self.n = 1  # next row id

    def grow(self) -> None:
        size = len(self.state)
        for name, code, fill in self._SPEC:
            new = array(code, getattr(self, name))
            new.extend(array(code, [fill]) * size)
            setattr(self, name, new)

    def view(self, name: str, n: int) -> np.ndarray[Any, Any]:
        """A numpy view of the first ``n`` items of column ``name``."""
        column = getattr(self, name)
        return np.frombuffer(column, dtype=np.dtype(column.typecode), count=n)


class RecentLog:
    """Transitions of the last :data:`RECENT_DAYS` Bangkok days in compact columns, one bucket a day.

    Rollups read a day's changes from here with numpy instead of scanning ~100,000 SQLite rows
    a day (every partial day of a window lies inside one day). About 22 bytes a row: a month
    of a million-camera country (~4M rows) is ~90 MiB. Rows are appended in id order, so a
    backfill's rewrite of the next row's ``old`` finds it by binary search in its day.
    """

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self.days: dict[int, tuple[array[int], array[int], array[int], array[int], array[int]]] = {}

    def append(self, row_id: int, site: int, at: int, old: int, new: int) -> None:
        """Keep one inserted transition (ignored when older than the horizon)."""
        if at < self.horizon:
            return
        day = day_of(at)
        bucket = self.days.get(day)
        if bucket is None:
            bucket = self.days[day] = (array("q"), array("q"), array("l"), array("b"), array("b"))
        ids, ats, sites, olds, news = bucket
        ids.append(row_id)
        ats.append(at)
        sites.append(site)
        olds.append(old)
        news.append(new)

    def extend(self, first_id: int, rows: Sequence[Sequence[Any]], day_column: int) -> None:
        """Keep rows inserted with consecutive ids from ``first_id``: store rows
        ``(camera, site, at, old, new, ...)`` carrying their day in ``day_column``, a column at
        a time per run of one day. The horizon is a midnight, so a day is kept whole or not at all."""
        if not rows:
            return
        days = [r[day_column] for r in rows]
        if days.count(days[0]) == len(days):  # the usual batch: one day
            runs = [(days[0], 0, len(rows))]
        else:
            runs, start = [], 0
            for day, group in groupby(days):
                stop = start + sum(1 for _ in group)
                runs.append((day, start, stop))
                start = stop
        for day, start, stop in runs:
            if day_start(day) < self.horizon:
                continue
            bucket = self.days.get(day)
            if bucket is None:
                bucket = self.days[day] = (array("q"), array("q"), array("l"), array("b"), array("b"))
            run = rows[start:stop]
            # a column at a time (zip(*run) would make one iterator object per row: work for the collector)
            bucket[0].extend(range(first_id + start, first_id + stop))
            bucket[1].extend([r[2] for r in run])
            bucket[2].extend([r[1] for r in run])
            bucket[3].extend([r[3] for r in run])
            bucket[4].extend([r[4] for r in run])

    def set_old(self, row_id: int, at: int, old: int) -> None:
        """Mirror ``UPDATE transitions SET old_state`` for a kept row (``at`` finds its day)."""
        bucket = self.days.get(day_of(at))
        if bucket is None:
            return
        ids = np.frombuffer(bucket[0], dtype=np.int64)
        i = int(np.searchsorted(ids, row_id))
        if i < len(ids) and int(ids[i]) == row_id:
            bucket[3][i] = old

    def prune(self, horizon: int) -> None:
        """Drop the days before the new ``horizon`` (a midnight)."""
        self.horizon = horizon
        for day in [d for d in self.days if day_start(d) < horizon]:
            del self.days[day]

    @property
    def rows(self) -> int:
        """How many transitions are kept."""
        return sum(len(b[0]) for b in self.days.values())

    def changes(self, sites: np.ndarray[Any, Any] | None, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
        """``(old, new, how_many, sum_of_at)`` of the kept rows in ``[lo, hi)`` at the chosen sites."""
        totals: dict[tuple[int, int], list[int]] = {}
        first, last = day_of(lo), day_of(hi - 1)
        for day, bucket in list(self.days.items()):
            if not first <= day <= last:
                continue
            at = np.frombuffer(bucket[1], dtype=np.int64)
            mask = (at >= lo) & (at < hi)
            if sites is not None:
                site = np.frombuffer(bucket[2], dtype=np.dtype("l"))
                mask &= sites[np.minimum(site, len(sites) - 1)]
            old = np.frombuffer(bucket[3], dtype=np.int8)[mask].astype(np.int64)
            new = np.frombuffer(bucket[4], dtype=np.int8)[mask].astype(np.int64)
            keys = (old + 1) * (N_STATES + 1) + (new + 1)
            size = (N_STATES + 1) ** 2
            counts = np.bincount(keys, minlength=size)
            # offsets from lo keep the float sums exact (< 2**53 ms)
            offsets = np.bincount(keys, weights=(at[mask] - lo).astype(np.float64), minlength=size)
            for k in np.nonzero(counts)[0].tolist():
                acc = totals.setdefault((k // (N_STATES + 1) - 1, k % (N_STATES + 1) - 1), [0, 0])
                acc[0] += int(counts[k])
                acc[1] += int(offsets[k])
        return [(o, n, c, off + c * lo) for (o, n), (c, off) in totals.items()]


class LiveView:
    """Reads of the current state for the API and feed (mixed into the StateStore)."""

    cols: CameraColumns
    sites: dict[int, SiteRecord]
    site_by_name: dict[str, SiteRecord]
    geography: Geography
    lock: threading.Lock
    recent: RecentLog
    _counts: dict[str, list[int]]

    def state_counts(self) -> dict[str, list[int]]:
        """Cameras per state (list in STATES order) per district right now, kept incrementally."""
        # list() copies the items in one C call (no thread switch), so the writer adding a
        # district meanwhile cannot break the iteration; API threads call this without the lock
        return {district: list(counts) for district, counts in list(self._counts.items())}

    def _site_mask(self, level: str, key: str | None) -> np.ndarray[Any, Any] | None:
        """Sites of one nation/province/district/agency/site, as a mask over site ids (None = all)."""
        if level == "nation":
            return None
        attribute = {"province": "province", "district": "district", "agency": "agency", "site": "site_id"}[level]
        chosen = np.zeros(max(self.sites, default=0) + 1, dtype=np.bool_)
        for site in self.sites.values():
            if getattr(site, attribute) == key:
                chosen[site.id] = True
        return chosen

    def _camera_mask(self, level: str, key: str | None) -> np.ndarray[Any, Any] | None:
        """Cameras of one level, as a mask over camera row ids (None = all)."""
        chosen = self._site_mask(level, key)
        if chosen is None:
            return None
        mask: np.ndarray[Any, Any] = chosen[self.cols.view("site", self.cols.n)]
        return mask

    def changes(self, level: str, key: str | None, lo: int, hi: int) -> list[tuple[int, int, int, int]] | None:
        """Transitions in ``[lo, hi)`` aggregated as ``(old, new, how_many, sum_of_at)`` from the
        recent log, or None when ``lo`` is older than the log keeps."""
        if lo < self.recent.horizon:
            return None
        return self.recent.changes(self._site_mask(level, key), lo, hi)

    def counts_now(self, level: str, key: str | None) -> list[int]:
        """Cameras per state now for one level (the caller holds ``lock`` for a consistent read)."""
        if level in ("nation", "province", "district"):
            out = [0] * N_STATES
            for district, counts in self._counts.items():
                if level == "nation" or (level == "district" and district == key) or (
                    level == "province" and self.geography.districts.get(district) is not None
                    and self.geography.districts[district].province == key
                ):  # fmt: skip
                    out = [a + b for a, b in zip(out, counts, strict=True)]
            return out
        n = self.cols.n
        st = self.cols.view("state", n)
        mask = self._camera_mask(level, key)
        chosen = st[(st >= 0) & mask] if mask is not None else st[st >= 0]
        return [int(v) for v in np.bincount(chosen.astype(np.int64), minlength=N_STATES)[:N_STATES]]

    def open_ms(self, level: str, key: str | None, start_ms: int, end_ms: int) -> list[int]:
        """Milliseconds in each state over ``[start_ms, end_ms)`` of the cameras' open intervals
        (their current state since their last transition row), for one level."""
        n = self.cols.n
        st = self.cols.view("state", n)
        tail = self.cols.view("tail", n)
        mask = self._camera_mask(level, key)
        valid = (st >= 0) if mask is None else (st >= 0) & mask
        lo = np.maximum(tail[valid], start_ms)
        dur = np.clip(end_ms - lo, 0, None)
        sums = np.bincount(st[valid].astype(np.int64), weights=dur.astype(np.float64), minlength=N_STATES)
        return [int(v) for v in sums[:N_STATES]]

    def current(self, site_id: str, camera_id: str) -> tuple[CameraState, Reason, datetime] | None:
        """The current (state, reason, since) of one camera, or None if unknown."""
        site = self.site_by_name.get(site_id)
        cam = site.cameras.get(camera_id) if site else None
        if cam is None or self.cols.state[cam] < 0:
            return None
        c = self.cols
        return STATES[c.state[cam]], REASONS[c.reason[cam]], from_ms(int(c.since[cam]))
