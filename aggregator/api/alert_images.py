"""The snapshot behind a link sent in a LINE message: no token, the link itself is the key.

LINE's servers fetch an image message's URL without any way to carry a camwatch token, so
each link names a random 128-bit capability made when the alert was queued
(:mod:`aggregator.notify.images`) that expires after ``line.image_link_ttl_s``. Anything but
a live link is 404, with the same words, so a guess learns nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from aggregator.api.deps import ContextDep, DbDep
from aggregator.api.errors import ERROR_RESPONSES
from aggregator.notify.images import IMAGE_PATH, linked_image

__all__ = ["router"]

router = APIRouter(tags=["faults"])
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="The link's capability token")]


@router.get(
    IMAGE_PATH + "{token}.jpg", response_class=Response, summary="A camera snapshot sent in an alert (no token)",
    responses={200: {"content": {"image/jpeg": {}}, "description": "The camera's latest snapshot"},
               404: ERROR_RESPONSES[404], 422: ERROR_RESPONSES[422]},
)  # fmt: skip
def alert_image(token: Token, db: DbDep, ctx: ContextDep) -> Response:
    """The latest snapshot of the camera a live alert link names; 404 for anything else."""
    found = linked_image(db, token, ctx.clock())
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such image")
    return Response(content=found.image, media_type=found.content_type,
                    headers={"Cache-Control": "private, max-age=300"})  # fmt: skip
