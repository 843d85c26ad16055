"""Camera snapshots: ask a site for one (technician), read the latest (anyone in scope).

The request travels as a protocol ``snapshot`` command over ingest's MQTT connection; the
agent's answer comes back on the site's ``snapshot`` topic and ingest keeps the latest per
camera (:mod:`aggregator.store.snapshots`). So a POST answers 202 with the command id at once,
and the page polls the GET until the answer naming that id is there.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from aggregator.api.common import CameraIdPath, SiteIdPath
from aggregator.api.deps import CallerDep, ContextDep, DbDep, TechnicianDep, visible
from aggregator.api.schemas import SnapshotRequested
from aggregator.store import registry
from aggregator.store.snapshots import latest_snapshot

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])


@router.post(
    "/{site_id}/{camera_id}/snapshot", response_model=SnapshotRequested, status_code=status.HTTP_202_ACCEPTED,
    summary="Ask the site for a snapshot of the camera (technician or admin)",
)  # fmt: skip
def request_snapshot(
    site_id: SiteIdPath, camera_id: CameraIdPath, ctx: ContextDep, db: DbDep, caller: TechnicianDep
) -> SnapshotRequested:
    """Publish a ``snapshot`` command to the site; 404 outside the token's provinces, 503 when the
    aggregator is not connected to the broker. The site answers at most once per camera per 10 s."""
    site = visible(caller, registry.get_site(db, site_id), f"camera {site_id}/{camera_id}")
    if ctx.ingest is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "this API runs without MQTT ingest")
    cmd_id = ctx.ingest.request_snapshot(site.province, site.district, site_id, camera_id)
    if cmd_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "not connected to the broker; try again")
    return SnapshotRequested(site_id=site_id, camera_id=camera_id, cmd_id=str(cmd_id))


@router.get(
    "/{site_id}/{camera_id}/snapshot", summary="The camera's latest snapshot (image/jpeg)", response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The JPEG; X-Snapshot-Taken-At, "
                     "X-Snapshot-Cmd-Id, and X-Snapshot-Error / X-Snapshot-Error-Cmd-Id when a later request failed"},
               404: {"description": "No snapshot, or the request failed at the site (the reason is in the detail)"}},
)  # fmt: skip
def get_snapshot(site_id: SiteIdPath, camera_id: CameraIdPath, db: DbDep, caller: CallerDep) -> Response:
    """The latest picture the site sent for this camera, with when it was taken."""
    visible(caller, registry.get_site(db, site_id), f"camera {site_id}/{camera_id}")
    record = latest_snapshot(db, site_id, camera_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {site_id}/{camera_id}: no snapshot was requested")
    error_headers = (
        {"X-Snapshot-Error": record.error, "X-Snapshot-Error-Cmd-Id": record.error_cmd_id or ""}
        if record.error is not None else {}
    )  # fmt: skip
    if record.image is None or record.taken_at is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"camera {site_id}/{camera_id}: no snapshot; the last request failed at the site: {record.error}",
            headers=error_headers,
        )
    headers = {
        "X-Snapshot-Taken-At": record.taken_at.isoformat().replace("+00:00", "Z"),
        "X-Snapshot-Cmd-Id": record.cmd_id,
        "Cache-Control": "private, no-store",
        **error_headers,
    }
    return Response(content=record.image, media_type=record.content_type, headers=headers)
