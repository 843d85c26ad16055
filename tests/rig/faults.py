"""Helpers for fault tests: a simulated clock, a database with geography, a service on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from aggregator.faults.service import FaultService
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Transition
from protocol import CameraState, Reason

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok


class SimClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def database(tmp_path: Path) -> Callable[[], Database]:
    """A file database with every migration and the real geography; returns a connector."""
    path = tmp_path / "camwatch.db"
    load_geography(open_db(path))
    return lambda: open_db(path)


def service(tmp_path: Path, clock: SimClock, **kwargs: Any) -> FaultService:
    """A FaultService on a fresh database, driven by ``clock`` (not started)."""
    return FaultService(database(tmp_path), clock=clock, **kwargs)


def cam(at: datetime, camera: str, new: CameraState, reason: Reason = Reason.NONE, *,
        site: str = "s1", district: str = "1001", historical: bool = False) -> Transition:
    return Transition(site, district[:2], district, camera, None, new, reason, at, historical)


def site(at: datetime, new: CameraState, *, name: str = "s1", district: str = "1001") -> Transition:
    reason = Reason.SITE_OFFLINE if new is CameraState.UNKNOWN else Reason.NONE
    return Transition(name, district[:2], district, None, None, new, reason, at, False)
