"""HTTP API of the audit: register and risk-point uploads, reconciliation classes, overrides,
risk coverage and hygiene, under ``/api/v1/audit``.

Built by :func:`build_router` from the app's own dependencies, so the audit never decides how
callers authenticate: ``principal`` returns the caller (``.role``, ``.provinces``: empty means
every province, ``.name``), ``database`` returns an open :class:`sqlite_utils.Database`.
Imports, reconciliation runs and overrides need the admin role; reads need any role. Every
answer is limited to the caller's provinces.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlite_utils import Database

from aggregator.audit.hygiene import hygiene_flags, load_fleet, rollup
from aggregator.audit.reconcile import Class, ReconcileOptions
from aggregator.audit.register import import_register
from aggregator.audit.risk import rank_uncovered
from aggregator.audit.risk_store import import_risk_points, province_coverage
from aggregator.audit.store import delete_override, run_reconcile, set_override
from aggregator.audit.tablefile import FileTooLargeError, TableFileError, TableLimits
from aggregator.schema import open_db

__all__ = ["OverrideIn", "ReconcileIn", "build_router"]

# Multipart framing around the file: boundaries and part headers, never near a kilobyte.
_MULTIPART_OVERHEAD = 64 * 1024
_COPY_CHUNK = 1 << 20
T = TypeVar("T")


class OverrideIn(BaseModel):
    """An operator's decision about one declared/discovered pair."""

    model_config = ConfigDict(extra="forbid")

    declared_key: str = Field(min_length=1, max_length=300)
    discovered_key: str = Field(min_length=1, max_length=200)
    action: Literal["match", "reject"]
    note: str = Field(default="", max_length=1000)


class ReconcileIn(BaseModel):
    """Options of a reconciliation run."""

    model_config = ConfigDict(extra="forbid")

    province: str | None = Field(default=None, pattern=r"^[1-9][0-9]$")
    position_m: float = Field(default=30.0, gt=0, le=1000)
    moved_m: float = Field(default=150.0, gt=0, le=100000)


def _scope(principal: Any) -> frozenset[str] | None:
    provinces = frozenset(getattr(principal, "provinces", None) or ())
    return provinces or None


def _check_province(principal: Any, province: str | None) -> None:
    scope = _scope(principal)
    if province is not None and scope is not None and province not in scope:
        raise HTTPException(status_code=403, detail=f"province {province} is outside your scope")


def _require_admin(principal: Any) -> None:
    if getattr(principal, "role", None) != "admin":
        raise HTTPException(status_code=403, detail="this needs the admin role")


def _visible(principal: Any, province: str | None) -> list[str] | None:
    """Provinces a query may show: the asked one, else the caller's scope (None = all).

    A province outside the scope is 404, as in the rest of the API: its existence is not told.
    """
    scope = _scope(principal)
    if province is not None and scope is not None and province not in scope:
        raise HTTPException(status_code=404, detail=f"province {province} not found")
    if province is not None:
        return [province]
    return sorted(scope) if scope is not None else None


def _in(column: str, provinces: list[str] | None) -> tuple[str, list[Any]]:
    if provinces is None:
        return "1", []
    return f"{column} IN ({','.join('?' * len(provinces))})", list(provinces)


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
                    raise HTTPException(status_code=413,
                                        detail=f"upload is over {limits.max_bytes} bytes")
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@contextmanager
def _writable(db: Database) -> Iterator[Database]:
    """Yield a connection that may write: ``db`` itself, or a new one to the same file when
    the app hands out read-only readers (``PRAGMA query_only``)."""
    if not db.conn.execute("PRAGMA query_only").fetchone()[0]:
        yield db
        return
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    writer = open_db(path, migrate=False)
    try:
        yield writer
    finally:
        writer.close()


async def _in_thread(db: Database, work: Callable[[Database], T]) -> T:
    """Run a long write (an import) off the event loop, on a connection that may write."""
    def run() -> T:
        with _writable(db) as writer:
            return work(writer)

    return await run_in_threadpool(run)


def _file_error(err: TableFileError) -> HTTPException:
    status = 413 if isinstance(err, FileTooLargeError) else 422
    return HTTPException(status_code=status, detail=f"refused, nothing imported: {err}")


_BAD_JSON: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not valid JSON"}}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The multipart form cannot be parsed"},
    413: {"description": "The file is larger than the import limit; nothing imported"},
}


def build_router(principal: Callable[..., Any], database: Callable[..., Any], *,
                 limits: TableLimits | None = None) -> APIRouter:
    """Return the audit router wired to the app's auth and database dependencies."""
    limits = limits or TableLimits()
    router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
    # Dependencies as defaults, not Annotated aliases: the aliases would be local names that
    # FastAPI cannot resolve from this module's postponed (string) annotations.
    caller_dep: Any = Depends(principal)
    db_dep: Any = Depends(database)

    @router.post("/register", summary="Import a provincial register (CSV or XLSX)", responses=_UPLOAD_ERRORS)
    async def upload_register(request: Request, *, caller: Any = caller_dep, db: Database = db_dep,
                              file: Annotated[UploadFile, File()],
                              mapping: Annotated[str, Form()] = "",
                              prune: Annotated[bool, Form()] = False) -> dict[str, Any]:
        """Administrators only. Columns are mapped by header (``mapping`` overrides: field ->
        header); a file with errors imports nothing. ``prune`` removes declared cameras absent
        from the file."""
        _require_admin(caller)
        try:
            columns = json.loads(mapping) if mapping else None
        except json.JSONDecodeError as err:
            raise HTTPException(status_code=422, detail=f"mapping is not JSON: {err}") from err
        if columns is not None and not (isinstance(columns, dict)
                                        and all(isinstance(v, str) for v in columns.values())):
            raise HTTPException(status_code=422, detail="mapping must be an object field -> header")
        path = await _spool(request, file, limits)
        try:
            report = await _in_thread(db, lambda writer: import_register(
                writer, path, mapping=columns, limits=limits, source=file.filename or path.name,
                prune=prune, by=str(getattr(caller, "name", "")),
                allowed_provinces=_scope(caller)))
        except TableFileError as err:
            raise _file_error(err) from err
        finally:
            path.unlink(missing_ok=True)
        return report.as_dict()

    @router.post("/risk-points", summary="Import risk points (CSV or XLSX)", responses=_UPLOAD_ERRORS)
    async def upload_risk_points(request: Request, *, caller: Any = caller_dep, db: Database = db_dep,
                                 file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """Administrators only. Places that need cameras (name, kind, position, radius, cameras
        required); a file with errors imports nothing."""
        _require_admin(caller)
        path = await _spool(request, file, limits)
        try:
            report = await _in_thread(db, lambda writer: import_risk_points(
                writer, path, limits=limits, source=file.filename or path.name,
                by=str(getattr(caller, "name", "")), allowed_provinces=_scope(caller)))
        except TableFileError as err:
            raise _file_error(err) from err
        finally:
            path.unlink(missing_ok=True)
        return report.as_dict()

    @router.get("/imports", summary="Recent imports with their counts (admin)")
    def imports(*, caller: Any = caller_dep, db: Database = db_dep,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        """Administrators only: file names and counts of every province, newest first."""
        # File names and counts of every province: for admins only.
        _require_admin(caller)
        rows = db.conn.execute(
            "SELECT id, kind, at, source, format, encoding, rows, inserted, updated, unchanged, "
            "rejected, by_user FROM audit_imports ORDER BY id DESC LIMIT ?", (limit,))
        names = ["id", "kind", "at", "source", "format", "encoding", "rows", "inserted",
                 "updated", "unchanged", "rejected", "by"]
        return [dict(zip(names, row, strict=True)) for row in rows]

    @router.post("/reconcile", summary="Match declared to discovered cameras and classify them",
                 responses=_BAD_JSON)
    def reconcile_now(*, caller: Any = caller_dep, db: Database = db_dep, body: ReconcileIn) -> dict[str, Any]:
        """Administrators only; a province-scoped administrator names one of their provinces."""
        _require_admin(caller)
        if body.province is None and _scope(caller) is not None:
            raise HTTPException(status_code=403, detail="a province-scoped admin names a province")
        _check_province(caller, body.province)
        options = ReconcileOptions(position_m=body.position_m, moved_m=body.moved_m)
        with _writable(db) as writer:
            run_id, counts = run_reconcile(writer, body.province, options)
        return {"run_id": run_id, "province": body.province, "counts": counts}

    @router.get("/summary", summary="Cameras per reconciliation class and province")
    def summary(*, caller: Any = caller_dep, db: Database = db_dep, province: str | None = None) -> dict[str, dict[str, int]]:
        """Counts per class of the latest reconciliation, in the caller's provinces."""
        where, params = _in("province", _visible(caller, province))
        out: dict[str, dict[str, int]] = {}
        for prov, klass, n in db.conn.execute(
                f"SELECT province, klass, count(*) FROM audit_current_matches WHERE {where} "
                "GROUP BY province, klass ORDER BY province", params):
            out.setdefault(prov, {})[klass] = n
        return out

    @router.get("/matches", summary="Reconciliation lines, filtered by class")
    def matches(*, caller: Any = caller_dep, db: Database = db_dep, province: str | None = None,
                klass: Annotated[Class | None, Query(alias="class")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[dict[str, Any]]:
        """Each declared or discovered camera with its class, rule and confidence, in the caller's
        provinces."""
        where, params = _in("m.province", _visible(caller, province))
        if klass is not None:
            where += " AND m.klass = ?"
            params.append(klass.value)
        rows = db.conn.execute(
            "SELECT m.klass, m.declared_key, m.discovered_key, m.rule, m.confidence, m.distance_m, "
            "m.province, m.district, m.state, m.lat, m.lon, m.note, d.location, d.agency "
            "FROM audit_current_matches m LEFT JOIN audit_declared d ON d.key = m.declared_key "
            f"WHERE {where} ORDER BY m.province, m.klass, m.declared_key, m.discovered_key "
            "LIMIT ? OFFSET ?", [*params, limit, offset])
        names = ["class", "declared_key", "discovered_key", "rule", "confidence", "distance_m",
                 "province", "district", "state", "lat", "lon", "note", "location", "agency"]
        return [dict(zip(names, row, strict=True)) for row in rows]

    @router.get("/declared", summary="Declared cameras of the register, with their latest class")
    def declared(*, caller: Any = caller_dep, db: Database = db_dep, province: str | None = None,
                 district: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$")] = None,
                 q: Annotated[str, Query(max_length=100)] = "",
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[dict[str, Any]]:
        """The register's cameras with the class of their latest match; ``q`` searches location,
        serial, register id and IP."""
        where, params = _in("d.province", _visible(caller, province))
        if district is not None:
            where += " AND d.district = ?"
            params.append(district)
        if q:
            where += " AND (d.location LIKE ? OR d.serial LIKE ? OR d.register_id LIKE ? OR d.ip = ?)"
            like = "%" + q.replace("%", "").replace("_", "") + "%"
            params.extend([like, like.upper(), like, q])
        names = ["key", "register_id", "province", "district", "agency", "location", "lat", "lon",
                 "maker", "model", "ip", "mac", "serial", "installed", "status", "site", "line",
                 "class", "discovered_key", "rule"]
        rows = db.conn.execute(
            f"SELECT {', '.join('d.' + n for n in names[:17])}, m.klass, m.discovered_key, m.rule "
            "FROM audit_declared d LEFT JOIN audit_current_matches m ON m.declared_key = d.key "
            f"WHERE {where} ORDER BY d.key LIMIT ? OFFSET ?", [*params, limit, offset])
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _override_scope(caller: Any, db: Database, declared_key: str, discovered_key: str) -> None:
        _check_province(caller, declared_key.split("|", 1)[0])
        site = discovered_key.split("/", 1)[0]
        found = db.conn.execute("SELECT province FROM sites WHERE site_id = ?", (site,)).fetchone()
        if found is None:
            raise HTTPException(status_code=404, detail=f"no site {site!r}")
        _check_province(caller, found[0])

    @router.get("/overrides", summary="Operators' match and reject decisions")
    def overrides(*, caller: Any = caller_dep, db: Database = db_dep) -> list[dict[str, Any]]:
        """Decisions taken by operators, in the caller's provinces, newest first."""
        scope = _scope(caller)
        rows = db.conn.execute("SELECT declared_key, discovered_key, action, note, by_user, at "
                               "FROM audit_overrides ORDER BY at DESC")
        names = ["declared_key", "discovered_key", "action", "note", "by", "at"]
        return [dict(zip(names, row, strict=True)) for row in rows
                if scope is None or row[0].split("|", 1)[0] in scope]

    @router.put("/overrides", summary="Confirm, force or forbid a pair (survives re-imports)",
                responses=_BAD_JSON)
    def put_override(*, caller: Any = caller_dep, db: Database = db_dep, body: OverrideIn) -> dict[str, str]:
        """Administrators only; applies at the next reconciliation run."""
        _require_admin(caller)
        found = db.conn.execute("SELECT 1 FROM audit_declared WHERE key = ?",
                                (body.declared_key,)).fetchone()
        if found is None:
            raise HTTPException(status_code=404, detail=f"no declared camera {body.declared_key!r}")
        _override_scope(caller, db, body.declared_key, body.discovered_key)
        with _writable(db) as writer:
            set_override(writer, body.declared_key, body.discovered_key, body.action, body.note,
                         by=str(getattr(caller, "name", "")))
        return {"status": "saved", "applies": "at the next reconciliation run"}

    @router.delete("/overrides", summary="Remove an override")
    def remove_override(*, caller: Any = caller_dep, db: Database = db_dep, declared_key: str,
                        discovered_key: str) -> dict[str, str]:
        """Administrators only; 404 when no such override exists."""
        _require_admin(caller)
        _check_province(caller, declared_key.split("|", 1)[0])
        with _writable(db) as writer:
            deleted = delete_override(writer, declared_key, discovered_key)
        if not deleted:
            raise HTTPException(status_code=404, detail="no such override")
        return {"status": "deleted"}

    @router.get("/risk-coverage", summary="Usable cameras around each risk point")
    def risk_coverage(*, caller: Any = caller_dep, db: Database = db_dep, province: str | None = None,
                      uncovered: bool = False) -> list[dict[str, Any]]:
        """For each risk point: cameras within its radius, usable now and over 30 days;
        ``uncovered`` lists the worst first."""
        provinces = _visible(caller, province)
        found = (province_coverage(db) if provinces is None
                 else [c for p in provinces for c in province_coverage(db, p)])
        chosen = ([c for items in rank_uncovered(found).values() for c in items]
                  if uncovered else found)
        return [{"province": c.point.province, "name": c.point.name, "kind": c.point.kind,
                 "lat": c.point.lat, "lon": c.point.lon, "radius_m": c.point.radius_m,
                 "required": c.point.required, "cameras": c.cameras, "usable_now": c.usable_now,
                 "usable_30d": c.usable_30d, "best_30d": c.best_30d,
                 "nearest_usable_m": c.nearest_usable_m, "covered": c.covered} for c in chosen]

    @router.get("/hygiene", summary="Security hygiene flags per province and camera")
    def hygiene(*, caller: Any = caller_dep, db: Database = db_dep, province: str | None = None,
                limit: Annotated[int, Query(ge=0, le=5000)] = 500) -> dict[str, Any]:
        """Default passwords, old firmware and clock drift, rolled up per province, with the
        flagged cameras (up to ``limit``)."""
        provinces = _visible(caller, province)
        # "Newest firmware" is judged against the whole fleet, then cut to the caller's view.
        fleet = load_fleet(db)
        flags = hygiene_flags(fleet)

        def keep(p: str) -> bool:
            return provinces is None or p in provinces

        return {
            "provinces": [asdict(r) for r in rollup([c for c in fleet if keep(c.province)],
                                                     [f for f in flags if keep(f.province)])],
            "cameras": [{"camera": f.key, "province": f.province,
                         "flags": [x.value for x in f.flags], "firmware": f.firmware,
                         "newest_firmware": f.newest_firmware, "clock_offset_s": f.clock_offset_s}
                        for f in flags if keep(f.province)][:limit],
        }

    return router
