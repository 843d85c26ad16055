"""The aggregator's HTTP API: app factory; one router per resource under /api/v1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aggregator.api import areas, availability, cameras, live, ops, sites, snapshots
from aggregator.api.deps import ApiContext, ReaderPool, get_caller, get_db
from aggregator.api.errors import ERROR_RESPONSES, install_error_handlers
from aggregator.auth import RateLimiter
from aggregator.geography import Geography
from aggregator.settings import AggregatorSettings

__all__ = ["ApiContext", "create_app"]

logger = logging.getLogger(__name__)

_DESCRIPTION = """National availability of public CCTV cameras.

Every call needs `Authorization: Bearer <token>` (tokens come from
`camwatch-aggregator create-token`). Roles: viewer < technician < admin; a token limited to
some provinces sees only those (anything else answers 404). Times are UTC (ISO 8601);
days in figures are Asia/Bangkok days. *available* = (up + degraded) / known time,
*usable* = up / known time; unknown (nobody could see) and maintenance time are reported
beside them and never counted as down.
"""


def create_app(
    settings: AggregatorSettings, geography: Geography, *, db_path: Path | None = None, store: Any = None,
    feed: Any = None, ingest: Any = None, fault_service: Any = None, extras: dict[str, Any] | None = None,
    plugins: bool = True,
) -> FastAPI:  # fmt: skip
    """Build the app. ``store``/``feed``/``ingest`` are the running service's parts (optional);
    ``plugins`` mounts the other helpers' routers (audit, dashboard and reports, faults)."""
    pool = ReaderPool(db_path or settings.db_path)
    ctx = ApiContext(
        settings=settings, geography=geography, pool=pool,
        limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        store=store, feed=feed, ingest=ingest, extras=dict(extras or {}),
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        title="camwatch aggregator API", version="1.0", description=_DESCRIPTION, lifespan=lifespan,
        openapi_tags=[
            {"name": "areas", "description": "Nation, provinces and districts (DOPA codes)"},
            {"name": "sites", "description": "Sites (gateways, NVRs)"},
            {"name": "cameras", "description": "Cameras, their state and history"},
            {"name": "availability", "description": "Exact availability for any level and window"},
            {"name": "feed", "description": "Live Server-Sent Events"},
            {"name": "operations", "description": "Health, metrics, ingest counters, tokens"},
            {"name": "faults", "description": "Faults, maintenance windows, alert routes, deliveries"},
            {"name": "audit", "description": "Provincial registers reconciled with discovered cameras"},
            {"name": "reports", "description": "Monthly availability reports"},
        ],
    )  # fmt: skip
    app.state.ctx = ctx
    install_error_handlers(app)
    for module in (areas, sites, cameras, snapshots, availability, live, ops):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(ops.health_router)
    if plugins:
        _include_plugins(app, ctx, fault_service)
    return app


def _include_plugins(app: FastAPI, ctx: ApiContext, fault_service: Any) -> None:
    """Mount the other helpers' routers with this app's caller and database dependencies."""
    principal: Callable[..., Any] = get_caller
    database: Callable[..., Any] = get_db
    if fault_service is not None:
        from aggregator.api.faults import include_faults

        include_faults(app, principal, fault_service)
        lookup = getattr(fault_service, "current_fault", None)
        if callable(lookup):
            ctx.current_fault = lookup
    for module, attribute in (("aggregator.api.audit", "build_router"),):
        try:
            build = getattr(__import__(module, fromlist=[attribute]), attribute)
        except (ImportError, AttributeError) as err:
            logger.info("api: %s not mounted (%s)", module, err)
            continue
        app.include_router(build(principal, database), responses=ERROR_RESPONSES)
    try:
        from aggregator.web import include_dashboard
    except ImportError as err:
        logger.info("api: dashboard not mounted (%s)", err)
    else:
        include_dashboard(app, principal=principal, database=database)
