"""Maintenance windows: planned work on a camera, site or district, one-off or weekly.

Time inside a window counts as maintenance (the availability maths reports it beside up and
down) and no alert goes out for faults under it; a fault still open when the window ends is
alerted then (the notifier asks :meth:`MaintenanceCalendar.in_maintenance` again later).
Weekly rules are written in Thai local time (Asia/Bangkok, UTC+7 all year), which is what a
district office writes on its roster.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlite_utils import Database

from aggregator.days import BANGKOK
from aggregator.timetext import iso, parse_iso

__all__ = [
    "MaintenanceCalendar",
    "MaintenanceTarget",
    "MaintenanceWindow",
    "TargetKind",
    "WindowSpec",
    "load_windows",
    "migrate_maintenance",
]

_TABLE = "maintenance_windows"


class TargetKind(StrEnum):
    """What a window covers."""

    CAMERA = "camera"
    SITE = "site"
    DISTRICT = "district"


@dataclass(frozen=True, slots=True)
class MaintenanceTarget:
    """A camera (or a whole site, or district): a window on any level above covers it."""

    district: str
    site: str | None = None
    camera_id: str | None = None

    def keys(self) -> list[tuple[str, str]]:
        """The (kind, id) pairs whose windows cover this target."""
        keys = [(TargetKind.DISTRICT.value, self.district)]
        if self.site:
            keys.append((TargetKind.SITE.value, self.site))
        if self.camera_id:
            keys.append((TargetKind.CAMERA.value, self.camera_id))
        return keys


class WindowSpec(BaseModel):
    """A window as an operator asks for it: one-off (start, end) or weekly (weekday, time, length)."""

    model_config = ConfigDict(extra="forbid")

    target_kind: TargetKind
    target_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    starts_at: AwareDatetime | None = Field(default=None, description="One-off start (any zone)")
    ends_at: AwareDatetime | None = Field(default=None, description="One-off end")
    weekday: int | None = Field(default=None, ge=0, le=6, description="Weekly: 0 = Monday (Bangkok)")
    start_time: time | None = Field(default=None, description="Weekly: local start time (Bangkok)")
    duration_min: int | None = Field(default=None, ge=1, le=7 * 24 * 60, description="Weekly length")
    note: str = Field(default="", max_length=500)
    created_by: str = Field(default="", max_length=100)

    @model_validator(mode="after")
    def _one_kind(self) -> WindowSpec:
        one_off = self.starts_at is not None or self.ends_at is not None
        weekly = any(v is not None for v in (self.weekday, self.start_time, self.duration_min))
        if one_off == weekly:
            raise ValueError("give either starts_at/ends_at (one-off) or weekday/start_time/duration_min (weekly)")
        if one_off and (self.starts_at is None or self.ends_at is None or self.ends_at <= self.starts_at):
            raise ValueError("a one-off window needs starts_at before ends_at")
        if weekly and None in (self.weekday, self.start_time, self.duration_min):
            raise ValueError("a weekly window needs weekday, start_time and duration_min")
        return self


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A stored window."""

    id: int
    target_kind: TargetKind
    target_id: str
    starts_at: datetime | None
    ends_at: datetime | None
    weekday: int | None
    start_time: time | None
    duration_min: int | None
    note: str = ""
    created_by: str = ""

    def occurrences(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The (start, end) spans of this window that overlap [start, end), in UTC."""
        if self.starts_at is not None and self.ends_at is not None:
            spans = [(self.starts_at, self.ends_at)]
        else:
            assert self.weekday is not None and self.start_time is not None and self.duration_min
            length = timedelta(minutes=self.duration_min)
            day = start.astimezone(BANGKOK).date() - timedelta(days=length.days + 1)
            last = end.astimezone(BANGKOK).date()
            spans = []
            while day <= last:
                if day.weekday() == self.weekday:
                    s = datetime.combine(day, self.start_time, tzinfo=BANGKOK).astimezone(UTC)
                    spans.append((s, s + length))
                day += timedelta(days=1)
        return [(s, e) for s, e in spans if s < end and e > start]

    def covering(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence that contains ``at``, if any."""
        spans = self.occurrences(at, at + timedelta(microseconds=1))
        return spans[0] if spans else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form for the API."""
        return {
            "id": self.id,
            "target_kind": self.target_kind.value,
            "target_id": self.target_id,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "weekday": self.weekday,
            "start_time": self.start_time.strftime("%H:%M") if self.start_time else None,
            "duration_min": self.duration_min,
            "note": self.note,
            "created_by": self.created_by,
        }


def migrate_maintenance(db: Database) -> None:
    """Create the maintenance windows table."""
    db[_TABLE].create(  # type: ignore[union-attr]
        {
            "id": int,
            "target_kind": str,
            "target_id": str,
            "starts_at": str,
            "ends_at": str,
            "weekday": int,
            "start_time": str,
            "duration_min": int,
            "note": str,
            "created_by": str,
            "created_at": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db[_TABLE].create_index(["target_kind", "target_id"], if_not_exists=True)  # type: ignore[union-attr]


def _window(row: dict[str, Any]) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=int(row["id"]),
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        starts_at=parse_iso(row["starts_at"]),
        ends_at=parse_iso(row["ends_at"]),
        weekday=row["weekday"],
        start_time=time.fromisoformat(row["start_time"]) if row["start_time"] else None,
        duration_min=row["duration_min"],
        note=row["note"] or "",
        created_by=row["created_by"] or "",
    )


def load_windows(db: Database) -> list[MaintenanceWindow]:
    """Every stored window (none before the faults tables exist), for availability rollups.

    Called by every rollup, so it is one query (no schema listing first)."""
    try:
        cur = db.execute(f"SELECT * FROM {_TABLE}")
    except sqlite3.OperationalError:  # the faults migration has not run on this database
        return []
    names = [d[0] for d in cur.description]
    return [_window(dict(zip(names, row, strict=True))) for row in cur.fetchall()]


class MaintenanceCalendar:
    """Every window, indexed by target, answering "is this camera under planned work at t?".

    The index is rebuilt on each change made through this object and swapped in whole, so
    the notifier thread reads it without a lock while the API thread edits it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._index: dict[tuple[str, str], list[MaintenanceWindow]] = {}
        self.reload()

    def reload(self) -> None:
        """Read every window from the database again."""
        index: dict[tuple[str, str], list[MaintenanceWindow]] = {}
        if _TABLE in self._db.table_names():
            for row in self._db[_TABLE].rows:
                w = _window(row)
                index.setdefault((w.target_kind.value, w.target_id), []).append(w)
        self._index = index

    def add(self, spec: WindowSpec, now: datetime) -> MaintenanceWindow:
        """Store a new window and return it."""
        row = {
            "target_kind": spec.target_kind.value,
            "target_id": spec.target_id,
            "starts_at": iso(spec.starts_at),
            "ends_at": iso(spec.ends_at),
            "weekday": spec.weekday,
            "start_time": spec.start_time.strftime("%H:%M") if spec.start_time else None,
            "duration_min": spec.duration_min,
            "note": spec.note,
            "created_by": spec.created_by,
            "created_at": iso(now),
        }
        with self._lock:
            with self._db.conn:
                window_id = self._db[_TABLE].insert(row).last_pk  # type: ignore[union-attr]
            self.reload()
        return _window({**row, "id": window_id})

    def delete(self, window_id: int) -> bool:
        """Remove a window; False when there was none with that id."""
        with self._lock:
            with self._db.conn:
                cur = self._db.execute(f"DELETE FROM {_TABLE} WHERE id = ?", [window_id])
            self.reload()
        return cur.rowcount > 0

    def get(self, window_id: int) -> MaintenanceWindow | None:
        """One window by id."""
        for windows in self._index.values():
            for w in windows:
                if w.id == window_id:
                    return w
        return None

    def windows(self) -> list[MaintenanceWindow]:
        """Every window, by id."""
        return sorted((w for ws in self._index.values() for w in ws), key=lambda w: w.id)

    def _for(self, target: MaintenanceTarget) -> list[MaintenanceWindow]:
        index = self._index
        return [w for key in target.keys() for w in index.get(key, ())]

    def in_maintenance(self, target: MaintenanceTarget, at: datetime) -> bool:
        """Whether planned work covers the target (or its site or district) at ``at``."""
        return any(w.covering(at) is not None for w in self._for(target))

    def window_end(self, target: MaintenanceTarget, at: datetime) -> datetime | None:
        """When the planned work covering the target at ``at`` ends (the latest end), if any."""
        ends = [span[1] for w in self._for(target) if (span := w.covering(at)) is not None]
        return max(ends) if ends else None

    def intervals(
        self, target: MaintenanceTarget, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Merged maintenance spans for the target within [start, end), clipped to it."""
        spans = sorted(
            (max(s, start), min(e, end)) for w in self._for(target) for s, e in w.occurrences(start, end)
        )
        merged: list[tuple[datetime, datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged
