"""Operations: health, Prometheus metrics, ingest and quarantine counters, tokens (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from aggregator.api.common import district_counts, when
from aggregator.api.deps import AdminDep, CallerDep, ContextDep, DbDep, TechnicianDep
from aggregator.api.errors import ERROR_RESPONSES
from aggregator.api.metrics import quarantine_counts, render
from aggregator.api.schemas import IngestCounters
from aggregator.auth import list_tokens

__all__ = ["health_router", "router"]

router = APIRouter(prefix="/api/v1", tags=["operations"])
health_router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness and the parts that are running."""

    status: str
    database: bool
    ingest_connected: bool | None
    feed_clients: int
    reasons: list[str] = []


class QuarantinedPublic(BaseModel):
    """One refused payload (its first bytes are not shown: they may be anything)."""

    at: Any
    topic: str
    reason: str
    detail: str
    size: int


class TokenPublic(BaseModel):
    """An API token's metadata (never the token)."""

    id: int
    name: str
    role: str
    provinces: list[str]
    created: Any
    revoked: Any


def _ingest_stats(ctx: ContextDep) -> dict[str, Any]:
    ingest = ctx.ingest
    if ingest is None:
        return {}
    stats = getattr(ingest, "stats", None)
    if callable(stats):
        out: dict[str, Any] = dict(stats())
        return out
    return {"connected": bool(getattr(ingest, "connected", False)),
            "committed_batches": int(getattr(ingest, "committed_batches", 0))}  # fmt: skip


@health_router.get("/healthz", response_model=Health, summary="Health (no token needed)",
                   responses={503: {"model": Health, "description": "Not healthy; `reasons` says why"}})
def healthz(ctx: ContextDep, db: DbDep, response: Response) -> Health:
    """200 while the database reads and ingest keeps up; 503 with ``reasons`` (one line each:
    ingest disconnected, the writer failing its commits, a delivery waiting too long)."""
    ok = db.execute("SELECT 1").fetchone() == (1,)
    reasons = [] if ok else ["database: the database does not answer"]
    connected: bool | None = None
    if ctx.ingest is not None:
        connected = bool(ctx.ingest.connected)
        reasons += ctx.ingest.health()
    if reasons:
        response.status_code = 503
    return Health(status="degraded" if reasons else "ok", database=ok, ingest_connected=connected,
                  feed_clients=ctx.feed.clients if ctx.feed is not None else 0, reasons=reasons)  # fmt: skip


@health_router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (any valid token)",
                   responses={code: ERROR_RESPONSES[code] for code in (401, 429)})
def metrics(ctx: ContextDep, db: DbDep, caller: CallerDep) -> PlainTextResponse:
    """Text exposition format 0.0.4; scrape with a viewer token (``bearer_token`` in Prometheus).
    Cameras per state count the cameras under an active maintenance window as maintenance."""
    stats = {k: v for k, v in _ingest_stats(ctx).items() if isinstance(v, (int, float))}
    text = render(db, district_counts(ctx, db), ctx.extras.get("meter"), ingest=stats,
                  feed_clients=ctx.feed.clients if ctx.feed is not None else 0)  # fmt: skip
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/ingest", response_model=IngestCounters, summary="Ingest and quarantine counters")
def ingest_counters(ctx: ContextDep, db: DbDep, caller: CallerDep) -> IngestCounters:
    """What was stored and what was refused."""
    cameras = db.execute("SELECT COUNT(*) FROM camera_inventory").fetchone()[0]
    sites = db.execute("SELECT COUNT(*) FROM sites").fetchone()[0]
    transitions = db.execute("SELECT COALESCE(MAX(id), 0) FROM transitions").fetchone()[0]
    meter = ctx.extras.get("meter")
    stats = {**(meter.as_dict() if meter is not None else {}), **_ingest_stats(ctx)}
    return IngestCounters(cameras=cameras, sites=sites, transitions=transitions, quarantined=quarantine_counts(db),
                          ingest=stats)  # fmt: skip


@router.get("/quarantine", response_model=list[QuarantinedPublic], summary="Recently refused payloads")
def quarantine(
    db: DbDep, caller: TechnicianDep,
    reason: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QuarantinedPublic]:  # fmt: skip
    """Newest first; technicians and administrators only."""
    if not db["quarantine"].exists():
        return []
    where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
    rows = db.execute(
        f"SELECT at_ms, topic, reason, detail, size FROM quarantine {where} ORDER BY id DESC LIMIT ?", [*params, limit]
    ).fetchall()
    return [QuarantinedPublic(at=when(r[0]), topic=r[1], reason=r[2], detail=r[3], size=r[4]) for r in rows]


class MePublic(BaseModel):
    """The caller's token: name, role and provinces (empty = all)."""

    name: str
    role: str
    provinces: list[str]


@router.get("/me", response_model=MePublic, summary="Who the token is")
def me(caller: CallerDep) -> MePublic:
    """The calling token's name, role and province scope."""
    return MePublic(name=caller.name, role=caller.role, provinces=sorted(caller.provinces))


@router.get("/tokens", response_model=list[TokenPublic], summary="API tokens (administrators)")
def tokens(db: DbDep, caller: AdminDep) -> list[TokenPublic]:
    """Every token's name, role and scope; never the token itself."""
    return [TokenPublic(id=t.id, name=t.name, role=t.role, provinces=list(t.provinces), created=t.created,
                        revoked=t.revoked) for t in list_tokens(db)]  # fmt: skip
