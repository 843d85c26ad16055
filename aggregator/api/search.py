"""The header's global search: one box for a camera id, serial or IP, a site id or name, or a
district's name, answered within the caller's provinces (nothing of another province shows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aggregator.api.deps import CallerDep, ContextDep, DbDep, scope_of
from aggregator.api.schemas.search import SearchCamera, SearchDistrict, SearchOut, SearchSite
from aggregator.store.queries.search import find_cameras, find_sites

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search", response_model=SearchOut, summary="Find cameras, sites and districts")
def search(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    q: Annotated[str, Query(min_length=2, max_length=64, description="Camera id, serial or IP; site id or name; "
                            "district name (Thai or English); matched from the start")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchOut:  # fmt: skip
    """Cameras by id, serial or IP address, sites by id or name, districts by name, each list
    at most ``limit`` long and only from the caller's provinces."""
    text = q.strip()
    scope = scope_of(caller)
    cameras = [SearchCamera.model_validate(h, from_attributes=True) for h in find_cameras(db, text, scope, limit)]
    sites = [SearchSite.model_validate(h, from_attributes=True) for h in find_sites(db, text, scope, limit)]
    folded = text.casefold()
    districts = [
        SearchDistrict(code=d.code, name_th=d.name_th, name_en=d.name_en, province=d.province)
        for d in sorted(ctx.geography.districts.values(), key=lambda a: a.code)
        if (scope is None or d.province in scope)
        and (d.name_th.startswith(text) or d.name_en.casefold().startswith(folded) or d.code == text)
    ][:limit]
    return SearchOut(q=text, cameras=cameras, sites=sites, districts=districts)
