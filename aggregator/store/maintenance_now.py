"""Cameras per state *now* as operators see them: a camera under an active maintenance window
counts as maintenance, whatever it last reported.

The writer's counts (``StateStore.state_counts``) stay the cameras' reported states: the
availability maths integrates those exactly and moves window time itself
(:mod:`aggregator.store.rollups`). Only what is shown as "cameras per state now" (the nation and
area summaries, the live feed's rollups, /metrics) is adjusted here, by
:func:`adjust_counts`. Cost: with no active window (the common case) one read of the small
windows table; with active windows, a whole district is moved in one step, and a covered
site or camera id costs one look-up plus a step per covered camera, never a national scan.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlite_utils import Database

from aggregator.states import MAINTENANCE, N_STATES
from aggregator.store.db import connect
from aggregator.store.maintenance import MaintenanceWindow, TargetKind, load_windows

__all__ = [
    "ActiveCover",
    "CoveredCamera",
    "DbCameras",
    "LiveCameras",
    "MaintenanceNow",
    "active_cover",
    "adjust_counts",
    "counts_now",
    "stored_counts",
]

logger = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class ActiveCover:
    """The targets under planned work at one instant, and the windows that put them there."""

    districts: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    cameras: frozenset[str] = frozenset()
    window_ids: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.window_ids)


def active_cover(windows: Iterable[MaintenanceWindow], now: datetime) -> ActiveCover:
    """Which districts, sites and camera ids the windows cover at ``now``."""
    found: dict[TargetKind, set[str]] = {kind: set() for kind in TargetKind}
    ids: set[int] = set()
    for w in windows:
        if w.covering(now) is not None:
            found[w.target_kind].add(w.target_id)
            ids.add(w.id)
    return ActiveCover(frozenset(found[TargetKind.DISTRICT]), frozenset(found[TargetKind.SITE]),
                       frozenset(found[TargetKind.CAMERA]), frozenset(ids))  # fmt: skip


class CoveredCamera(NamedTuple):
    """A camera found under a site or camera window, with its current state code."""

    row: int
    site_id: str
    district: str
    state: int


class CameraSource(Protocol):
    """Where the cameras of a covered site or camera id are found, with their state now."""

    def of_site(self, site_id: str) -> Iterable[CoveredCamera]: ...

    def named(self, camera_id: str) -> Iterable[CoveredCamera]: ...


class DbCameras:
    """Cameras and their states from the database (API readers without the writer in-process)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    _SQL = ("SELECT c.id, s.site_id, s.district, st.state FROM camera_inventory c JOIN sites s ON s.id = c.site "
            "JOIN camera_state st ON st.camera = c.id WHERE ")  # fmt: skip

    def of_site(self, site_id: str) -> Iterator[CoveredCamera]:
        """The cameras of one site (through the sites' unique site_id)."""
        for row in self._db.execute(self._SQL + "s.site_id = ?", [site_id]):
            yield CoveredCamera(int(row[0]), str(row[1]), str(row[2]), int(row[3]))

    def named(self, camera_id: str) -> Iterator[CoveredCamera]:
        """The cameras with this id (through the camera id index)."""
        for row in self._db.execute(self._SQL + "c.camera_id = ?", [camera_id]):
            yield CoveredCamera(int(row[0]), str(row[1]), str(row[2]), int(row[3]))


class LiveCameras:
    """Cameras and their states from the writer's memory (the same source as its counts); a
    camera id is looked up through the database's camera id index, memory has no such index."""

    def __init__(self, store: Any, db: Database) -> None:
        self._store = store
        self._db = db

    def of_site(self, site_id: str) -> Iterator[CoveredCamera]:
        """The cameras of one site, from memory."""
        site = self._store.site_by_name.get(site_id)
        if site is None:
            return
        state = self._store.cols.state
        for row in list(site.cameras.values()):
            yield CoveredCamera(row, site.site_id, site.district, int(state[row]))

    def named(self, camera_id: str) -> Iterator[CoveredCamera]:
        """The cameras with this id: rows from the index, site and state from memory."""
        cols, sites = self._store.cols, self._store.sites
        for (row,) in self._db.execute("SELECT id FROM camera_inventory WHERE camera_id = ?", [camera_id]).fetchall():
            if row >= cols.n or (site := sites.get(int(cols.site[row]))) is None:
                continue  # written by the store after this reader's snapshot of memory: next time
            yield CoveredCamera(int(row), site.site_id, site.district, int(cols.state[row]))


def adjust_counts(
    counts: dict[str, list[int]], cover: ActiveCover, cameras: CameraSource
) -> dict[str, list[int]]:
    """Cameras per state per district with every camera ``cover`` covers counted as maintenance.

    A camera covered by its district's, its site's and its own window is moved once. The
    counts and the cameras' states are read a moment apart without the writer's lock (as the
    counts themselves are), so a move never takes a state below zero: a camera that changed
    in between is right again on the next read.
    """
    out = {district: list(values) for district, values in counts.items()}
    if not cover:
        return out
    for district in cover.districts:
        values = out.get(district)
        if values is not None:
            out[district] = [0, 0, 0, 0, sum(values)]
    moved: set[int] = set()

    def move(found: Iterable[CoveredCamera]) -> None:
        for cam in found:
            if cam.row in moved or cam.district in cover.districts:
                continue
            moved.add(cam.row)
            values = out.get(cam.district)
            if values is not None and 0 <= cam.state < MAINTENANCE and values[cam.state] > 0:
                values[cam.state] -= 1
                values[MAINTENANCE] += 1

    for site_id in sorted(cover.sites):
        move(cameras.of_site(site_id))
    for camera_id in sorted(cover.cameras):
        move(cam for cam in cameras.named(camera_id) if cam.site_id not in cover.sites)
    return out


def stored_counts(db: Database) -> dict[str, list[int]]:
    """Cameras per state per district as last stored (``camera_state``), as reported."""
    out: dict[str, list[int]] = {}
    for district, state, n in db.execute(
        "SELECT s.district, st.state, COUNT(*) FROM camera_state st JOIN camera_inventory c ON c.id = st.camera "
        "JOIN sites s ON s.id = c.site GROUP BY s.district, st.state"
    ):
        out.setdefault(district, [0] * N_STATES)[int(state)] += int(n)
    return out


def counts_now(db: Database, store: Any = None, now: datetime | None = None) -> dict[str, list[int]]:
    """Cameras per state per district now as operators see them: from the writer's memory
    when ``store`` is in-process (else from ``db``), cameras under active windows as maintenance."""
    counts = store.state_counts() if store is not None else stored_counts(db)
    cover = active_cover(load_windows(db), now or datetime.now(UTC))
    if not cover:
        return counts
    return adjust_counts(counts, cover, LiveCameras(store, db) if store is not None else DbCameras(db))


class MaintenanceNow:
    """The adjustment for a long-lived reader of the writer's counts (the live feed).

    Reads the windows through its own connection, opened on first use (``connect``), one
    caller at a time: the feed calls it from the ingest and silence-watch threads.
    """

    def __init__(self, connect: Callable[[], Database], store: Any = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:  # fmt: skip
        self._connect = connect
        self._store = store
        self._clock = clock
        self._db: Database | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, store: Any) -> MaintenanceNow | None:
        """An adjustment reading the store's database file through a connection of its own
        (None for an in-memory database: nothing else can read it)."""
        try:
            files = [str(row[2]) for row in store.db.execute("PRAGMA database_list") if row[1] == "main"]
        except (AttributeError, sqlite3.Error) as err:
            logger.warning("maintenance-now: no database to read windows from (%s)", err)
            return None
        if not files or not files[0]:
            return None
        path = files[0]

        def reader() -> Database:
            db = connect(path)
            db.execute("PRAGMA query_only = ON")
            return db

        return cls(reader, store)

    def cover(self) -> ActiveCover:
        """The windows active now."""
        with self._lock:
            return active_cover(load_windows(self._reader()), self._clock())

    def __call__(self, counts: dict[str, list[int]]) -> dict[str, list[int]]:
        """``counts`` with the cameras under active windows as maintenance."""
        with self._lock:
            db = self._reader()
            cover = active_cover(load_windows(db), self._clock())
            if not cover:
                return counts
            source: CameraSource = LiveCameras(self._store, db) if self._store is not None else DbCameras(db)
            return adjust_counts(counts, cover, source)

    def _reader(self) -> Database:
        if self._db is None:
            self._db = self._connect()
        return self._db

    def close(self) -> None:
        """Close the connection, if one was opened."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
