"""One camera's daily bars: seconds per state and the two figures for each of its last Bangkok days."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from aggregator.availability import Window, integrate_timeline
from aggregator.days import day_of, day_start, day_to_date, to_ms
from aggregator.states import N_STATES, STATE_NAMES
from aggregator.store.rollups import camera_timeline

__all__ = ["camera_day_bars"]


def camera_day_bars(db: Database, camera: int, tail_ms: int | None, days: int, now: datetime) -> list[dict[str, object]]:
    """Per Bangkok day, the camera's seconds in each state and its two figures (today up to ``now``).
    ``camera`` is its row id, ``tail_ms`` the start of its open interval."""
    now_ms = to_ms(now)
    first = day_of(now_ms) - days + 1
    timeline = camera_timeline(db, camera, day_start(first), now_ms, tail=tail_ms)
    out: list[dict[str, object]] = []
    for day in range(first, first + days):
        lo, hi = day_start(day), min(day_start(day + 1), now_ms)
        totals = integrate_timeline(timeline, Window(lo, hi)) if hi > lo else None
        ms = totals.as_list() if totals else [0] * N_STATES
        out.append({
            "date": day_to_date(day).isoformat(),
            **{f"{name}_s": v / 1000 for name, v in zip(STATE_NAMES, ms, strict=True)},
            "available": totals.available if totals else None,
            "usable": totals.usable if totals else None,
        })  # fmt: skip
    return out
