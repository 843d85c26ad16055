"""Report API: a month's committee report as JSON, CSV or a printable HTML page, and the
camera page's daily bars.

``GET /api/v1/reports/monthly?month=YYYY-MM&province=NN&format=json|csv|html&lang=th|en``;
``GET /api/v1/reports/pack?month=YYYY-MM&province=NN&format=json|html|pdf|xlsx&lang=th|en`` (the
committee pack: targets, month on month, faults, audit, charts; PDF printed by headless Chromium);
``GET /api/v1/reports/camera-days/{site_id}/{camera_id}?days=30``.
The nation's report needs an unscoped token (403); a province outside the token's is 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlite_utils import Database

from aggregator.api.common import CameraIdPath, SiteIdPath
from aggregator.api.deps import (
    CallerDep,
    ContextDep,
    DbDep,
    ensure_visible,
    require_national,
    visible,
)
from aggregator.api.schemas.reports import CameraDayBar, CommitteePackPublic, MonthlyReportPublic
from aggregator.reports.camera_days import camera_day_bars
from aggregator.reports.monthly import build_report
from aggregator.reports.pack import build_pack
from aggregator.reports.pack_render import pack_html, pack_json
from aggregator.reports.pack_xlsx import pack_xlsx
from aggregator.reports.pdf import PdfError, html_to_pdf
from aggregator.reports.render import csv_bytes, to_csv, to_html, to_json
from aggregator.store.queries.cameras import camera_ref

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


def _report_db(ctx: ContextDep) -> Iterator[Database]:
    """A read-only snapshot bounded by ``report.read_timeout_s``: a national report or pack reads
    two months of every camera, longer than the bound of an interactive page."""
    with ctx.pool.reading(timeout_s=ctx.settings.report.read_timeout_s) as db:
        yield db


ReportDbDep = Annotated[Database, Depends(_report_db)]
_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": MonthlyReportPublic, "content": {"text/csv": {}, "text/html": {}},
        "description": "The report: JSON (format=json), CSV (format=csv, a download) or a printable page (format=html)",
    }
}  # fmt: skip


@router.get("/monthly", response_class=Response, responses=_FORMATS,
            summary="A month's availability report (JSON, CSV or HTML)")  # fmt: skip
def monthly(
    ctx: ContextDep, db: ReportDbDep, caller: CallerDep,
    month: Annotated[str, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="Bangkok calendar month YYYY-MM")],
    province: Annotated[str | None, Query(pattern=r"^[1-9][0-9]$")] = None,
    format: Literal["json", "csv", "html"] = "json",
    lang: Literal["th", "en"] = "th",
    audit: Annotated[bool | None, Query(description="Add the register audit (default: printable page only)")] = None,
) -> Response:  # fmt: skip
    """One month's report for the nation or a province."""
    if province is None:
        require_national(caller)
    else:
        ensure_visible(caller, province, f"province {province}")
    try:
        # The audit section costs seconds at national scale: the printable page carries it,
        # the dashboard's table and the CSV do not need it.
        with_audit = audit if audit is not None else format == "html"
        report = build_report(db, month, province, now=ctx.clock(), with_audit=with_audit)
    except ValueError as err:
        raise HTTPException(422, str(err)) from err
    name = f"camwatch-{month}{'-' + province if province else ''}"
    if format == "csv":
        return Response(csv_bytes(to_csv(report, lang)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
    if format == "html":
        return HTMLResponse(to_html(report, lang),
                            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})  # fmt: skip
    return JSONResponse(MonthlyReportPublic.model_validate(to_json(report, lang)).model_dump(mode="json"))


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PACK_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": CommitteePackPublic, "content": {"text/html": {}, "application/pdf": {}, _XLSX: {}},
        "description": "The pack: JSON (format=json), a printable page (format=html), a PDF (format=pdf) "
                       "or a workbook (format=xlsx)",
    },
    503: {"description": "PDF asked for and headless Chromium is missing or failed (the message says which)"},
}  # fmt: skip
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@router.get("/pack", response_class=Response, responses=_PACK_FORMATS,
            summary="A month's committee pack (JSON, HTML, PDF or XLSX)")  # fmt: skip
def pack(
    ctx: ContextDep, db: ReportDbDep, caller: CallerDep,
    month: Annotated[str, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="Bangkok calendar month YYYY-MM")],
    province: Annotated[str | None, Query(pattern=r"^[1-9][0-9]$")] = None,
    format: Literal["json", "html", "pdf", "xlsx"] = "html",
    lang: Literal["th", "en"] = "th",
) -> Response:  # fmt: skip
    """The committee pack for the nation (unscoped tokens) or a province (404 outside the token's)."""
    if province is None:
        require_national(caller)
    else:
        ensure_visible(caller, province, f"province {province}")
    settings = ctx.settings.report
    try:
        built = build_pack(db, month, province, settings, now=ctx.clock())
    except ValueError as err:
        raise HTTPException(422, str(err)) from err
    name = f"camwatch-pack-{month}{'-' + province if province else ''}-{lang}"
    if format == "json":
        return JSONResponse(CommitteePackPublic.model_validate(pack_json(built, lang)).model_dump(mode="json"))
    if format == "xlsx":
        return Response(pack_xlsx(built, lang), media_type=_XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})  # fmt: skip
    html = pack_html(built, lang)
    if format == "html":
        return HTMLResponse(html, headers={"Content-Security-Policy": _PAGE_CSP})
    try:
        pdf = html_to_pdf(html, chromium=settings.chromium, timeout_s=settings.pdf_timeout_s)
    except PdfError as err:
        raise HTTPException(503, str(err)) from err
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})  # fmt: skip


@router.get("/camera-days/{site_id}/{camera_id}", response_model=list[CameraDayBar],
            summary="One camera's seconds per state for its last days")  # fmt: skip
def camera_days(
    site_id: SiteIdPath, camera_id: CameraIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep,
    days: Annotated[int, Query(ge=1, le=92)] = 30,
) -> list[CameraDayBar]:  # fmt: skip
    """One camera's time per state for each of the last ``days`` Bangkok days (the camera
    page's bars); 404 when unknown or outside the token's provinces."""
    ref = visible(caller, camera_ref(db, site_id, camera_id), f"camera {site_id}/{camera_id}")
    bars = camera_day_bars(db, ref.row_id, ref.tail_ms, days, ctx.clock())
    return [CameraDayBar.model_validate(b) for b in bars]
