"""A camera's change events (``/api/v1/cameras/{site}/{camera}/changes``): replaced (serial),
firmware, rebooted, moved, newest first (aggregator/store/changes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from aggregator.api.common import CameraIdPath, SiteIdPath
from aggregator.api.deps import CallerDep, DbDep, visible
from aggregator.api.schemas.base import Out
from aggregator.days import from_ms
from aggregator.store.changes import camera_changes
from aggregator.store.queries import cameras as queries

__all__ = ["ChangePublic", "router"]

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])


class ChangePublic(Out):
    """One change of a camera."""

    at: str = Field(description="When it was seen (UTC, ISO 8601)")
    kind: str = Field(description="serial (camera replaced), firmware, rebooted or moved (scene changed)")
    before: str = ""
    after: str = ""


@router.get("/{site_id}/{camera_id}/changes", response_model=list[ChangePublic],
            summary="A camera's changes: replaced, firmware, rebooted, moved")
def changes(site_id: SiteIdPath, camera_id: CameraIdPath, db: DbDep, caller: CallerDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ChangePublic]:
    """Newest first; 404 when unknown or outside the token's provinces."""
    ref = visible(caller, queries.camera_ref(db, site_id, camera_id), f"camera {site_id}/{camera_id}")
    return [ChangePublic(at=from_ms(c.at_ms).isoformat(), kind=c.kind, before=c.before, after=c.after)
            for c in camera_changes(db, ref.row_id, limit=limit)]
