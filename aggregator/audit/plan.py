"""A province's repair plan: what to fix first, what the province will do, and how far it came.

Lines are found, not typed: every declared camera that needs repair (the agents see it down,
degraded or gone: ``declared_but_broken``; or the register calls it broken and no agent sees it
working) and every open camera fault (kinds camera and flapping, open or acknowledged). A fault
on the camera a declared line was paired with joins that line. Lines are ranked by risk:

1. how many **uncovered** risk points the camera lies within (fixing it may cover them);
2. the site's importance: how many risk points, covered or not, it lies within;
3. the fault's age (oldest first; a declared line without a fault counts as age 0);
4. the item key, for a stable order.

The province fills action, responsible agency, target date, estimated cost (baht), priority and
a note per line (:mod:`aggregator.audit.plan_store`). A filled line that has left the plan (its
fault resolved, its camera working again) is **done**; its fault's recorded parts and cost are
the money spent. :func:`plan_totals` answers rows, planned cost, done and spent per province for
the national table and the committee pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from aggregator.audit.plan_store import PlanEntry, entries
from aggregator.audit.reconcile import Class
from aggregator.audit.risk import RiskPoint
from aggregator.audit.risk_store import load_risk_points, province_coverage
from aggregator.audit.spatial import haversine_m
from aggregator.days import from_ms
from aggregator.store.queries import in_provinces

__all__ = ["PlanLine", "PlanTotals", "open_lines", "plan_totals", "rank_lines", "repair_plan"]

_CAMERA_FAULTS = ("camera", "flapping")
_ACTIVE = ("open", "acknowledged")
_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One thing to fix, with camwatch's risk figures and the province's fields."""

    item: str  # "camera:<declared key>" or "fault:<id>"
    kind: str  # "declared" or "fault"
    province: str
    district: str
    location: str
    owner: str  # the owning agency, as the register or the site says
    camera: str | None  # the discovered camera, site/camera
    declared_key: str | None
    lat: float | None
    lon: float | None
    register_status: str | None
    klass: str | None
    fault_id: int | None
    fault_state: str | None
    fault_opened_at: str | None
    age_days: float | None = None
    uncovered_points: tuple[str, ...] = ()
    importance: int = 0
    status: str = "open"  # "open" or "done"
    parts: str = ""
    spent_baht: float | None = None
    entry: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON and the exports."""
        out = asdict(self)
        out["uncovered_points"] = list(self.uncovered_points)
        return out


def _age_days(opened_at: str | None, now_ms: int) -> float | None:
    if not opened_at:
        return None
    try:
        opened = datetime.fromisoformat(opened_at)
    except ValueError:
        return None
    if opened.tzinfo is None:
        opened = opened.replace(tzinfo=UTC)
    return round(max(0.0, (from_ms(now_ms) - opened).total_seconds() / _DAY_S), 2)


_CURRENT_CLASS = ("(SELECT m.klass || char(31) || coalesce(m.discovered_key, '') FROM audit_matches m "
                  "JOIN audit_current c ON c.province = m.province AND c.run_id = m.run_id "
                  "WHERE m.declared_key = d.key LIMIT 1)")


def _declared_lines(db: Database, provinces: Sequence[str] | None) -> list[PlanLine]:
    """Declared cameras the agents see broken, then those the register calls broken and no agent
    sees working: two indexed reads, not one join through the current-lines view (which SQLite
    would materialise whole at 400,000 declared cameras)."""
    where, params = in_provinces("m.province", provinces)
    seen = db.conn.execute(
        "SELECT d.key, d.province, d.district, d.location, d.agency, d.lat, d.lon, d.status, m.klass, "
        "m.discovered_key FROM audit_current_matches m JOIN audit_declared d ON d.key = m.declared_key "
        f"WHERE {where} AND m.klass = ?", [*params, Class.BROKEN.value]).fetchall()  # fmt: skip
    where, params = in_provinces("d.province", provinces)
    broken = []
    for *row, current in db.conn.execute(
            "SELECT d.key, d.province, d.district, d.location, d.agency, d.lat, d.lon, d.status, "
            f"{_CURRENT_CLASS} FROM audit_declared d WHERE {where} AND d.status = 'broken'", params):  # fmt: skip
        klass, _, found = (current or "").partition("\x1f")
        if klass not in (Class.VERIFIED.value, Class.BROKEN.value):  # working: a register mistake; broken: above
            broken.append((*row, klass or None, found or None))
    return [PlanLine(item=f"camera:{key}", kind="declared", province=prov, district=dist, location=loc,
                     owner=agency, camera=found, declared_key=key, lat=lat, lon=lon, register_status=status,
                     klass=klass, fault_id=None, fault_state=None, fault_opened_at=None)
            for key, prov, dist, loc, agency, lat, lon, status, klass, found in [*seen, *broken]]  # fmt: skip


def _fault_rows(db: Database, provinces: Sequence[str] | None, statuses: Sequence[str],
                placed: bool = True, ids: Sequence[int] | None = None) -> list[tuple[Any, ...]]:  # fmt: skip
    """Camera faults in ``statuses`` (of ``ids`` only, when given); ``placed`` adds the camera's
    (or its site's) position and name."""
    where, provinces_in = in_provinces("f.province", provinces)
    params: list[Any] = list(provinces_in)
    if ids is not None:
        where += f" AND f.id IN ({','.join('?' * len(ids)) or 'NULL'})"
        params.extend(ids)
    place = ("coalesce(c.lat, s.lat), coalesce(c.lon, s.lon), coalesce(s.name, '')" if placed else "NULL, NULL, ''")
    joins = ("LEFT JOIN sites s ON s.site_id = f.site "
             "LEFT JOIN camera_inventory c ON c.site = s.id AND c.camera_id = f.camera_id " if placed else "")
    return list(db.conn.execute(
        "SELECT f.id, f.province, coalesce(f.district, ''), f.site, f.camera_id, f.state, f.first_opened_at, "
        f"f.agency, {place}, f.parts, f.cost FROM faults f {joins}"
        f"WHERE {where} AND f.kind IN ({','.join('?' * len(_CAMERA_FAULTS))}) "
        f"AND f.status IN ({','.join('?' * len(statuses))}) ORDER BY f.id",
        [*params, *_CAMERA_FAULTS, *statuses]))  # fmt: skip


def open_lines(db: Database, provinces: Sequence[str] | None, now_ms: int, *, placed: bool = True) -> list[PlanLine]:
    """Every line the plan holds now (unranked): broken declared cameras and open camera faults
    (``placed``: fault lines get their camera's position and site name)."""
    declared = _declared_lines(db, provinces)
    by_camera = {line.camera: i for i, line in enumerate(declared) if line.camera}
    faults: list[PlanLine] = []
    for fid, prov, dist, site, cam, state, opened, agency, lat, lon, site_name, _, _ in _fault_rows(
            db, provinces, _ACTIVE, placed):  # fmt: skip
        camera = f"{site}/{cam}"
        at = by_camera.get(camera)
        if at is not None and declared[at].fault_id is None:
            declared[at] = replace(declared[at], fault_id=fid, fault_state=state, fault_opened_at=opened,
                                   age_days=_age_days(opened, now_ms))  # fmt: skip
            continue
        faults.append(PlanLine(item=f"fault:{fid}", kind="fault", province=prov, district=dist,
                               location=site_name or site, owner=agency, camera=camera, declared_key=None,
                               lat=lat, lon=lon, register_status=None, klass=None, fault_id=fid, fault_state=state,
                               fault_opened_at=opened, age_days=_age_days(opened, now_ms)))  # fmt: skip
    return declared + faults


def rank_lines(lines: Sequence[PlanLine], points: Sequence[RiskPoint], uncovered: set[str]) -> list[PlanLine]:
    """Attach the risk figures to each line and order them, most urgent first (module doc)."""
    ranked: list[PlanLine] = []
    for line in lines:
        inside: list[RiskPoint] = []
        if line.lat is not None and line.lon is not None:
            inside = [p for p in points if p.province == line.province
                      and haversine_m(p.lat, p.lon, line.lat, line.lon) <= p.radius_m + 0.001]  # fmt: skip
        ranked.append(replace(line, importance=len(inside),
                              uncovered_points=tuple(sorted(p.name for p in inside if p.key in uncovered))))
    ranked.sort(key=lambda x: (-len(x.uncovered_points), -x.importance, -(x.age_days or 0.0), x.item))
    return ranked


def _done_lines(db: Database, province: str, done: dict[str, PlanEntry]) -> list[PlanLine]:
    """Filled lines no longer in the plan, with what their faults cost."""
    ids = [int(item.removeprefix("fault:")) for item in done if item.startswith("fault:")]
    resolved = {f"fault:{r[0]}": r for r in _fault_rows(db, [province], ("resolved", "wont_fix"), ids=ids)}
    out = []
    for item, entry in sorted(done.items()):
        row = resolved.get(item)
        if row is not None:
            fid, prov, dist, site, cam, state, opened, agency, lat, lon, site_name, parts, cost = row
            out.append(PlanLine(item=item, kind="fault", province=prov, district=dist, location=site_name or site,
                                owner=agency, camera=f"{site}/{cam}", declared_key=None, lat=lat, lon=lon,
                                register_status=None, klass=None, fault_id=fid, fault_state=state,
                                fault_opened_at=opened, status="done", parts=parts or "", spent_baht=cost,
                                entry=entry.fields()))  # fmt: skip
            continue
        key = item.removeprefix("camera:")
        found = db.conn.execute("SELECT district, location, agency, lat, lon, status FROM audit_declared WHERE key = ?",
                                (key,)).fetchone()  # fmt: skip
        dist, loc, agency, lat, lon, status = found or ("", "", "", None, None, None)
        out.append(PlanLine(item=item, kind="declared" if item.startswith("camera:") else "fault", province=province,
                            district=dist, location=loc, owner=agency, camera=None,
                            declared_key=key if item.startswith("camera:") else None, lat=lat, lon=lon,
                            register_status=status, klass=None, fault_id=None, fault_state=None,
                            fault_opened_at=None, status="done", entry=entry.fields()))  # fmt: skip
    return out


def repair_plan(db: Database, province: str, now_ms: int) -> list[PlanLine]:
    """The province's repair plan: open lines ranked by risk, each with the province's fields,
    then the done lines (filled lines that left the plan) with their parts and cost."""
    points = load_risk_points(db, province)
    uncovered = {c.point.key for c in province_coverage(db, province, now_ms=now_ms) if not c.covered}
    filled = entries(db, "repair", [province])
    ranked = rank_lines(open_lines(db, [province], now_ms), points, uncovered)
    current = {line.item for line in ranked}
    rows = [replace(line, entry=filled[line.item].fields()) if line.item in filled else line for line in ranked]
    return rows + _done_lines(db, province, {k: v for k, v in filled.items() if k not in current})


@dataclass(frozen=True, slots=True)
class PlanTotals:
    """One province's repair plan in figures: for the national table and the committee pack."""

    province: str
    rows: int  # open lines + done lines
    open: int
    planned: int  # lines the province filled (open or done)
    planned_cost_baht: float
    done: int
    spent_baht: float  # cost recorded on resolving the province's camera faults
    resolved_with_cost: int

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def plan_totals(db: Database, provinces: Sequence[str] | None = None, *, now_ms: int,
                since: str | None = None, until: str | None = None) -> dict[str, PlanTotals]:  # fmt: skip
    """Repair-plan figures per province (of ``provinces``; None = every province with a line,
    an entry or a costed repair): rows, open, planned and planned cost, done, and the baht spent
    on resolved camera faults (resolved at or after ``since`` and before ``until``, fault-book
    UTC text as :func:`aggregator.timetext.iso` writes it, when given: the pack's month).

    The committee pack calls this for its repair-progress section; it needs no risk coverage,
    so the whole country costs a few grouped queries."""
    current: dict[str, set[str]] = {}
    for line in open_lines(db, provinces, now_ms, placed=False):
        current.setdefault(line.province, set()).add(line.item)
    filled: dict[str, list[PlanEntry]] = {}
    for entry in entries(db, "repair", provinces).values():
        filled.setdefault(entry.province, []).append(entry)
    where, params = in_provinces("province", provinces)
    spent: dict[str, tuple[float, int]] = {}
    for prov, total, n in db.conn.execute(
        f"SELECT province, sum(cost), count(cost) FROM faults WHERE {where} AND kind IN ('camera', 'flapping') "
        "AND status = 'resolved' AND cost IS NOT NULL AND resolved_at >= ? AND (? IS NULL OR resolved_at < ?) "
        "GROUP BY province", [*params, since or "", until, until]):  # fmt: skip
        spent[prov] = (float(total or 0.0), int(n))
    out: dict[str, PlanTotals] = {}
    for prov in sorted(set(current) | set(filled) | set(spent)):
        items, mine = current.get(prov, set()), filled.get(prov, [])
        done = [e for e in mine if e.item not in items]
        money, n = spent.get(prov, (0.0, 0))
        out[prov] = PlanTotals(province=prov, rows=len(items) + len(done), open=len(items), planned=len(mine),
                               planned_cost_baht=round(sum(e.cost_baht or 0.0 for e in mine), 2), done=len(done),
                               spent_baht=round(money, 2), resolved_with_cost=n)  # fmt: skip
    return out
