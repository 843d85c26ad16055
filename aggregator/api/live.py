"""The live feed as Server-Sent Events.

A stream follows its token, not only the token it connected with: every
``api.feed_recheck_s`` the token is looked up again, on a reader of its own off the event
loop. A revoked, expired (or deleted) token's stream gets a ``closed`` event and ends; a token whose
provinces changed gets only the provinces it may still see, and a stream that asked for a
province the token no longer sees is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from aggregator.api.common import check_province
from aggregator.api.deps import ApiContext, CallerDep, ContextDep, ensure_visible
from aggregator.auth import Principal, authenticate
from aggregator.feed import FeedClient, FeedEvent, format_sse

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["feed"])


def _presented_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _lookup(ctx: ApiContext, token: str) -> Principal | None:
    """The token's principal now (None: revoked, expired or gone), read on this thread's reader."""
    with ctx.pool.reading() as db:
        return authenticate(db, token, pepper=ctx.settings.token_pepper.get_secret_value(), now=ctx.clock())


def _follow(client: FeedClient, asked: set[str] | None, principal: Principal | None) -> str | None:
    """Apply the token's current scope to ``client``; why the stream must close, or None."""
    if principal is None:
        return "the token was revoked or has expired"
    allowed = set(principal.provinces) or None
    if asked is not None and allowed is not None and not asked <= allowed:
        return "the token no longer sees the provinces asked for"
    wanted = asked if asked is not None else allowed
    client.provinces = frozenset(wanted) if wanted is not None else None
    return None


@router.get(
    "/feed",
    summary="Live state changes and rollups (text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"example": "event: state\ndata: {...}\n\n"}}}},
)
async def feed(
    request: Request, ctx: ContextDep, caller: CallerDep,
    province: Annotated[list[str] | None, Query(description="Only these provinces (repeat the parameter)")] = None,
) -> StreamingResponse:  # fmt: skip
    """Events: ``snapshot`` (on connect and after falling behind), ``state`` (one camera or site
    changed), ``rollup`` (a province's cameras per state), ``overflow`` (you fell behind; a
    snapshot follows), ``closed`` (the token was revoked, expired or lost the provinces asked for; the
    stream ends)."""
    feed = ctx.feed
    if feed is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the live feed is not running")
    for code in province or []:
        check_province(ctx, code)
        ensure_visible(caller, code, f"province {code}")
    asked = set(province) if province else None
    wanted = asked if asked is not None else (set(caller.provinces) or None)
    client = feed.subscribe(wanted, asyncio.get_running_loop())
    token = _presented_token(request)
    keepalive = ctx.feed_keepalive_s
    recheck = ctx.feed_recheck_s

    async def stream() -> AsyncIterator[str]:
        try:
            yield format_sse(feed.snapshot(client.provinces))
            checked = sent = time.monotonic()
            while not await request.is_disconnected():
                if time.monotonic() - checked >= recheck:
                    checked = time.monotonic()
                    why = _follow(client, asked, await run_in_threadpool(_lookup, ctx, token))
                    if why is not None:
                        logger.info("feed of token %d closed: %s", caller.token_id, why)
                        yield format_sse(FeedEvent("closed", None, {"reason": why}))
                        return
                events, overflowed = await client.take(min(keepalive, recheck))
                if overflowed:
                    yield format_sse(FeedEvent("overflow", None, {"dropped": client.dropped}))
                    yield format_sse(feed.snapshot(client.provinces))
                    continue
                if not events and time.monotonic() - sent >= keepalive:
                    sent = time.monotonic()
                    yield ": keep-alive\n\n"
                for event in events:
                    if client.wants(event.province):  # the scope may have narrowed since it was queued
                        sent = time.monotonic()
                        yield format_sse(event)
        finally:
            feed.unsubscribe(client)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
