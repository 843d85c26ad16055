"""The last days of transitions in memory, so rollups of recent windows read no SQLite rows."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import numpy as np

from aggregator.days import day_of, day_start
from aggregator.states import N_STATES

__all__ = ["RECENT_DAYS", "RecentLog"]

# Days of transitions kept in memory for rollups: a 30-day window's first partial day included.
RECENT_DAYS = 32


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

    def remove(self, row_id: int, at: int) -> None:
        """Mirror ``DELETE FROM transitions`` of a kept row (a supposed silence undone: store.gapfill)."""
        bucket = self.days.get(day_of(at))
        if bucket is None:
            return
        ids = np.frombuffer(bucket[0], dtype=np.int64)
        i = int(np.searchsorted(ids, row_id))
        found = i < len(ids) and int(ids[i]) == row_id
        del ids  # the buffer export must end before the arrays shrink
        if found:
            for column in bucket:
                column.pop(i)

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
