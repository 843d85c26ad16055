"""Nation summary, provinces and districts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from aggregator.api.common import check_province, district_counts, to_counts
from aggregator.api.deps import (
    CallerDep,
    ContextDep,
    DbDep,
    require_national,
    visible,
    visible_provinces,
)
from aggregator.api.schemas import AreaPublic, AvailabilityPublic, NationSummary
from aggregator.availability import WindowKind, resolve_window
from aggregator.days import from_ms
from aggregator.states import N_STATES
from aggregator.store.queries.areas import site_counts
from aggregator.store.queries.sites import never_connected_count, site_totals
from aggregator.store.rollups import Level, rollup_totals

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["areas"])

ProvinceCode = Annotated[str, Path(pattern=r"^[1-9][0-9]$", description="DOPA province code", examples=["10"])]
DistrictCode = Annotated[str, Path(pattern=r"^[1-9][0-9]{3}$", description="DOPA district code", examples=["1001"])]


@router.get("/nation", response_model=NationSummary, summary="The country at a glance")
def nation(ctx: ContextDep, db: DbDep, caller: CallerDep) -> NationSummary:
    """Cameras and sites now, and availability over the last 24 hours. Needs an unscoped token."""
    require_national(caller)
    counts = [0] * N_STATES
    for values in district_counts(ctx, db).values():
        counts = [a + b for a, b in zip(counts, values, strict=True)]
    sites, online = site_totals(db)
    now = ctx.clock()
    window = resolve_window(WindowKind.LAST_24H, now)
    totals = rollup_totals(db, Level.NATION, None, window, now_ms=window.end_ms)
    return NationSummary(
        cameras=sum(counts), sites=sites, sites_online=online, sites_never_connected=never_connected_count(db),
        provinces=len(ctx.geography.provinces),
        states=to_counts(counts),
        last_24h=AvailabilityPublic.of("nation", None, from_ms(window.start_ms), from_ms(window.end_ms), totals),
    )  # fmt: skip


@router.get("/provinces", response_model=list[AreaPublic], summary="Provinces with their cameras now")
def provinces(ctx: ContextDep, db: DbDep, caller: CallerDep) -> list[AreaPublic]:
    """Every province the token may see (all 77 for an unscoped token), by code."""
    per_district = district_counts(ctx, db)
    per_province: dict[str, list[int]] = {}
    for district, values in per_district.items():
        code = ctx.geography.districts[district].province if district in ctx.geography.districts else district[:2]
        acc = per_province.setdefault(code, [0] * N_STATES)
        per_province[code] = [a + b for a, b in zip(acc, values, strict=True)]
    sites = site_counts(db, "province", ctx.store)
    scope = visible_provinces(caller, None)
    out = []
    for code, area in sorted(ctx.geography.provinces.items()):
        if scope is not None and code not in scope:
            continue
        n_sites, n_cameras = sites.get(code, (0, 0))
        out.append(AreaPublic(code=code, name_th=area.name_th, name_en=area.name_en, province=code,
                              sites=n_sites, cameras=n_cameras, states=to_counts(per_province.get(code, [0] * N_STATES))))  # fmt: skip
    return out


@router.get("/provinces/{code}", response_model=AreaPublic, summary="One province")
def province(code: ProvinceCode, ctx: ContextDep, db: DbDep, caller: CallerDep) -> AreaPublic:
    """A province's cameras now; 404 outside the token's provinces."""
    area = visible(caller, ctx.geography.provinces.get(code), f"province {code}")
    counts = [0] * N_STATES
    for district, values in district_counts(ctx, db).items():
        if district.startswith(code):
            counts = [a + b for a, b in zip(counts, values, strict=True)]
    n_sites, n_cameras = site_counts(db, "province", ctx.store).get(code, (0, 0))
    return AreaPublic(code=code, name_th=area.name_th, name_en=area.name_en, province=code,
                      sites=n_sites, cameras=n_cameras, states=to_counts(counts))  # fmt: skip


@router.get("/districts", response_model=list[AreaPublic], summary="Districts with their cameras now")
def districts(
    ctx: ContextDep, db: DbDep, caller: CallerDep,
    province: Annotated[str | None, Query(pattern=r"^[1-9][0-9]$", description="Only this province")] = None,
) -> list[AreaPublic]:  # fmt: skip
    """Districts (of one province, or every one the token may see), by code."""
    check_province(ctx, province)
    scope = visible_provinces(caller, province)
    per_district = district_counts(ctx, db)
    sites = site_counts(db, "district", ctx.store)
    out = []
    for code, area in sorted(ctx.geography.districts.items()):
        if scope is not None and area.province not in scope:
            continue
        n_sites, n_cameras = sites.get(code, (0, 0))
        out.append(AreaPublic(code=code, name_th=area.name_th, name_en=area.name_en, province=area.province,
                              sites=n_sites, cameras=n_cameras, states=to_counts(per_district.get(code, [0] * N_STATES))))  # fmt: skip
    return out


@router.get("/districts/{code}", response_model=AreaPublic, summary="One district")
def district(code: DistrictCode, ctx: ContextDep, db: DbDep, caller: CallerDep) -> AreaPublic:
    """A district's cameras now; 404 when unknown or outside the token's provinces."""
    area = visible(caller, ctx.geography.districts.get(code), f"district {code}")
    n_sites, n_cameras = site_counts(db, "district", ctx.store).get(code, (0, 0))
    return AreaPublic(code=code, name_th=area.name_th, name_en=area.name_en, province=area.province,
                      sites=n_sites, cameras=n_cameras, states=to_counts(district_counts(ctx, db).get(code, [0] * N_STATES)))  # fmt: skip
