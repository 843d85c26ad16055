"""The writer's in-memory state: reason codes, per-site records, compact camera columns, and
:class:`StoreMemory`, the one object that holds them for the timeline, the flusher and the live view.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from aggregator.store import registry
from aggregator.store.recent import RecentLog
from protocol import Reason

__all__ = [
    "NEVER",
    "NO_STATE",
    "REASONS",
    "REASON_BY_VALUE",
    "REASON_CODE",
    "REASON_VALUES",
    "CameraColumns",
    "SiteRecord",
    "StoreMemory",
]

REASONS: tuple[Reason, ...] = tuple(Reason)
REASON_CODE: dict[Reason, int] = {r: i for i, r in enumerate(REASONS)}
REASON_VALUES: tuple[str, ...] = tuple(r.value for r in REASONS)
REASON_BY_VALUE: dict[str, int] = {r.value: i for i, r in enumerate(REASONS)}
NO_STATE = -1  # the camera did not exist yet
NEVER = -(2**62)


class SiteRecord:
    """One site as the writer keeps it: its ``sites`` row and its cameras' row ids by camera id."""

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


class StoreMemory:
    """What the writer knows now, shared by its parts (each is handed this object).

    ``checkpoint`` is the last Bangkok midnight rolled into the daily totals; ``counts`` the
    cameras per state per district (lists in :data:`aggregator.states.STATES` order);
    ``history_from_ms`` the first kept instant of camera detail (:mod:`aggregator.store.retention`);
    ``birth_ms`` the ts of the last birth applied per site row, so a redelivered old birth
    is recognised even after a restart.
    """

    __slots__ = ("birth_ms", "checkpoint", "cols", "counts", "history_from_ms", "recent", "site_by_name", "sites")

    def __init__(
        self, checkpoint: int, cols: CameraColumns, sites: dict[int, SiteRecord], counts: dict[str, list[int]],
        recent: RecentLog, history_from_ms: int, birth_ms: dict[int, int],
    ) -> None:  # fmt: skip
        self.checkpoint = checkpoint
        self.cols = cols
        self.sites = sites
        self.site_by_name: dict[str, SiteRecord] = {site.site_id: site for site in sites.values()}
        self.counts = counts
        self.recent = recent
        self.history_from_ms = history_from_ms
        self.birth_ms = birth_ms

    def add_site(self, site: SiteRecord) -> None:
        """Know a site registered after loading."""
        self.sites[site.id] = site
        self.site_by_name[site.site_id] = site
