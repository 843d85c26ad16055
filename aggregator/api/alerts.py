"""Alert routing rules (administrators; their secrets are never shown) and the delivery log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from aggregator.api.bodies import national_admin_body
from aggregator.api.deps import FaultsDep, NationalAdminDep, TechnicianDep, scope_of
from aggregator.api.errors import ErrorOut
from aggregator.api.faults import MAX_ID, Offset
from aggregator.api.schemas.faults import DeliveryPublic, RoutePublic
from aggregator.faults.routing import Channel, RouteSpec

__all__ = ["router"]

RouteId = Annotated[int, Path(ge=1, le=MAX_ID, description="Routing rule id")]
RouteBody = Annotated[RouteSpec, Depends(national_admin_body(RouteSpec))]
router = APIRouter(prefix="/api/v1", tags=["faults"])


@router.get("/alert-routes", response_model=list[RoutePublic], summary="Alert routing rules (administrators)")
def list_routes(caller: NationalAdminDep, svc: FaultsDep) -> list[RoutePublic]:
    """Routing rules (national administrators only: they route every province; secrets never shown)."""
    return [RoutePublic.model_validate(r.as_dict()) for r in svc.routes.routes()]


@router.post("/alert-routes", response_model=RoutePublic, status_code=status.HTTP_201_CREATED,
             summary="Add an alert routing rule",
             responses={409: {"model": ErrorOut, "description": "The route's channel is off in the settings"}})  # fmt: skip
def add_route(caller: NationalAdminDep, svc: FaultsDep, spec: RouteBody) -> RoutePublic:
    """Add a routing rule (national administrators only); a LINE route while LINE alerts are off is 409."""
    if spec.channel is Channel.LINE and svc.line is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "LINE alerts are off: set line.channel_access_token (CAMWATCH_LINE__CHANNEL_ACCESS_TOKEN)")
    return RoutePublic.model_validate(svc.routes.add(spec, svc.clock()).as_dict())


@router.delete("/alert-routes/{route_id}", status_code=status.HTTP_204_NO_CONTENT, response_model=None,
               summary="Remove an alert routing rule")  # fmt: skip
def delete_route(caller: NationalAdminDep, svc: FaultsDep, route_id: RouteId) -> None:
    """Remove a routing rule (national administrators only)."""
    if not svc.routes.delete(route_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route {route_id}")


@router.get("/deliveries", response_model=list[DeliveryPublic], summary="Alert delivery log")
def deliveries(
    caller: TechnicianDep,
    svc: FaultsDep,
    delivery_status: Annotated[Literal["pending", "sent", "dead"] | None, Query(alias="status")] = None,
    channel: Literal["webhook", "email", "line"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[DeliveryPublic]:
    """The delivery log, newest first (technicians and administrators, within their provinces)."""
    rows = svc.deliveries.list(provinces=scope_of(caller), status=delivery_status, channel=channel, limit=limit,
                               offset=offset)  # fmt: skip
    return [DeliveryPublic.model_validate(r) for r in rows]
