"""Sites: list with filters and sorting, and one site."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from aggregator.api.common import AgencyQ, check_district, check_province, like_prefix, when
from aggregator.api.deps import CallerDep, ContextDep, DbDep, visible_provinces
from aggregator.api.schemas import Page, SitePublic

__all__ = ["SiteSort", "router"]

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


class SiteSort(StrEnum):
    """Allowed sort keys (prefix '-' for descending)."""

    SITE_ID = "site_id"
    SITE_ID_DESC = "-site_id"
    PROVINCE = "province"
    DISTRICT = "district"
    LAST_SEEN = "last_seen"
    LAST_SEEN_DESC = "-last_seen"
    NAME = "name"


_ORDER = {
    SiteSort.SITE_ID: "s.site_id", SiteSort.SITE_ID_DESC: "s.site_id DESC", SiteSort.PROVINCE: "s.province, s.site_id",
    SiteSort.DISTRICT: "s.district, s.site_id", SiteSort.LAST_SEEN: "s.last_seen_ms, s.site_id",
    SiteSort.LAST_SEEN_DESC: "s.last_seen_ms DESC, s.site_id", SiteSort.NAME: "s.name, s.site_id",
}  # fmt: skip
_COLUMNS = (
    "s.site_id, s.province, s.district, s.name, s.agency, s.lat, s.lon, s.agent_version, s.online, s.last_seen_ms, "
    "(SELECT COUNT(*) FROM camera_inventory c WHERE c.site = s.id)"
)


def _site(row: Any) -> SitePublic:
    return SitePublic(site_id=row[0], province=row[1], district=row[2], name=row[3], agency=row[4], lat=row[5],
                      lon=row[6], agent_version=row[7], online=bool(row[8]), last_seen=when(row[9]), cameras=row[10])  # fmt: skip


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
    where, params = ["1"], []  # type: list[str], list[Any]
    scope = visible_provinces(caller, province)
    if scope is not None:
        where.append(f"s.province IN ({','.join('?' * len(scope))})")
        params += scope
    for column, value in (("s.district", district), ("s.agency", agency)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if online is not None:
        where.append("s.online = ?")
        params.append(int(online))
    if q is not None:
        where.append("(s.site_id LIKE ? ESCAPE '\\' OR s.name LIKE ? ESCAPE '\\')")
        params += [like_prefix(q), like_prefix(q)]
    clause = " AND ".join(where)
    total = db.execute(f"SELECT COUNT(*) FROM sites s WHERE {clause}", params).fetchone()[0]
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM sites s WHERE {clause} ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return Page[SitePublic](total=total, limit=limit, offset=offset, items=[_site(r) for r in rows])


@router.get("/{site_id}", response_model=SitePublic, summary="One site")
def get_site(
    site_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")], db: DbDep, caller: CallerDep
) -> SitePublic:
    """A site; 404 when unknown or outside the token's provinces."""
    row = db.execute(f"SELECT {_COLUMNS} FROM sites s WHERE s.site_id = ?", [site_id]).fetchone()
    if row is None or not caller.sees(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"site {site_id} not found")
    return _site(row)
