"""Audit API: register and risk-point uploads, reconciliation runs and classes, overrides, risk
coverage and hygiene, under ``/api/v1/audit``.

Imports, runs and overrides need the admin role; reads need any role. Every answer is
limited to the caller's provinces (anything outside them is 404); a run over the whole
country needs an unscoped token (403). Writes go through a connection of their own
(:meth:`ApiContext.writer`): the routes' readers are read-only.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
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
    require_national,
    scope_of,
    visible_provinces,
)
from aggregator.api.schemas.audit import (
    CameraInRadius,
    DeclaredPublic,
    HygienePublic,
    ImportLogEntry,
    MatchPublic,
    OverrideIn,
    OverridePublic,
    ReconcileIn,
    ReconcileRun,
    RegisterImport,
    RiskCoveragePublic,
    RiskImport,
    StatusOut,
)
from aggregator.audit import queries
from aggregator.audit.advisories import current_advisories, match_advisories
from aggregator.audit.hygiene import hygiene_flags, load_fleet, rollup, skewed_sites
from aggregator.audit.reconcile import Class, ReconcileOptions
from aggregator.audit.register import import_register
from aggregator.audit.risk import rank_uncovered
from aggregator.audit.risk_store import import_risk_points, province_coverage
from aggregator.audit.store import delete_override, run_reconcile, set_override
from aggregator.audit.tablefile import FileTooLargeError, TableFileError, TableLimits
from aggregator.auth import Principal
from aggregator.days import to_ms
from aggregator.store.queries.sites import site_province

__all__ = ["router"]

# Multipart framing around the file: boundaries and part headers, never near a kilobyte.
_MULTIPART_OVERHEAD = 64 * 1024
_COPY_CHUNK = 1 << 20
T = TypeVar("T")
ProvinceQ = Annotated[str | None, Query(description="Only this province (DOPA code)")]
ReconcileBody = Annotated[ReconcileIn, Depends(admin_body(ReconcileIn))]
OverrideBody = Annotated[OverrideIn, Depends(admin_body(OverrideIn))]
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The multipart form cannot be parsed"},
    413: {"description": "The file is larger than the import limit; nothing imported"},
}
router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def _scope_set(caller: Principal) -> frozenset[str] | None:
    return caller.provinces or None


async def _spool(request: Request, upload: UploadFile, limits: TableLimits) -> Path:
    """Copy an upload to a temporary file, refusing it as soon as it is over the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes + _MULTIPART_OVERHEAD:
        raise HTTPException(status_code=413, detail=f"upload is over {limits.max_bytes} bytes")
    handle = tempfile.NamedTemporaryFile(prefix="camwatch-audit-", delete=False)
    path = Path(handle.name)
    written = 0
    try:
        with handle:
            while chunk := await upload.read(_COPY_CHUNK):
                written += len(chunk)
                if written > limits.max_bytes:
                    raise HTTPException(status_code=413, detail=f"upload is over {limits.max_bytes} bytes")
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _import(ctx: ApiContext, request: Request, upload: UploadFile, work: Callable[[Database, Path], T]) -> T:
    """Spool the upload, then run the (long) import off the event loop on a writing connection."""
    path = await _spool(request, upload, ctx.audit_limits)

    def run() -> T:
        with ctx.writer() as writer:
            return work(writer, path)

    try:
        return await run_in_threadpool(run)
    except TableFileError as err:
        status = 413 if isinstance(err, FileTooLargeError) else 422
        raise HTTPException(status_code=status, detail=f"refused, nothing imported: {err}") from err
    finally:
        path.unlink(missing_ok=True)


def _mapping(text: str) -> dict[str, str] | None:
    try:
        columns = json.loads(text) if text else None
    except json.JSONDecodeError as err:
        raise HTTPException(status_code=422, detail=f"mapping is not JSON: {err}") from err
    if columns is not None and not (isinstance(columns, dict) and all(isinstance(v, str) for v in columns.values())):
        raise HTTPException(status_code=422, detail="mapping must be an object field -> header")
    return columns


@router.post("/register", response_model=RegisterImport, summary="Import a provincial register (CSV or XLSX)",
             responses=_UPLOAD_ERRORS)  # fmt: skip
async def upload_register(
    request: Request, ctx: ContextDep, caller: AdminDep, file: Annotated[UploadFile, File()], lang: LangDep,
    mapping: Annotated[str, Form()] = "", prune: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> RegisterImport:  # fmt: skip
    """Administrators only. Columns are mapped by header (``mapping`` overrides: field ->
    header); a file with errors imports nothing. ``prune`` removes declared cameras absent
    from the file. Rows outside the caller's provinces are refused. Each refused row comes
    with its reasons in the caller's language and the user's own values; all of them are kept
    (``GET /imports/{import_id}/rejected``). ``dry_run`` answers the same report without
    keeping anything (the preview of what the import would change; ``import_id`` 0)."""
    columns = _mapping(mapping)
    report = await _import(ctx, request, file, lambda db, path: import_register(
        db, path, mapping=columns, limits=ctx.audit_limits, source=file.filename or path.name, prune=prune,
        by=caller.name, allowed_provinces=_scope_set(caller), dry_run=dry_run))  # fmt: skip
    return RegisterImport.model_validate(report.as_dict(lang))


@router.post("/risk-points", response_model=RiskImport, summary="Import risk points (CSV or XLSX)",
             responses=_UPLOAD_ERRORS)  # fmt: skip
async def upload_risk_points(
    request: Request, ctx: ContextDep, caller: AdminDep, file: Annotated[UploadFile, File()], lang: LangDep,
) -> RiskImport:
    """Administrators only. Places that need cameras (name, kind, position, radius, cameras
    required); a file with errors imports nothing."""
    report = await _import(ctx, request, file, lambda db, path: import_risk_points(
        db, path, limits=ctx.audit_limits, source=file.filename or path.name, by=caller.name,
        allowed_provinces=_scope_set(caller)))  # fmt: skip
    return RiskImport.model_validate(report.as_dict(lang))


@router.get("/imports", response_model=list[ImportLogEntry], summary="Recent imports with their counts (admin)")
def imports(db: DbDep, caller: AdminDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[ImportLogEntry]:
    """Administrators only: file names and counts, newest first; a province's administrator
    sees the imports made within their provinces."""
    return [ImportLogEntry.model_validate(row) for row in queries.import_log(db, limit, scope_of(caller))]


@router.post("/reconcile", response_model=ReconcileRun,
             summary="Match declared to discovered cameras and classify them")  # fmt: skip
def reconcile_now(ctx: ContextDep, caller: AdminDep, body: ReconcileBody) -> ReconcileRun:
    """Administrators only; a province-scoped administrator names one of their provinces."""
    if body.province is None:
        require_national(caller)
    else:
        ensure_visible(caller, body.province, f"province {body.province}")
    options = ReconcileOptions(position_m=body.position_m, moved_m=body.moved_m)
    with ctx.writer() as writer:
        run_id, counts = run_reconcile(writer, body.province, options)
    return ReconcileRun(run_id=run_id, province=body.province, counts=counts)


@router.get("/summary", response_model=dict[str, dict[str, int]], summary="Cameras per reconciliation class and province")
def summary(db: DbDep, caller: CallerDep, province: ProvinceQ = None) -> dict[str, dict[str, int]]:
    """Counts per class of the latest reconciliation, in the caller's provinces."""
    return queries.class_summary(db, visible_provinces(caller, province))


@router.get("/matches", response_model=list[MatchPublic], summary="Reconciliation lines, filtered by class")
def matches(
    db: DbDep, caller: CallerDep, province: ProvinceQ = None,
    klass: Annotated[Class | None, Query(alias="class")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[MatchPublic]:  # fmt: skip
    """Each declared or discovered camera with its class, rule and confidence, in the caller's provinces."""
    rows = queries.match_lines(db, visible_provinces(caller, province), klass.value if klass else None, limit, offset)
    return [MatchPublic.model_validate(row) for row in rows]


@router.get("/declared", response_model=list[DeclaredPublic],
            summary="Declared cameras of the register, with their latest class")  # fmt: skip
def declared(
    db: DbDep, caller: CallerDep, province: ProvinceQ = None,
    district: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$")] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    klass: Annotated[Class | None, Query(alias="class")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[DeclaredPublic]:  # fmt: skip
    """The register's cameras with the class and live state of their latest match; ``q``
    searches location, agency, serial, register id and IP; ``class`` keeps one class."""
    rows = queries.declared_cameras(db, visible_provinces(caller, province), district, q, limit, offset,
                                    klass.value if klass else None)
    return [DeclaredPublic.model_validate(row) for row in rows]


@router.get("/overrides", response_model=list[OverridePublic], summary="Operators' match and reject decisions")
def overrides(db: DbDep, caller: CallerDep) -> list[OverridePublic]:
    """Decisions taken by operators, in the caller's provinces, newest first."""
    return [OverridePublic.model_validate(row) for row in queries.overrides(db, scope_of(caller))]


@router.put("/overrides", response_model=StatusOut, summary="Confirm, force or forbid a pair (survives re-imports)")
def put_override(ctx: ContextDep, db: DbDep, caller: AdminDep, body: OverrideBody) -> StatusOut:
    """Administrators only, for pairs in their provinces; applies at the next reconciliation run."""
    if not queries.declared_exists(db, body.declared_key):
        raise HTTPException(status_code=404, detail=f"no declared camera {body.declared_key!r}")
    ensure_visible(caller, body.declared_key.split("|", 1)[0], f"declared camera {body.declared_key!r}")
    site = body.discovered_key.split("/", 1)[0]
    ensure_visible(caller, site_province(db, site), f"site {site!r}")
    with ctx.writer() as writer:
        set_override(writer, body.declared_key, body.discovered_key, body.action, body.note, by=caller.name)
    return StatusOut(status="saved", applies="at the next reconciliation run")


@router.delete("/overrides", response_model=StatusOut, response_model_exclude_none=True, summary="Remove an override")
def remove_override(ctx: ContextDep, caller: AdminDep, declared_key: str, discovered_key: str) -> StatusOut:
    """Administrators only, for pairs in their provinces; 404 when no such override exists."""
    ensure_visible(caller, declared_key.split("|", 1)[0], "override")
    with ctx.writer() as writer:
        deleted = delete_override(writer, declared_key, discovered_key, by=caller.name)
    if not deleted:
        raise HTTPException(status_code=404, detail="no such override")
    return StatusOut(status="deleted")


@router.get("/risk-coverage", response_model=list[RiskCoveragePublic], summary="Usable cameras around each risk point")
def risk_coverage(ctx: ContextDep, db: DbDep, caller: CallerDep, province: ProvinceQ = None,
                  uncovered: bool = False) -> list[RiskCoveragePublic]:  # fmt: skip
    """For each risk point: cameras within its radius, usable now and over 30 days;
    ``uncovered`` lists the worst first."""
    provinces = visible_provinces(caller, province)
    now_ms = to_ms(ctx.clock())
    found = (province_coverage(db, now_ms=now_ms) if provinces is None
             else [c for p in provinces for c in province_coverage(db, p, now_ms=now_ms)])  # fmt: skip
    chosen = [c for items in rank_uncovered(found).values() for c in items] if uncovered else found
    return [RiskCoveragePublic(province=c.point.province, name=c.point.name, kind=c.point.kind, lat=c.point.lat,
                               lon=c.point.lon, radius_m=c.point.radius_m, required=c.point.required,
                               cameras=c.cameras, usable_now=c.usable_now, usable_30d=c.usable_30d,
                               best_30d=c.best_30d, nearest_usable_m=c.nearest_usable_m, covered=c.covered,
                               inside=[CameraInRadius(camera=cam.key, lat=cam.lat, lon=cam.lon, distance_m=d,
                                                      usable_now=cam.usable_now) for cam, d in c.inside])
            for c in chosen]  # fmt: skip


@router.get("/hygiene", response_model=HygienePublic, summary="Security hygiene flags per province and camera")
def hygiene(db: DbDep, ctx: ContextDep, caller: CallerDep, province: ProvinceQ = None,
            limit: Annotated[int, Query(ge=0, le=5000)] = 500) -> HygienePublic:  # fmt: skip
    """Default passwords, old firmware, clock drift, firmware advisories (known exploited
    vulnerabilities), cameras replaced within 30 days and cameras rebooting 3 times a week,
    rolled up per province, with the flagged cameras (up to ``limit``)."""
    provinces = visible_provinces(caller, province)
    # "Newest firmware" is judged against the whole fleet, then cut to the caller's view.
    fleet = load_fleet(db, now_ms=to_ms(ctx.clock()))
    advised = {key: [a.cve for a in found] for key, found in match_advisories(fleet, current_advisories(db)).items()}
    flags = hygiene_flags(fleet, advised=advised)

    def keep(p: str) -> bool:
        return provinces is None or p in provinces

    return HygienePublic.model_validate({
        "provinces": [asdict(r) for r in rollup([c for c in fleet if keep(c.province)],
                                                 [f for f in flags if keep(f.province)])],
        "cameras": [{"camera": f.key, "province": f.province, "flags": [x.value for x in f.flags],
                     "firmware": f.firmware, "newest_firmware": f.newest_firmware,
                     "clock_offset_s": f.clock_offset_s, "cves": list(f.cves)}
                    for f in flags if keep(f.province)][:limit],
        "sites": [{"site_id": s.site_id, "province": s.province, "flags": ["clock_skew"],
                   "clock_offset_s": s.clock_offset_s, "hint": s.hint} for s in skewed_sites(db) if keep(s.province)][:limit],
    })  # fmt: skip
