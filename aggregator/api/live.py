"""The live feed as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from aggregator.api.common import check_province
from aggregator.api.deps import CallerDep, ContextDep, ensure_visible
from aggregator.feed import FeedEvent, format_sse

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["feed"])


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
    snapshot follows)."""
    feed = ctx.feed
    if feed is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the live feed is not running")
    wanted: set[str] | None = None
    for code in province or []:
        check_province(ctx, code)
        ensure_visible(caller, code, f"province {code}")
    if province:
        wanted = set(province)
    elif caller.provinces:
        wanted = set(caller.provinces)
    client = feed.subscribe(wanted, asyncio.get_running_loop())
    keepalive = ctx.feed_keepalive_s

    async def stream() -> AsyncIterator[str]:
        try:
            yield format_sse(feed.snapshot(client.provinces))
            while not await request.is_disconnected():
                events, overflowed = await client.take(keepalive)
                if overflowed:
                    yield format_sse(FeedEvent("overflow", None, {"dropped": client.dropped}))
                    yield format_sse(feed.snapshot(client.provinces))
                    continue
                if not events:
                    yield ": keep-alive\n\n"
                for event in events:
                    yield format_sse(event)
        finally:
            feed.unsubscribe(client)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
