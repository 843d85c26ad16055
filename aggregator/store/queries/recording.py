"""Recording figures for the API and the reports (issue 16): per camera, per recorder, per province."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from aggregator.store.queries import in_provinces

__all__ = ["CameraRecordingRow", "ProvinceRetention", "RecorderRow", "camera_recording", "recorder_group",
           "recorders_of_site", "recording_for", "retention_by_province"]


@dataclass(frozen=True, slots=True)
class CameraRecordingRow:
    """One camera's latest recording figures (ms times, days)."""

    recorder: str
    newest_ms: int | None
    oldest_ms: int | None
    required_days: float | None
    kept_days: float | None
    updated_ms: int

    @property
    def compliant(self) -> bool | None:
        """Kept at least the required days; None when either is unknown."""
        if self.kept_days is None or self.required_days is None:
            return None
        return self.kept_days >= self.required_days


@dataclass(frozen=True, slots=True)
class RecorderRow:
    """One recorder's storage state."""

    recorder: str
    status: str
    free_bytes: int | None
    total_bytes: int | None
    detail: str
    updated_ms: int


@dataclass(frozen=True, slots=True)
class ProvinceRetention:
    """Retention compliance of one province's recorded cameras, now."""

    province: str
    cameras: int  # cameras with recording figures
    compliant: int  # kept at least the required days
    short: int  # kept fewer
    not_recording: int  # carrying the not_recording reason now
    storage: int = 0  # carrying storage_fault or storage_full now (the recorder's disks)

    @property
    def share(self) -> float | None:
        """Compliant share of the cameras whose retention is known."""
        known = self.compliant + self.short
        return None if known == 0 else self.compliant / known


_COLUMNS = "r.recorder, r.newest_ms, r.oldest_ms, r.required_days, r.kept_days, r.updated_ms"


def _row(r: Sequence[object]) -> CameraRecordingRow:
    return CameraRecordingRow(str(r[0]), r[1], r[2], r[3], r[4], int(str(r[5])))  # type: ignore[arg-type]


def camera_recording(db: Database, site_id: str, camera_id: str) -> CameraRecordingRow | None:
    """One camera's figures, or None when its agent sends none."""
    r = db.execute(
        f"SELECT {_COLUMNS} FROM camera_recording r JOIN camera_inventory c ON c.id = r.camera "
        "JOIN sites s ON s.id = c.site WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]
    ).fetchone()  # fmt: skip
    return None if r is None else _row(r)


def recording_for(db: Database, cameras: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CameraRecordingRow]:
    """Figures of a page of cameras, by (site id, camera id)."""
    out: dict[tuple[str, str], CameraRecordingRow] = {}
    for start in range(0, len(cameras), 400):  # SQLite's variable limit, with room
        chunk = cameras[start:start + 400]
        marks = ", ".join("(?, ?)" for _ in chunk)
        args = [v for pair in chunk for v in pair]
        for r in db.execute(
            f"WITH want(site_id, camera_id) AS (VALUES {marks}) SELECT w.site_id, w.camera_id, {_COLUMNS} "
            "FROM want w JOIN sites s ON s.site_id = w.site_id JOIN camera_inventory c ON c.site = s.id "
            "AND c.camera_id = w.camera_id JOIN camera_recording r ON r.camera = c.id", args
        ).fetchall():  # fmt: skip
            out[(str(r[0]), str(r[1]))] = _row(r[2:])
    return out


def recorder_group(db: Database, site_id: str, camera_id: str) -> tuple[str, list[str]] | None:
    """The recorder that records a camera and every (not missing) camera it records at the site."""
    rows = db.execute(
        "SELECT r.recorder, c.camera_id, c.camera_id = ? FROM camera_recording r JOIN camera_inventory c "
        "ON c.id = r.camera JOIN sites s ON s.id = c.site WHERE s.site_id = ? AND c.missing = 0 AND r.recorder = "
        "(SELECT r2.recorder FROM camera_recording r2 JOIN camera_inventory c2 ON c2.id = r2.camera "
        " WHERE c2.site = s.id AND c2.camera_id = ?) ORDER BY c.camera_id", [camera_id, site_id, camera_id]
    ).fetchall()  # fmt: skip
    if not rows or not any(r[2] for r in rows) or not rows[0][0]:
        return None
    return str(rows[0][0]), [str(r[1]) for r in rows]


def recorders_of_site(db: Database, site_id: str) -> list[RecorderRow]:
    """Every recorder a site reported, by id."""
    return [RecorderRow(str(r[0]), str(r[1]), r[2], r[3], str(r[4]), int(r[5])) for r in db.execute(
        "SELECT g.recorder, g.status, g.free_bytes, g.total_bytes, g.detail, g.updated_ms FROM recorder_storage g "
        "JOIN sites s ON s.id = g.site WHERE s.site_id = ? ORDER BY g.recorder", [site_id]).fetchall()]  # fmt: skip


def retention_by_province(db: Database, provinces: Sequence[str] | None = None) -> list[ProvinceRetention]:
    """Per province: cameras with figures, compliant, short, not recording and storage faults now (missing
    cameras left out)."""
    clause, args = in_provinces("s.province", provinces)
    where = f"WHERE c.missing = 0 AND {clause}"
    rows = db.execute(
        "SELECT s.province, COUNT(*), "
        "SUM(r.kept_days IS NOT NULL AND r.required_days IS NOT NULL AND r.kept_days >= r.required_days), "
        "SUM(r.kept_days IS NOT NULL AND r.required_days IS NOT NULL AND r.kept_days < r.required_days), "
        "SUM(st.reason = 'not_recording'), SUM(st.reason IN ('storage_fault', 'storage_full')) "
        "FROM camera_recording r JOIN camera_inventory c ON c.id = r.camera JOIN sites s ON s.id = c.site "
        f"JOIN camera_state st ON st.camera = c.id {where} GROUP BY s.province ORDER BY s.province", args
    ).fetchall()  # fmt: skip
    return [ProvinceRetention(str(r[0]), int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0),
                              int(r[5] or 0)) for r in rows]
