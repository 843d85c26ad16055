"""The province's installation plan (cameras for uncovered risk points) and linking plan
(declared cameras no agent watches yet), as the national order names them.

Installation: one proposal per uncovered risk point, at the point's position, with the cameras
it needs (``required`` minus those usable now). The coverage a proposal adds is every uncovered
point of the province that its cameras would cover: those whose circle holds the proposed
position and whose shortfall the proposal's cameras make up. Proposals that add most come first,
then the points the risk ranking calls worst. An officer adds a point by importing it as a risk
point (``POST /risk-points``); it then appears here while uncovered.

Linking: the declared cameras the latest reconciliation calls ``ghost`` (declared, never seen by
any agent: not enrolled, or behind no gateway), grouped by the register's site and agency.

Both plans carry the province's fields per line (:mod:`aggregator.audit.plan_store`: purpose or
step in ``action``, owner agency, target date, estimated cost, priority).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from aggregator.audit.plan_store import entries
from aggregator.audit.reconcile import Class
from aggregator.audit.risk import Coverage, rank_uncovered
from aggregator.audit.risk_store import province_coverage
from aggregator.audit.spatial import haversine_m

__all__ = ["InstallPlan", "LinkGroup", "Proposal", "installation_plan", "linking_plan"]


@dataclass(frozen=True, slots=True)
class Proposal:
    """New cameras proposed at one uncovered risk point, and what they would cover."""

    item: str  # "risk:<point key>"
    point: str
    kind: str
    lat: float
    lon: float
    radius_m: float
    required: int
    usable_now: int
    cameras_needed: int
    adds: tuple[str, ...]  # uncovered points this proposal would cover (its own first)
    entry: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        out = asdict(self)
        out["adds"] = list(self.adds)
        return out


@dataclass(frozen=True, slots=True)
class InstallPlan:
    """A province's installation plan and the coverage it would bring."""

    province: str
    risk_points: int
    uncovered_now: int
    uncovered_after: int  # when every proposal is built
    cameras_proposed: int
    proposals: list[Proposal]


def _adds(here: Coverage, others: list[Coverage], needed: int) -> tuple[str, ...]:
    names = [here.point.name]
    for other in others:
        if other is here:
            continue
        inside = haversine_m(other.point.lat, other.point.lon, here.point.lat, here.point.lon) <= other.point.radius_m
        if inside and other.usable_now + needed >= other.point.required:
            names.append(other.point.name)
    return tuple(names)


def installation_plan(db: Database, province: str, now_ms: int) -> InstallPlan:
    """Proposals for the province's uncovered risk points (module doc)."""
    found = province_coverage(db, province, now_ms=now_ms)
    worst = rank_uncovered(found).get(province, [])
    order = {c.point.key: i for i, c in enumerate(worst)}
    filled = entries(db, "install", [province])
    proposals = []
    for c in worst:
        needed = max(1, c.point.required - c.usable_now)
        item = f"risk:{c.point.key}"
        proposals.append(Proposal(
            item=item, point=c.point.name, kind=c.point.kind, lat=c.point.lat, lon=c.point.lon,
            radius_m=c.point.radius_m, required=c.point.required, usable_now=c.usable_now, cameras_needed=needed,
            adds=_adds(c, worst, needed), entry=filled[item].fields() if item in filled else {}))  # fmt: skip
    proposals.sort(key=lambda p: (-len(p.adds), order[p.item.removeprefix("risk:")]))
    covered_after = {name for p in proposals for name in p.adds}
    return InstallPlan(province=province, risk_points=len(found), uncovered_now=len(worst),
                       uncovered_after=len({c.point.name for c in worst} - covered_after),
                       cameras_proposed=sum(p.cameras_needed for p in proposals), proposals=proposals)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LinkGroup:
    """Declared cameras of one site and agency that no agent watches."""

    site: str
    agency: str
    cameras: list[dict[str, Any]]


def linking_plan(db: Database, province: str) -> list[LinkGroup]:
    """The province's ghosts (declared, never seen by an agent), grouped by site and agency, each
    with the province's step and date to link it."""
    filled = entries(db, "link", [province])
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, register_id, district, location, agency, site, lat, lon, ip, serial, status in db.conn.execute(
        "SELECT d.key, d.register_id, d.district, d.location, d.agency, d.site, d.lat, d.lon, d.ip, d.serial, "
        "d.status FROM audit_declared d JOIN audit_current_matches m ON m.declared_key = d.key "
        "WHERE d.province = ? AND m.klass = ? ORDER BY d.site, d.agency, d.key",
        (province, Class.GHOST.value)):  # fmt: skip
        item = f"camera:{key}"
        groups.setdefault((site, agency), []).append({
            "item": item, "key": key, "register_id": register_id, "district": district, "location": location,
            "lat": lat, "lon": lon, "ip": ip, "serial": serial, "status": status,
            "entry": filled[item].fields() if item in filled else {}})  # fmt: skip
    return [LinkGroup(site, agency, cameras) for (site, agency), cameras in groups.items()]
