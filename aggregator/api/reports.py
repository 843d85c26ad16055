"""Report API: a month's committee report as JSON, CSV or a printable HTML page, and the
camera page's daily bars.

``GET /api/v1/reports/monthly?month=YYYY-MM&province=NN&format=json|csv|html&lang=th|en``;
``GET /api/v1/reports/camera-days/{site_id}/{camera_id}?days=30``.
A user scoped to some provinces may read only those provinces' reports (not the nation's).
The router is built by :func:`build_router` from the app's own dependencies (who is asking,
a read-only database connection) so this module does not reach into the API package.
"""

# No ``from __future__ import annotations`` here: FastAPI must resolve the route functions'
# ``Depends(principal)`` annotations, and those name the closure's arguments, which a
# stringified annotation cannot reach.

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlite_utils import Database

from aggregator.api.errors import ERROR_RESPONSES
from aggregator.availability import Window, integrate_timeline
from aggregator.days import day_of, day_start, day_to_date, to_ms
from aggregator.reports.monthly import build_report, to_csv, to_html, to_json
from aggregator.states import N_STATES, STATE_NAMES
from aggregator.store.rollups import camera_timeline

__all__ = ["Principal", "build_router", "camera_day_bars"]

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
    router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)

    @router.get("/monthly", response_model=None, summary="A month's availability report (JSON, CSV or HTML)")
    def monthly(
        who: Annotated[Any, Depends(principal)],
        db: Annotated[Database, Depends(database)],
        month: str = Query(description="Bangkok calendar month YYYY-MM"),
        province: str | None = Query(default=None, pattern=r"^[1-9][0-9]$"),
        format: Literal["json", "csv", "html"] = "json",
        lang: Literal["th", "en"] = "th",
        audit: bool | None = Query(default=None, description="Add the register audit (default: printable page only)"),
    ) -> Response:
        """One month's report for the nation or a province."""
        if not _MONTH.match(month):
            raise HTTPException(422, "month must be YYYY-MM")
        if not _allowed(who, province):
            raise HTTPException(403, "your token is not scoped to this area")
        try:
            # The audit section costs seconds at national scale: the printable page carries it,
            # the dashboard's table and the CSV do not need it.
            with_audit = audit if audit is not None else format == "html"
            report = build_report(db, month, province or None, with_audit=with_audit)
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

    @router.get("/camera-days/{site_id}/{camera_id}", summary="One camera's seconds per state for its last days")
    def camera_days(
        who: Annotated[Any, Depends(principal)],
        db: Annotated[Database, Depends(database)],
        site_id: str = Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$"),
        camera_id: str = Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$"),
        days: int = Query(default=30, ge=1, le=92),
    ) -> list[dict[str, object]]:
        """One camera's time per state for each of the last ``days`` Bangkok days (the camera
        page's bars); 404 when unknown or outside the token's provinces."""
        row = db.execute(
            "SELECT c.id, s.province FROM cameras c JOIN sites s ON s.id = c.site "
            "WHERE s.site_id = ? AND c.camera_id = ?", [site_id, camera_id]).fetchone()  # fmt: skip
        if row is None or not (not who.provinces or row[1] in who.provinces):
            raise HTTPException(404, f"camera {site_id}/{camera_id} not found")
        return camera_day_bars(db, int(row[0]), days, datetime.now(UTC))

    return router


def camera_day_bars(db: Database, camera: int, days: int, now: datetime) -> list[dict[str, object]]:
    """Per Bangkok day, the camera's seconds in each state and its two figures (today up to now)."""
    now_ms = to_ms(now)
    first = day_of(now_ms) - days + 1
    start = day_start(first)
    tail = db.execute("SELECT tail_ms FROM camera_state WHERE camera = ?", [camera]).fetchone()
    timeline = camera_timeline(db, camera, start, now_ms, tail=tail[0] if tail else None)
    out: list[dict[str, object]] = []
    for day in range(first, first + days):
        lo, hi = day_start(day), min(day_start(day + 1), now_ms)
        totals = integrate_timeline(timeline, Window(lo, hi)) if hi > lo else None
        ms = totals.as_list() if totals else [0] * N_STATES
        out.append({
            "date": day_to_date(day).isoformat(),
            **{f"{name}_s": v / 1000 for name, v in zip(STATE_NAMES, ms, strict=True)},
            "available": totals.available if totals else None,
            "usable": totals.usable if totals else None,
        })  # fmt: skip
    return out
