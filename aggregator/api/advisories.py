"""Firmware advisories API: the list in force, matched cameras per province, and the
administrator's import (``/api/v1/audit/advisories``).

A fact for the audit, never an action. Reads need any role and see their provinces only;
an import replaces the national list, so it needs an unscoped administrator, and it is all
or nothing: a bad file answers 422 with one line per bad row and changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from aggregator.api.deps import (
    AdminDep,
    CallerDep,
    ContextDep,
    DbDep,
    require_national,
    visible_provinces,
)
from aggregator.api.schemas.advisories import AdvisoriesPublic, AdvisoryImported
from aggregator.audit.advisories import (
    AdvisoryError,
    advisory_counts,
    current_advisories,
    import_advisories,
    match_advisories,
)
from aggregator.audit.hygiene import load_fleet
from aggregator.days import to_ms

__all__ = ["router"]

# A list of every camera CVE ever published stays far below this.
MAX_FILE_BYTES = 2 * 1024 * 1024
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The multipart form cannot be parsed"},
    413: {"description": "The file is larger than 2 MiB; nothing imported"},
}
router = APIRouter(prefix="/api/v1/audit/advisories", tags=["audit"])


@router.get("", response_model=AdvisoriesPublic, summary="Firmware advisories and the cameras they match")
def advisories(db: DbDep, caller: CallerDep, province: Annotated[str | None, Query()] = None,
               limit: Annotated[int, Query(ge=0, le=5000)] = 500) -> AdvisoriesPublic:
    """The list in force (shipped or imported), per-province counts of matched cameras
    (cameras, KEV, per CVE) and the matched cameras (up to ``limit``), in the caller's provinces."""
    provinces = visible_provinces(caller, province)
    listed = current_advisories(db)
    imported = db.conn.execute("SELECT 1 FROM advisories LIMIT 1").fetchone() is not None
    fleet = [c for c in load_fleet(db) if provinces is None or c.province in provinces]
    matched = match_advisories(fleet, listed)
    counts = {p: v for p, v in advisory_counts(db).items() if provinces is None or p in provinces}
    cameras = [{"camera": c.key, "province": c.province, "maker": c.maker, "model": c.model,
                "firmware": c.firmware, "cves": sorted({a.cve for a in matched[c.key]}),
                "kev": any(a.kev for a in matched[c.key])} for c in fleet if c.key in matched]
    return AdvisoriesPublic.model_validate({
        "origin": "imported" if imported else "shipped", "advisories": [asdict(a) for a in listed],
        "counts": counts, "cameras": cameras[:limit]})


@router.post("", response_model=AdvisoryImported, summary="Replace the advisories list (CSV, admin)",
             responses=_UPLOAD_ERRORS)
async def import_file(ctx: ContextDep, caller: AdminDep, file: Annotated[UploadFile, File()]) -> AdvisoryImported:
    """National administrators only. The CSV of docs/audit.md (the shipped file's columns);
    any bad row refuses the whole file (422, one line per bad row)."""
    require_national(caller)
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise HTTPException(status_code=413, detail=f"refused, nothing imported: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HTTPException(status_code=422, detail="refused, nothing imported: the file is not UTF-8") from err

    def run() -> int:
        with ctx.writer() as writer:
            return import_advisories(writer, text, by=caller.name, now_ms=to_ms(ctx.clock()))

    try:
        rows = await run_in_threadpool(run)
    except AdvisoryError as err:
        raise HTTPException(status_code=422, detail="refused, nothing imported:\n" + "\n".join(err.lines)) from err
    return AdvisoryImported(rows=rows)
