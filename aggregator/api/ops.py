"""Operations: health, Prometheus metrics, ingest and quarantine counters, the caller, tokens (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from aggregator.api.common import district_counts
from aggregator.api.deps import (
    AdminDep,
    ApiContext,
    CallerDep,
    ContextDep,
    DbDep,
    TechnicianDep,
    require_national,
    scope_of,
)
from aggregator.api.errors import ERROR_RESPONSES
from aggregator.api.metrics import render
from aggregator.api.schemas import Health, IngestCounters, MePublic, QuarantinedPublic, TokenPublic
from aggregator.auth import list_tokens
from aggregator.days import from_ms
from aggregator.store.queries.ops import (
    database_answers,
    quarantine_counts,
    quarantined,
    stored_totals,
)
from aggregator.store.queries.sites import site_totals

__all__ = ["health_router", "router"]

router = APIRouter(prefix="/api/v1", tags=["operations"])
health_router = APIRouter(tags=["operations"])


def _ingest_stats(ctx: ContextDep) -> dict[str, float]:
    return {k: float(v) for k, v in ctx.ingest.stats().items()} if ctx.ingest is not None else {}


@health_router.get("/healthz", response_model=Health, summary="Health (no token needed)",
                   responses={503: {"model": Health, "description": "Not healthy; `reasons` says why"}})
def healthz(ctx: ContextDep, db: DbDep, response: Response) -> Health:
    """200 while the database reads and ingest keeps up; 503 with ``reasons`` (one line each:
    ingest disconnected, the writer failing its commits, a delivery waiting too long)."""
    ok = database_answers(db)
    reasons = [] if ok else ["database: the database does not answer"]
    connected: bool | None = None
    if ctx.ingest is not None:
        connected = bool(ctx.ingest.connected)
        reasons += ctx.ingest.health(ctx.clock())
    if reasons:
        response.status_code = 503
    return Health(status="degraded" if reasons else "ok", database=ok, ingest_connected=connected,
                  feed_clients=ctx.feed.clients if ctx.feed is not None else 0, reasons=reasons)  # fmt: skip


@health_router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (any valid token)",
                   responses={code: ERROR_RESPONSES[code] for code in (401, 403, 429)})
def metrics(ctx: ContextDep, db: DbDep, caller: CallerDep) -> PlainTextResponse:
    """Text exposition format 0.0.4; scrape with a viewer token (``bearer_token`` in Prometheus).
    Cameras per state count the cameras under an active maintenance window as maintenance.
    National figures: a token limited to provinces gets 403."""
    require_national(caller)
    text = render(district_counts(ctx, db), ctx.meter, sites=site_totals(db), quarantined=quarantine_counts(db),
                  ingest=_ingest_stats(ctx), feed_clients=ctx.feed.clients if ctx.feed is not None else 0)  # fmt: skip
    text += _reader_metrics(ctx)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


def _reader_metrics(ctx: ApiContext) -> str:
    """The API readers' bounds at work (aggregator.api.readers): busy answers, long snapshots."""
    return (
        "# HELP camwatch_api_busy_total API reads answered 503 (store busy past the read bound).\n"
        "# TYPE camwatch_api_busy_total counter\n"
        f"camwatch_api_busy_total {ctx.pool.busy}\n"
        "# HELP camwatch_api_long_reads_total API read snapshots held past api.read_report_s.\n"
        "# TYPE camwatch_api_long_reads_total counter\n"
        f"camwatch_api_long_reads_total {ctx.pool.long_reads}\n"
    )


@router.get("/ingest", response_model=IngestCounters, summary="Ingest and quarantine counters")
def ingest_counters(ctx: ContextDep, db: DbDep, caller: CallerDep) -> IngestCounters:
    """What was stored and what was refused, nationally (a token limited to provinces gets 403)."""
    require_national(caller)
    totals = stored_totals(db)
    stats = {**(ctx.meter.as_dict() if ctx.meter is not None else {}), **_ingest_stats(ctx)}
    return IngestCounters(cameras=totals.cameras, sites=totals.sites, transitions=totals.transitions,
                          quarantined=quarantine_counts(db), ingest=stats)  # fmt: skip


@router.get("/quarantine", response_model=list[QuarantinedPublic], summary="Recently refused payloads")
def quarantine(
    db: DbDep, caller: TechnicianDep,
    reason: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QuarantinedPublic]:  # fmt: skip
    """Newest first; technicians and administrators only, limited to the token's provinces (by the
    province in each payload's topic)."""
    rows = quarantined(db, provinces=scope_of(caller), reason=reason, limit=limit)
    return [QuarantinedPublic(at=from_ms(r.at_ms), topic=r.topic, reason=r.reason, detail=r.detail, size=r.size)
            for r in rows]  # fmt: skip


@router.get("/me", response_model=MePublic, summary="Who the token is")
def me(caller: CallerDep) -> MePublic:
    """The calling token's name, role, province scope and expiry."""
    return MePublic(name=caller.name, role=caller.role, provinces=sorted(caller.provinces), expires=caller.expires)


@router.get("/tokens", response_model=list[TokenPublic], summary="API tokens (administrators)")
def tokens(db: DbDep, caller: AdminDep) -> list[TokenPublic]:
    """Every token's name, role, scope and expiry; never the token itself. National administrators only."""
    require_national(caller)
    return [TokenPublic(id=t.id, name=t.name, role=t.role, provinces=list(t.provinces), created=t.created,
                        revoked=t.revoked, expires=t.expires) for t in list_tokens(db)]  # fmt: skip
