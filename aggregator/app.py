"""The aggregator's web app: every API router and the dashboard's pages in one list.

This is the composition root of the HTTP side (above api/ and web/ in the rooms' order):
:func:`create_app` takes the running service's parts, builds the typed
:class:`~aggregator.api.deps.ApiContext` the routes depend on, and mounts the routers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from aggregator import web
from aggregator.api import (
    advisories,
    alert_images,
    alerts,
    areas,
    audit,
    audit_edit,
    audit_plans,
    availability,
    cameras,
    changes,
    faults,
    live,
    maintenance,
    ops,
    reports,
    search,
    sites,
    snapshots,
)
from aggregator.api.bodies import document_bodies
from aggregator.api.deps import ApiContext, IngestPort, utc_now
from aggregator.api.errors import ERROR_RESPONSES, install_error_handlers
from aggregator.api.metrics import IngestMeter
from aggregator.api.openapi import DESCRIPTION, TAGS, TITLE, VERSION
from aggregator.api.readers import ReaderPool
from aggregator.audit.tablefile import TableLimits
from aggregator.auth import RateLimiter
from aggregator.faults.service import FaultService
from aggregator.feed import Feed
from aggregator.geography import Geography
from aggregator.settings import AggregatorSettings
from aggregator.store.state import StateStore

__all__ = ["ROUTERS", "create_app"]

# Every router of the app, API first (each documents the API's refusals), then the pages.
ROUTERS: tuple[tuple[APIRouter, bool], ...] = (
    (areas.router, True), (sites.router, True), (cameras.router, True), (snapshots.router, True),
    (availability.router, True), (live.router, True), (ops.router, True), (ops.health_router, False),
    (faults.router, True), (maintenance.router, True), (alerts.router, True), (audit.router, True),
    (audit_edit.router, True), (search.router, True), (audit_plans.router, True), (advisories.router, True),
    (changes.router, True),
    (reports.router, True), (alert_images.router, False), (web.router, False),
)  # fmt: skip


def create_app(
    settings: AggregatorSettings, geography: Geography, *, db_path: Path | None = None,
    store: StateStore | None = None, feed: Feed | None = None, ingest: IngestPort | None = None,
    fault_service: FaultService | None = None, meter: IngestMeter | None = None,
    clock: Callable[[], datetime] = utc_now, audit_limits: TableLimits | None = None,
) -> FastAPI:  # fmt: skip
    """Build the app. ``store``/``feed``/``ingest``/``fault_service``/``meter`` are the running
    service's parts (each optional: a route needing a missing one answers 503); ``clock`` is
    where every route reads the time (tests pin it)."""
    pool = ReaderPool(db_path or settings.db_path, timeout_s=settings.api.read_timeout_s,
                      report_s=settings.api.read_report_s)  # fmt: skip
    ctx = ApiContext(
        settings=settings, geography=geography, pool=pool, clock=clock,
        limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        store=store, feed=feed, ingest=ingest, faults=fault_service, meter=meter,
        audit_limits=audit_limits or TableLimits(), feed_recheck_s=settings.api.feed_recheck_s,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION, lifespan=lifespan, openapi_tags=TAGS)
    app.state.ctx = ctx
    install_error_handlers(app)
    for router, api in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES if api else None)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    document_bodies(app, (router for router, _ in ROUTERS))
    return app
