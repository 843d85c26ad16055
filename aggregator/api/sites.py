"""Sites: list with filters and sorting, and one site."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from aggregator.api.common import AgencyQ, SiteIdPath, check_district, check_province, when
from aggregator.api.deps import CallerDep, ContextDep, DbDep, visible, visible_provinces
from aggregator.api.schemas import Page, SitePublic
from aggregator.store.queries import sites as queries
from aggregator.store.queries.sites import SiteFilter, SiteListing, SiteSort

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


def _site(s: SiteListing) -> SitePublic:
    return SitePublic(site_id=s.site_id, province=s.province, district=s.district, name=s.name, agency=s.agency,
                      lat=s.lat, lon=s.lon, agent_version=s.agent_version, online=s.online,
                      last_seen=when(s.last_seen_ms), cameras=s.cameras)  # fmt: skip


@router.get("", response_model=Page[SitePublic], summary="Sites, filtered and sorted")
def list_sites(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    province: Annotated[str | None, Query(pattern=r"^[1-9][0-9]$")] = None,
    district: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$")] = None,
    agency: AgencyQ = None,
    online: bool | None = None,
    q: Annotated[str | None, Query(pattern=r"^[\w .-]{1,64}$", description="Site id or name starts with")] = None,
    sort: SiteSort = SiteSort.SITE_ID,
    limit: Annotated[int, Query(ge=1, description="Page size, at most the server's max_page_size")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[SitePublic]:  # fmt: skip
    """Sites the token may see. Unknown province or district codes give 422."""
    if limit > ctx.settings.max_page_size:
        raise HTTPException(422, f"limit: at most {ctx.settings.max_page_size}")
    check_province(ctx, province)
    check_district(ctx, district, province)
    flt = SiteFilter(provinces=visible_provinces(caller, province), district=district, agency=agency, online=online,
                     q=q, sort=sort, limit=limit, offset=offset)  # fmt: skip
    total, sites = queries.find_sites(db, flt, ctx.store)
    return Page[SitePublic](total=total, limit=limit, offset=offset, items=[_site(s) for s in sites])


@router.get("/{site_id}", response_model=SitePublic, summary="One site")
def get_site(site_id: SiteIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep) -> SitePublic:
    """A site; 404 when unknown or outside the token's provinces."""
    return _site(visible(caller, queries.get_site(db, site_id, ctx.store), f"site {site_id}"))
