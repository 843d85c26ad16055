"""Persist faults and their full history; read them back for the API and the figures.

Only the fault worker writes here (one thread, batches of changes in one transaction);
the API reads with its own connection. Times are stored as fixed-width UTC text
(:mod:`aggregator.timetext`) so ranges compare as strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from aggregator.faults.model import Fault, FaultChange, FaultKind, FaultStatus, Resolution
from aggregator.store.maintenance import TargetKind, migrate_maintenance
from aggregator.timetext import iso, parse_iso
from protocol import CameraState, Reason

__all__ = [
    "SORTS", "FaultFilter", "FaultStore", "fault_row", "migrate_faults", "migrate_faults_v2", "row_fault", "target_province",
]  # fmt: skip

FAULTS = "faults"
HISTORY = "fault_history"


def migrate_faults(db: Database) -> None:
    """Create every table the faults area owns (faults, history, maintenance, routes, deliveries)."""
    from aggregator.faults.routing import migrate_routes
    from aggregator.notify.deliveries import migrate_deliveries

    db.executescript(_SCHEMA)
    migrate_faults_v2(db)  # a new database has the latest columns at once (v2 is idempotent)
    migrate_maintenance(db)
    migrate_routes(db)
    migrate_deliveries(db)


def migrate_faults_v2(db: Database) -> None:
    """A broker fault names its broker ("host:port"): the ``broker`` column (issue 17)."""
    if "broker" not in db[FAULTS].columns_dict:
        db.execute("ALTER TABLE faults ADD COLUMN broker TEXT")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    province TEXT NOT NULL,
    district TEXT,
    site TEXT,
    camera_id TEXT,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    first_opened_at TEXT NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    resolution TEXT,
    note TEXT NOT NULL DEFAULT '',
    parts TEXT NOT NULL DEFAULT '',
    cost REAL,
    parent_id INTEGER,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    alerted_at TEXT,
    historical INTEGER NOT NULL DEFAULT 0,
    affected INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS faults_status ON faults(status, province, district);
CREATE INDEX IF NOT EXISTS faults_opened ON faults(opened_at);
CREATE INDEX IF NOT EXISTS faults_site ON faults(site);
CREATE INDEX IF NOT EXISTS faults_camera ON faults(camera_id);
CREATE INDEX IF NOT EXISTS faults_parent ON faults(parent_id);

CREATE TABLE IF NOT EXISTS fault_history (
    id INTEGER PRIMARY KEY,
    fault_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    live INTEGER NOT NULL DEFAULT 1,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fault_history_fault ON fault_history(fault_id, id);
"""


def fault_row(f: Fault) -> dict[str, Any]:
    """The ``faults`` row for a fault."""
    return {
        "id": f.id,
        "kind": f.kind.value,
        "status": f.status.value,
        "province": f.province,
        "district": f.district,
        "site": f.site,
        "camera_id": f.camera_id,
        "state": f.state.value,
        "reason": f.reason.value,
        "opened_at": iso(f.opened_at),
        "first_opened_at": iso(f.first_opened_at),
        "agency": f.agency,
        "acknowledged_at": iso(f.acknowledged_at),
        "acknowledged_by": f.acknowledged_by,
        "resolved_at": iso(f.resolved_at),
        "resolved_by": f.resolved_by,
        "resolution": f.resolution.value if f.resolution else None,
        "note": f.note,
        "parts": f.parts,
        "cost": f.cost,
        "parent_id": f.parent_id,
        "reopen_count": f.reopen_count,
        "escalation_level": f.escalation_level,
        "alerted_at": iso(f.alerted_at),
        "historical": int(f.historical),
        "affected": f.affected,
        "broker": f.broker,
    }


def row_fault(r: dict[str, Any]) -> Fault:
    """A fault from its ``faults`` row."""
    opened = parse_iso(r["opened_at"])
    first = parse_iso(r["first_opened_at"])
    assert opened is not None and first is not None
    return Fault(
        id=int(r["id"]),
        kind=FaultKind(r["kind"]),
        status=FaultStatus(r["status"]),
        province=r["province"],
        district=r["district"],
        site=r["site"],
        camera_id=r["camera_id"],
        state=CameraState(r["state"]),
        reason=Reason(r["reason"]),
        opened_at=opened,
        first_opened_at=first,
        agency=r["agency"] or "",
        acknowledged_at=parse_iso(r["acknowledged_at"]),
        acknowledged_by=r["acknowledged_by"],
        resolved_at=parse_iso(r["resolved_at"]),
        resolved_by=r["resolved_by"],
        resolution=Resolution(r["resolution"]) if r["resolution"] else None,
        note=r["note"] or "",
        parts=r["parts"] or "",
        cost=r["cost"],
        parent_id=r["parent_id"],
        reopen_count=int(r["reopen_count"]),
        escalation_level=int(r["escalation_level"]),
        alerted_at=parse_iso(r["alerted_at"]),
        historical=bool(r["historical"]),
        affected=int(r["affected"]),
        broker=r.get("broker"),
    )


@dataclass(frozen=True, slots=True)
class FaultFilter:
    """What the API asks for; None means any."""

    provinces: Sequence[str] | None = None  # the caller's scope (None = all provinces)
    province: str | None = None
    district: str | None = None
    site: str | None = None
    camera_id: str | None = None
    agency: str | None = None
    kind: FaultKind | None = None
    status: FaultStatus | None = None
    active: bool | None = None
    opened_from: datetime | None = None
    opened_until: datetime | None = None
    top_level: bool = False
    state: CameraState | None = None
    acknowledged: bool | None = None  # someone took it on (acknowledged_at set)
    acknowledged_by: str | None = None  # "assigned to": who took it on
    q: str | None = None  # search: fault id, site, camera, district, agency, who took it on
    sort: str = "-opened_at"  # one of SORTS
    near: tuple[float, float] | None = None  # (lat, lon): nearest site first, then ``sort``
    limit: int = 100
    offset: int = 0


# Queue orders: a key, "-" for descending; the id breaks ties in the same direction, so a
# page boundary never repeats or skips a row among faults opened in the same second.
SORTS: dict[str, str] = {
    "opened_at": "opened_at ASC, id ASC",
    "-opened_at": "opened_at DESC, id DESC",
    "id": "id ASC",
    "-id": "id DESC",
    "-escalation_level": "escalation_level DESC, opened_at ASC, id ASC",
}


# The search box: an exact fault number, or a part of the site, camera, district, agency or
# the name of who took it on (LIKE is case-insensitive for ASCII in SQLite).
_SEARCH = (
    "(CAST(id AS TEXT) = ? OR site LIKE ? ESCAPE '\\' OR camera_id LIKE ? ESCAPE '\\'"
    " OR district LIKE ? ESCAPE '\\' OR agency LIKE ? ESCAPE '\\' OR acknowledged_by LIKE ? ESCAPE '\\')"
)


# "Near me": the squared equirectangular distance to the fault's site (exact enough to order
# sites a technician can drive to; plain arithmetic, so SQLite needs no maths functions).
# Faults without a site or a site without a position come last.
_DISTANCE = (
    "COALESCE((SELECT (lat - ?) * (lat - ?) + ((lon - ?) * ?) * ((lon - ?) * ?) FROM sites"
    " WHERE sites.site_id = faults.site AND lat IS NOT NULL AND lon IS NOT NULL), 1e18)"
)


def _distance_params(lat: float, lon: float) -> list[float]:
    k = math.cos(math.radians(lat))
    return [lat, lat, lon, k, lon, k]


class FaultStore:
    """The faults and fault_history tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, changes: Sequence[FaultChange]) -> None:
        """Write the latest form of every changed fault and one history row per change."""
        if not changes:
            return
        latest = {c.fault.id: c.fault for c in changes}
        history = [
            {
                "fault_id": c.fault.id,
                "action": c.action.value,
                "at": iso(c.at),
                "by": c.by,
                "detail": c.detail,
                "live": int(c.live),
                "kind": c.fault.kind.value,
                "status": c.fault.status.value,
                "state": c.fault.state.value,
                "reason": c.fault.reason.value,
            }
            for c in changes
        ]
        with self.db.conn:
            self.db[FAULTS].upsert_all((fault_row(f) for f in latest.values()), pk="id")  # type: ignore[union-attr]
            self.db[HISTORY].insert_all(history)  # type: ignore[union-attr]

    def next_id(self) -> int:
        """The id the next new fault gets."""
        row = self.db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {FAULTS}").fetchone()
        return int(row[0])

    def load_active(self) -> list[Fault]:
        """Every open or acknowledged fault (to rebuild the engine after a restart)."""
        sql = f"SELECT * FROM {FAULTS} WHERE status IN ('open', 'acknowledged') ORDER BY id"
        return [row_fault(r) for r in self.db.query(sql)]

    def load_closed_since(self, since: datetime) -> list[Fault]:
        """The latest closed fault per subject, closed at or after ``since`` (faults a failure may
        reopen after a restart), oldest first so the newest of a subject comes last."""
        sql = (f"SELECT * FROM {FAULTS} WHERE status IN ('resolved', 'wont_fix') AND resolved_at >= ? "
               "ORDER BY resolved_at, id")  # fmt: skip
        return [row_fault(r) for r in self.db.query(sql, [iso(since)])]

    def get(self, fault_id: int) -> Fault | None:
        """One fault by id."""
        rows = list(self.db.query(f"SELECT * FROM {FAULTS} WHERE id = ?", [fault_id]))
        return row_fault(rows[0]) if rows else None

    def find(self, flt: FaultFilter) -> list[Fault]:
        """Faults matching the filter, in the filter's order (newest first unless it says)."""
        where, params = self._where(flt)
        order, order_params = SORTS[flt.sort], []
        if flt.near is not None:
            order = f"{_DISTANCE}, {order}"
            order_params = _distance_params(*flt.near)
        sql = f"SELECT * FROM {FAULTS} {where} ORDER BY {order} LIMIT ? OFFSET ?"
        return [row_fault(r) for r in self.db.query(sql, [*params, *order_params, flt.limit, flt.offset])]

    def count(self, flt: FaultFilter) -> int:
        """How many faults match the filter (ignoring limit and offset), exactly."""
        sql, params = self.count_sql(flt)
        return int(self.db.execute(sql, params).fetchone()[0])

    @classmethod
    def count_sql(cls, flt: FaultFilter) -> tuple[str, list[Any]]:
        """The count's query. The national queue (open faults, top level, at most an opening
        range) is counted from the partial index ``faults_queue`` (``INDEXED BY``): its WHERE is
        the query's status term, so SQLite reads no table row; left to itself, with a year of
        closed faults beside the open ones, it walks ``faults_status`` and reads every open
        fault's row (bench/queue_count_bench.py). Other filters name columns outside the index:
        the planner's choice (a province through ``faults_status``) serves them better."""
        where, params = cls._where(flt)
        index = " INDEXED BY faults_queue" if _queue_only(flt) else ""
        return f"SELECT COUNT(*) FROM {FAULTS}{index} {where}", params

    def opened_between(
        self, start: datetime, end: datetime, provinces: Sequence[str] | None = None
    ) -> Iterable[Fault]:
        """Faults whose latest opening falls in [start, end) (input for the MTTA/MTTR figures)."""
        flt = FaultFilter(provinces=provinces, opened_from=start, opened_until=end, limit=-1)
        where, params = self._where(flt)
        for r in self.db.query(f"SELECT * FROM {FAULTS} {where}", params):
            yield row_fault(r)

    def history(self, fault_id: int) -> list[dict[str, Any]]:
        """Every step of one fault, oldest first."""
        sql = f"SELECT * FROM {HISTORY} WHERE fault_id = ? ORDER BY id"
        return list(self.db.query(sql, [fault_id]))

    @staticmethod
    def _where(flt: FaultFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if flt.provinces is not None:
            marks = ",".join("?" * len(flt.provinces)) or "NULL"
            clauses.append(f"province IN ({marks})")
            params += list(flt.provinces)
        for column in ("province", "district", "site", "camera_id", "agency"):
            value = getattr(flt, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if flt.kind is not None:
            clauses.append("kind = ?")
            params.append(flt.kind.value)
        if flt.status is not None:
            clauses.append("status = ?")
            params.append(flt.status.value)
        if flt.active is not None:
            clauses.append(
                "status IN ('open', 'acknowledged')" if flt.active else "status IN ('resolved', 'wont_fix')"
            )
        if flt.opened_from is not None:
            clauses.append("opened_at >= ?")
            params.append(iso(flt.opened_from))
        if flt.opened_until is not None:
            clauses.append("opened_at < ?")
            params.append(iso(flt.opened_until))
        if flt.top_level:
            # "+": not through faults_parent (every top-level fault has NULL there, so walking it
            # reads every row); the queue's partial index faults_queue serves the page instead.
            clauses.append("+parent_id IS NULL")
        if flt.state is not None:
            clauses.append("state = ?")
            params.append(flt.state.value)
        if flt.acknowledged is not None:
            clauses.append("acknowledged_at IS NOT NULL" if flt.acknowledged else "acknowledged_at IS NULL")
        if flt.acknowledged_by is not None:
            clauses.append("acknowledged_by = ?")
            params.append(flt.acknowledged_by)
        if flt.q:
            clauses.append(_SEARCH)
            like = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [flt.q.lstrip("#"), *[like] * _SEARCH.count("LIKE")]
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _queue_only(flt: FaultFilter) -> bool:
    """The filter is the queue's (active), narrowed at most by the index's own columns."""
    narrowing = (flt.provinces, flt.province, flt.district, flt.site, flt.camera_id, flt.agency, flt.kind,
                 flt.status, flt.state, flt.acknowledged, flt.acknowledged_by, flt.q)  # fmt: skip
    return flt.active is True and all(v is None for v in narrowing)


def target_province(db: Database, kind: TargetKind, target: str) -> str | None:
    """The province of a maintenance window's target (a district, site or camera), or None
    when no such site or camera is registered."""
    if kind is TargetKind.DISTRICT:
        return target[:2]
    sql = (
        "SELECT province FROM sites WHERE site_id = ?"
        if kind is TargetKind.SITE
        else "SELECT s.province FROM cameras c JOIN sites s ON s.id = c.site WHERE c.camera_id = ?"
    )
    row = db.execute(sql, [target]).fetchone()
    return None if row is None else str(row[0])
