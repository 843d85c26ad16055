"""Reads of the current state from the writer's memory (cameras per state, open intervals, recent changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from aggregator.days import from_ms
from aggregator.geography import Geography
from aggregator.states import N_STATES, STATES
from aggregator.store.memory import REASONS, StoreMemory
from protocol import CameraState, Reason

__all__ = ["LiveView"]


class LiveView:
    """Reads of the writer's memory for the API, the feed and rollups of windows ending now.

    ``state_counts`` needs no lock; the others are read under the writer's lock by callers
    that want memory and database at one instant (:func:`aggregator.store.rollups.rollup_totals`).
    """

    def __init__(self, memory: StoreMemory, geography: Geography) -> None:
        self.memory = memory
        self.geography = geography

    def state_counts(self) -> dict[str, list[int]]:
        """Cameras per state (list in STATES order) per district right now, kept incrementally."""
        # list() copies the items in one C call (no thread switch), so the writer adding a
        # district meanwhile cannot break the iteration; API threads call this without the lock
        return {district: list(counts) for district, counts in list(self.memory.counts.items())}

    def _site_mask(self, level: str, key: str | None) -> np.ndarray[Any, Any] | None:
        """Sites of one nation/province/district/agency/site, as a mask over site ids (None = all)."""
        if level == "nation":
            return None
        attribute = {"province": "province", "district": "district", "agency": "agency", "site": "site_id"}[level]
        chosen = np.zeros(max(self.memory.sites, default=0) + 1, dtype=np.bool_)
        for site in self.memory.sites.values():
            if getattr(site, attribute) == key:
                chosen[site.id] = True
        return chosen

    def _camera_mask(self, level: str, key: str | None) -> np.ndarray[Any, Any] | None:
        """Cameras of one level, as a mask over camera row ids (None = all)."""
        chosen = self._site_mask(level, key)
        if chosen is None:
            return None
        mask: np.ndarray[Any, Any] = chosen[self.memory.cols.view("site", self.memory.cols.n)]
        return mask

    def changes(self, level: str, key: str | None, lo: int, hi: int) -> list[tuple[int, int, int, int]] | None:
        """Transitions in ``[lo, hi)`` aggregated as ``(old, new, how_many, sum_of_at)`` from the
        recent log, or None when ``lo`` is older than the log keeps."""
        if lo < self.memory.recent.horizon:
            return None
        return self.memory.recent.changes(self._site_mask(level, key), lo, hi)

    def counts_now(self, level: str, key: str | None) -> list[int]:
        """Cameras per state now for one level (the caller holds ``lock`` for a consistent read)."""
        if level in ("nation", "province", "district"):
            out = [0] * N_STATES
            for district, counts in self.memory.counts.items():
                if level == "nation" or (level == "district" and district == key) or (
                    level == "province" and self.geography.districts.get(district) is not None
                    and self.geography.districts[district].province == key
                ):  # fmt: skip
                    out = [a + b for a, b in zip(out, counts, strict=True)]
            return out
        n = self.memory.cols.n
        st = self.memory.cols.view("state", n)
        mask = self._camera_mask(level, key)
        chosen = st[(st >= 0) & mask] if mask is not None else st[st >= 0]
        return [int(v) for v in np.bincount(chosen.astype(np.int64), minlength=N_STATES)[:N_STATES]]

    def open_ms(self, level: str, key: str | None, start_ms: int, end_ms: int) -> list[int]:
        """Milliseconds in each state over ``[start_ms, end_ms)`` of the cameras' open intervals
        (their current state since their last transition row), for one level."""
        n = self.memory.cols.n
        st = self.memory.cols.view("state", n)
        tail = self.memory.cols.view("tail", n)
        mask = self._camera_mask(level, key)
        valid = (st >= 0) if mask is None else (st >= 0) & mask
        lo = np.maximum(tail[valid], start_ms)
        dur = np.clip(end_ms - lo, 0, None)
        sums = np.bincount(st[valid].astype(np.int64), weights=dur.astype(np.float64), minlength=N_STATES)
        return [int(v) for v in sums[:N_STATES]]

    def site_last_seen_ms(self, site_id: str) -> int | None:
        """The site's last_seen in the writer's memory (ms), or None."""
        site = self.memory.site_by_name.get(site_id)
        return site.last_seen_ms or None if site is not None else None

    def current(self, site_id: str, camera_id: str) -> tuple[CameraState, Reason, datetime] | None:
        """The current (state, reason, since) of one camera, or None if unknown."""
        site = self.memory.site_by_name.get(site_id)
        cam = site.cameras.get(camera_id) if site else None
        c = self.memory.cols
        if cam is None or c.state[cam] < 0:
            return None
        return STATES[c.state[cam]], REASONS[c.reason[cam]], from_ms(int(c.since[cam]))
