"""Sites: list with filters and sorting, one site, and an administrator's edit of its place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from aggregator.api.bodies import admin_body
from aggregator.api.common import AgencyQ, SiteIdPath, check_district, check_province, when
from aggregator.api.deps import (
    AdminDep,
    CallerDep,
    ContextDep,
    DbDep,
    ensure_visible,
    visible,
    visible_provinces,
)
from aggregator.api.schemas import Page, SitePlaceIn, SitePublic
from aggregator.audit.province_check import position_refusal
from aggregator.days import to_ms
from aggregator.store.clocks import CLOCK_SKEW_HINT
from aggregator.store.places import Place, set_place
from aggregator.store.queries import sites as queries
from aggregator.store.queries.sites import SiteFilter, SiteListing, SiteSort

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])

PlaceBody = Annotated[SitePlaceIn, Depends(admin_body(SitePlaceIn))]


def _site(s: SiteListing) -> SitePublic:
    return SitePublic(site_id=s.site_id, province=s.province, district=s.district, name=s.name, agency=s.agency,
                      lat=s.lat, lon=s.lon, agent_version=s.agent_version, online=s.online,
                      last_seen=when(s.last_seen_ms), cameras=s.cameras, address=s.address, phone=s.phone,
                      enrolled=when(s.enrolled_ms), first_seen=when(s.first_seen_ms),
                      never_connected=s.never_connected, place_by=s.place_by, place_at=when(s.place_ms),
                      clock_skew=s.clock_skew, clock_offset_s=None if s.clock_offset_ms is None else s.clock_offset_ms / 1000,
                      clock_hint=CLOCK_SKEW_HINT if s.clock_skew else None)  # fmt: skip


@router.get("", response_model=Page[SitePublic], summary="Sites, filtered and sorted")
def list_sites(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    province: Annotated[str | None, Query(pattern=r"^[1-9][0-9]$")] = None,
    district: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{3}$")] = None,
    agency: AgencyQ = None,
    online: bool | None = None,
    never_connected: Annotated[bool | None, Query(description="Enrolled and never connected (true) or not")] = None,
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
                     never_connected=never_connected, q=q, sort=sort, limit=limit, offset=offset)  # fmt: skip
    total, sites = queries.find_sites(db, flt, ctx.store)
    return Page[SitePublic](total=total, limit=limit, offset=offset, items=[_site(s) for s in sites])


@router.get("/{site_id}", response_model=SitePublic, summary="One site")
def get_site(site_id: SiteIdPath, ctx: ContextDep, db: DbDep, caller: CallerDep) -> SitePublic:
    """A site; 404 when unknown or outside the token's provinces."""
    return _site(visible(caller, queries.get_site(db, site_id, ctx.store), f"site {site_id}"))


@router.patch("/{site_id}", response_model=SitePublic, summary="Set a site's place (administrators)")
def set_site_place(site_id: SiteIdPath, body: PlaceBody, ctx: ContextDep, db: DbDep, caller: AdminDep) -> SitePublic:
    """Replace the site's name, agency, address, position and phone, recording who and when.

    403 below admin (before the body is read); 404 when unknown or outside the token's provinces;
    422 when only one coordinate is given or the position lies clearly in another province."""
    province = queries.site_province(db, site_id)
    ensure_visible(caller, province, f"site {site_id}")
    assert province is not None  # ensure_visible refused None
    refusal = position_refusal(province, body.lat, body.lon)
    if refusal is not None:
        raise HTTPException(422, refusal)
    place = Place(name=body.name, agency=body.agency, address=body.address, lat=body.lat, lon=body.lon,
                  phone=body.phone)  # fmt: skip
    with ctx.writer() as writer, writer.conn:
        set_place(writer, site_id, place, by=caller.name, at_ms=to_ms(ctx.clock()))
    return _site(visible(caller, queries.get_site(db, site_id, ctx.store), f"site {site_id}"))
