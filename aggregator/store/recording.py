"""Recording figures from site heartbeats (issue 16): per camera, per recorder, latest only.

A 1.1 agent's heartbeat may carry, per camera, the recorder holding its footage, the newest
recorded and oldest kept times and the kept and required days of retention; and per
recorder, its storage state. The figures change once per agent recording check (every
5 minutes by default), so they are written only when they moved: newest and oldest to the
minute, kept days to a tenth. The camera's recording *reason* travels as its state's reason
in events like any other; these tables hold the figures behind it (the camera page's
recording line, the report's retention compliance, the recorder grouping of faults).
"""

from __future__ import annotations

from sqlite_utils import Database

from aggregator.days import to_ms
from aggregator.store.memory import SiteRecord
from protocol import Heartbeat

__all__ = ["SiteRecordings", "migrate_recording"]

_MINUTE_MS = 60_000
CameraRow = tuple[str, int | None, int | None, float | None, float | None]
StorageRow = tuple[str, int | None, int | None, str]


def migrate_recording(db: Database) -> None:
    """Latest recording figures per camera and storage state per (site, recorder)."""
    db.executescript("""
        CREATE TABLE IF NOT EXISTS camera_recording (
            camera INTEGER PRIMARY KEY REFERENCES camera_inventory(id),
            recorder TEXT NOT NULL DEFAULT '',
            newest_ms INTEGER,
            oldest_ms INTEGER,
            required_days REAL,
            kept_days REAL,
            updated_ms INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS recorder_storage (
            site INTEGER NOT NULL REFERENCES sites(id),
            recorder TEXT NOT NULL,
            status TEXT NOT NULL,
            free_bytes INTEGER,
            total_bytes INTEGER,
            detail TEXT NOT NULL DEFAULT '',
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (site, recorder)
        );
    """)


def _minute(ms: int | None) -> int | None:
    return None if ms is None else ms - ms % _MINUTE_MS


class SiteRecordings:
    """The writer's view of the figures: what was last written, and what waits for the flush."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cameras: dict[int, CameraRow] = {
            int(r[0]): (str(r[1]), r[2], r[3], r[4], r[5])
            for r in db.execute("SELECT camera, recorder, newest_ms, oldest_ms, required_days, kept_days "
                                "FROM camera_recording").fetchall()
        }  # fmt: skip
        self._storage: dict[tuple[int, str], StorageRow] = {
            (int(r[0]), str(r[1])): (str(r[2]), r[3], r[4], str(r[5]))
            for r in db.execute("SELECT site, recorder, status, free_bytes, total_bytes, detail "
                                "FROM recorder_storage").fetchall()
        }  # fmt: skip
        self._dirty_cameras: dict[int, tuple[CameraRow, int]] = {}
        self._dirty_storage: dict[tuple[int, str], tuple[StorageRow, int]] = {}

    def observe(self, site: SiteRecord, msg: Heartbeat, recv: int) -> None:
        """Take a heartbeat's figures; cameras the centre has not seen born are skipped."""
        for camera_id, fig in msg.recording.items():
            cam = site.cameras.get(camera_id)
            if cam is None:
                continue
            row: CameraRow = (
                fig.recorder,
                _minute(to_ms(fig.newest)) if fig.newest is not None else None,
                _minute(to_ms(fig.oldest)) if fig.oldest is not None else None,
                fig.retention_required_days,
                None if fig.retention_kept_days is None else round(fig.retention_kept_days, 1),
            )
            if self._cameras.get(cam) != row:
                self._dirty_cameras[cam] = (row, recv)
        for recorder, st in msg.recorders.items():
            srow: StorageRow = (st.status.value, st.free_bytes, st.total_bytes, st.detail)
            if self._storage.get((site.id, recorder)) != srow:
                self._dirty_storage[(site.id, recorder)] = (srow, recv)

    def flush(self) -> None:
        """Write what moved (inside the writer's transaction)."""
        if self._dirty_cameras:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO camera_recording(camera, recorder, newest_ms, oldest_ms, required_days, "
                "kept_days, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(cam, *row, recv) for cam, (row, recv) in sorted(self._dirty_cameras.items())],
            )
            for cam, (row, _) in self._dirty_cameras.items():
                self._cameras[cam] = row
            self._dirty_cameras.clear()
        if self._dirty_storage:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO recorder_storage(site, recorder, status, free_bytes, total_bytes, detail, "
                "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(site, rec, *row, recv) for (site, rec), (row, recv) in sorted(self._dirty_storage.items())],
            )
            for key, (srow, _) in self._dirty_storage.items():
                self._storage[key] = srow
            self._dirty_storage.clear()
