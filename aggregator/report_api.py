"""Report API: a month's committee report as JSON, CSV or a printable HTML page.

``GET /api/v1/reports/monthly?month=YYYY-MM&province=NN&format=json|csv|html&lang=th|en``.
A user scoped to some provinces may read only those provinces' reports (not the nation's).
The router is built by :func:`build_router` from the app's own dependencies (who is asking,
a read-only database connection) so this module does not reach into the API package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlite_utils import Database

from .reports import build_report, to_csv, to_html, to_json

__all__ = ["Principal", "build_router"]

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class Principal(Protocol):
    """Who is asking: a role and the provinces the token is scoped to (empty = all)."""

    @property
    def role(self) -> str: ...

    @property
    def provinces(self) -> Any: ...


def _allowed(principal: Principal, province: str | None) -> bool:
    scope = tuple(principal.provinces or ())
    if not scope:
        return True
    return province is not None and province in scope


def build_router(
    principal: Callable[..., Any], database: Callable[..., Iterator[Database]] | Callable[..., Database]
) -> APIRouter:
    """The report router, using the app's ``principal`` and ``database`` dependencies."""
    router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

    @router.get("/monthly", response_model=None)
    def monthly(
        who: Annotated[Any, Depends(principal)],
        db: Annotated[Database, Depends(database)],
        month: str = Query(description="Bangkok calendar month YYYY-MM"),
        province: str | None = Query(default=None, pattern=r"^[1-9][0-9]$"),
        format: Literal["json", "csv", "html"] = "json",
        lang: Literal["th", "en"] = "th",
    ) -> Response:
        """One month's report for the nation or a province."""
        if not _MONTH.match(month):
            raise HTTPException(422, "month must be YYYY-MM")
        if not _allowed(who, province):
            raise HTTPException(403, "your token is not scoped to this area")
        try:
            report = build_report(db, month, province or None)
        except ValueError as err:
            raise HTTPException(422, str(err)) from err
        name = f"camwatch-{month}{'-' + province if province else ''}"
        if format == "csv":
            return Response(
                to_csv(report, lang),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        if format == "html":
            return HTMLResponse(
                to_html(report, lang),
                headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
            )
        return JSONResponse(to_json(report, lang))

    return router
