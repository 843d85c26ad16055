"""Audit API of the province's plans, under ``/api/v1/audit``: the national completeness table,
a province's repair, installation and linking plans (with the fields the province fills per
line), the repair plan as XLSX/CSV, and the province's certification of its audit.

Reads need any role; filling a plan line and certifying need the admin role. A province outside
the caller's scope is 404, as everywhere; the national table holds the caller's provinces only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlite_utils import Database

from aggregator.api.audit_edit import LangDep
from aggregator.api.bodies import admin_body
from aggregator.api.deps import (
    AdminDep,
    ApiContext,
    CallerDep,
    ContextDep,
    DbDep,
    ensure_visible,
    visible_provinces,
)
from aggregator.api.schemas.audit_plans import (
    CertificationOut,
    CertificationStateOut,
    CertifyIn,
    CompletenessRow,
    EntryOut,
    InstallPlanOut,
    LinkPlanOut,
    PlanEntryIn,
    RepairPlanOut,
)
from aggregator.audit.certify import certification_state, certify
from aggregator.audit.national import TableCache
from aggregator.audit.plan import PlanTotals, plan_totals, repair_plan
from aggregator.audit.plan_export import plan_csv, plan_xlsx
from aggregator.audit.plan_store import Certification, PlanEntry, save_entry
from aggregator.audit.province_plans import installation_plan, linking_plan
from aggregator.days import to_ms

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
EntryBody = Annotated[PlanEntryIn, Depends(admin_body(PlanEntryIn))]
CertifyBody = Annotated[CertifyIn, Depends(admin_body(CertifyIn))]
ProvinceQ = Annotated[str | None, Query(description="Only this province (DOPA code)")]


def _province(db: DbDep, caller: CallerDep, code: str) -> str:
    """``code`` when it is a province the caller sees; 404 (the same words) otherwise."""
    ensure_visible(caller, code, f"province {code}")
    if db.execute("SELECT 1 FROM provinces WHERE code = ?", [code]).fetchone() is None:
        ensure_visible(caller, None, f"province {code}")
    return code


def _table_cache(request: Request) -> TableCache:
    """The app's national-table cache (one per app, made on first use)."""
    cache = getattr(request.app.state, "audit_table_cache", None)
    if cache is None:
        cache = request.app.state.audit_table_cache = TableCache()
    return cache


def _unbounded_reader(ctx: ApiContext) -> Callable[[], AbstractContextManager[Database]]:
    """A read-only connection of its own for the national table's first computation (not bounded
    by the API's read limit: it may take a few seconds at 400,000 declared cameras, then is kept)."""
    @contextmanager
    def connect() -> Iterator[Database]:
        with ctx.writer() as db:
            db.conn.execute("PRAGMA query_only = ON")
            yield db

    return connect


@router.get("/completeness", response_model=list[CompletenessRow],
            summary="Completeness and accuracy of each province's register, ranked (committee view)")  # fmt: skip
def completeness_table(request: Request, ctx: ContextDep, db: DbDep, caller: CallerDep,
                       province: ProvinceQ = None) -> list[CompletenessRow]:  # fmt: skip
    """Per province: shares of declared cameras with position, serial, agency and status; shares
    seen and verified by an agent; ghosts and unregistered cameras; the repair plan's progress and
    the latest certification. Most complete first. Kept while the audit does not change; the
    fault-derived plan figures may be up to a minute old."""
    rows = _table_cache(request).get(db, visible_provinces(caller, province), to_ms(ctx.clock()), _unbounded_reader(ctx))
    return [CompletenessRow.model_validate({
        **r.completeness.as_dict(), "rank": i, "plan": r.plan.as_dict() if r.plan else None,
        "certified_at": r.certification.at if r.certification else None,
        "certified_by": r.certification.officer if r.certification else None}) for i, r in enumerate(rows, start=1)]


def _empty_totals(code: str) -> PlanTotals:
    return PlanTotals(code, 0, 0, 0, 0.0, 0, 0.0, 0)


@router.get("/plans/{code}/repair", response_model=RepairPlanOut, summary="A province's repair plan, most urgent first")
def repair(ctx: ContextDep, db: DbDep, caller: CallerDep, code: str) -> RepairPlanOut:
    """Broken declared cameras and open camera faults, ranked by risk (uncovered risk points
    covered, risk points around, fault age), with the province's fields; then the done lines with
    the parts and cost recorded when their faults were resolved."""
    _province(db, caller, code)
    now_ms = to_ms(ctx.clock())
    lines = repair_plan(db, code, now_ms)
    totals = plan_totals(db, [code], now_ms=now_ms).get(code) or _empty_totals(code)
    return RepairPlanOut.model_validate({"province": code, "totals": totals.as_dict(),
                                         "rows": [line.as_dict() for line in lines]})  # fmt: skip


@router.get("/plans/{code}/repair/export", response_class=Response, summary="A province's repair plan as XLSX or CSV",
            responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                                         "text/csv": {}}, "description": "The plan, one row per line"}})  # fmt: skip
def repair_export(ctx: ContextDep, db: DbDep, caller: CallerDep, code: str, lang: LangDep,
                  format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx") -> Response:  # fmt: skip
    """The same lines as ``GET /plans/{code}/repair``, headers in the caller's language; the CSV
    is UTF-8 with a BOM (Excel on Windows reads the Thai)."""
    _province(db, caller, code)
    lines = repair_plan(db, code, to_ms(ctx.clock()))
    name = f"repair-plan-{code}.{format}"
    if format == "csv":
        body, media = plan_csv(lines, lang), "text/csv; charset=utf-8"
    else:
        body, media = plan_xlsx(lines, lang, title=f"repair {code}"), (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/plans/{code}/install", response_model=InstallPlanOut,
            summary="A province's installation plan: cameras for its uncovered risk points")  # fmt: skip
def install(ctx: ContextDep, db: DbDep, caller: CallerDep, code: str) -> InstallPlanOut:
    """One proposal per uncovered risk point, with the cameras it needs and the uncovered points
    it would cover, best first."""
    _province(db, caller, code)
    plan = installation_plan(db, code, to_ms(ctx.clock()))
    return InstallPlanOut.model_validate({
        "province": code, "risk_points": plan.risk_points, "uncovered_now": plan.uncovered_now,
        "uncovered_after": plan.uncovered_after, "cameras_proposed": plan.cameras_proposed,
        "proposals": [p.as_dict() for p in plan.proposals]})  # fmt: skip


@router.get("/plans/{code}/link", response_model=LinkPlanOut,
            summary="A province's linking plan: declared cameras no agent watches")  # fmt: skip
def link(db: DbDep, caller: CallerDep, code: str) -> LinkPlanOut:
    """The declared cameras the latest reconciliation never saw, grouped by site and agency."""
    _province(db, caller, code)
    groups = linking_plan(db, code)
    return LinkPlanOut.model_validate({"province": code, "cameras": sum(len(g.cameras) for g in groups),
                                       "groups": [{"site": g.site, "agency": g.agency, "cameras": g.cameras}
                                                  for g in groups]})  # fmt: skip


def _item_province(db: DbDep, item: str) -> str | None:
    """The province a plan item belongs to (None: no such item)."""
    kind, _, ref = item.partition(":")
    if kind == "camera":
        row = db.execute("SELECT province FROM audit_declared WHERE key = ?", [ref]).fetchone()
    elif kind == "fault" and ref.isdigit() and len(ref) <= 18:
        row = db.execute("SELECT province FROM faults WHERE id = ?", [int(ref)]).fetchone()
    elif kind == "risk":
        row = db.execute("SELECT province FROM audit_risk_points WHERE key = ?", [ref]).fetchone()
    else:
        row = None
    return str(row[0]) if row else None


@router.put("/plans/{code}", response_model=EntryOut, summary="Fill one line of a province's plan")
def fill(ctx: ContextDep, db: DbDep, caller: AdminDep, code: str, body: EntryBody) -> EntryOut:
    """Administrators of the province: action (or purpose, or step), responsible agency, target
    date, estimated cost in baht, priority and a note for one line (``item``) of the repair,
    installation or linking plan. 404 when the item is not the province's."""
    _province(db, caller, code)
    if _item_province(db, body.item) != code:
        raise HTTPException(status_code=404, detail=f"plan item {body.item!r} not found in province {code}")
    entry = PlanEntry(plan=body.plan, item=body.item, province=code, action=body.action, agency=body.agency,
                      target_date=body.target_date.isoformat() if body.target_date else None,
                      cost_baht=body.cost_baht, priority=body.priority, note=body.note, by=caller.name,
                      at=ctx.clock().isoformat(timespec="seconds"))  # fmt: skip
    with ctx.writer() as writer:
        save_entry(writer, entry)
    return EntryOut.model_validate(entry.fields())


@router.post("/certifications/{code}", response_model=CertificationOut, summary="Certify a province's audit as complete")
def certify_province(ctx: ContextDep, db: DbDep, caller: AdminDep, code: str, body: CertifyBody) -> CertificationOut:
    """Administrators of the province: freeze the audit's figures now, signed by ``officer``.
    Later changes to the register show as changed since certification; this snapshot stays."""
    _province(db, caller, code)
    now = ctx.clock()
    with ctx.writer() as writer:
        certify(writer, code, body.officer, by=caller.name, at=now.isoformat(timespec="seconds"), note=body.note,
                now_ms=to_ms(now))  # fmt: skip
        state = certification_state(writer, code, to_ms(now))
    assert state.certification is not None  # just written
    return CertificationOut.model_validate(_cert(state.certification))


def _cert(cert: Certification) -> dict[str, Any]:
    out = asdict(cert)
    out.pop("digest")  # the register's hash: nothing a reader needs
    return out


@router.get("/certifications/{code}", response_model=CertificationStateOut,
            summary="A province's latest certification and whether its register changed since")  # fmt: skip
def certification(ctx: ContextDep, db: DbDep, caller: CallerDep, code: str) -> CertificationStateOut:
    """The certified snapshot as it was made, ``changed_since_certification`` with the audit
    trail's lines written since, and the figures now."""
    _province(db, caller, code)
    state = certification_state(db, code, to_ms(ctx.clock()))
    return CertificationStateOut.model_validate({
        "province": code, "certification": _cert(state.certification) if state.certification else None,
        "changed_since_certification": state.changed, "changes": state.changes, "current": state.current})  # fmt: skip
