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
from aggregator.timetext import iso
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


def open_fault_rows(count: int, start: datetime, *, provinces: tuple[str, ...] = ("10", "50"),
                    first_id: int = 1) -> list[dict[str, Any]]:  # fmt: skip
    """``count`` open camera faults opened a minute apart from ``start`` (oldest has the lowest id
    of its province), spread over ``provinces`` (district ``<province>01``) and their sites: rows for
    the ``faults`` table, to build a national queue without running the engine for each."""
    rows = []
    for n in range(count):
        province = provinces[n % len(provinces)]
        opened = iso(start + timedelta(minutes=n))
        rows.append({
            "id": first_id + n, "kind": "camera", "status": "open", "province": province,
            "district": f"{province}01", "site": f"q-{province}-{n // 16}", "camera_id": f"cam-{n}",
            "state": "down" if n % 3 else "degraded", "reason": "unreachable" if n % 3 else "frozen",
            "opened_at": opened, "first_opened_at": opened, "alerted_at": opened, "agency": "", "note": "", "parts": "",
            "reopen_count": 0, "escalation_level": 0, "historical": 0, "affected": 1,
        })  # fmt: skip
    return rows
