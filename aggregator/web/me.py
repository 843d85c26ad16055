"""``GET /api/v1/me``: who the token is, so the dashboard hides what the role may not do."""

# No ``from __future__ import annotations`` here: FastAPI must resolve ``Depends(principal)``,
# which names the builder's argument, and a stringified annotation cannot reach it.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

__all__ = ["build_me_router"]


def build_me_router(principal: Callable[..., Any]) -> APIRouter:
    """The ``/api/v1/me`` router using the app's ``principal`` dependency."""
    router = APIRouter(prefix="/api/v1", tags=["dashboard"])

    @router.get("/me")
    def me(who: Annotated[Any, Depends(principal)]) -> dict[str, object]:
        """The caller's name, role and provinces (empty: the whole country); never the token."""
        return {"name": who.name, "role": who.role, "provinces": sorted(who.provinces or ())}

    return router
