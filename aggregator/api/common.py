"""Helpers shared by the routers: state counts now, time conversion, validated query types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Path, Query
from sqlite_utils import Database

from aggregator.api.deps import ApiContext
from aggregator.api.schemas import StateCounts
from aggregator.days import from_ms
from aggregator.geography import UnknownArea
from aggregator.states import STATE_NAMES
from aggregator.store.maintenance_now import counts_now

__all__ = [
    "AgencyQ",
    "CameraIdPath",
    "SiteIdPath",
    "TextQ",
    "check_district",
    "check_province",
    "district_counts",
    "to_counts",
    "when",
]

# Free-text filters are plain names: letters (any script), digits, space and . , _ - + / ( ).
# Anything else (quotes, semicolons, wildcards) is refused with 422 before it reaches SQL.
_TEXT = r"^[\w .,+/()-]{1,100}$"
SiteIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Site id")]
CameraIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="Stable camera id")]
TextQ = Annotated[str | None, Query(pattern=_TEXT, description="Exact match")]
AgencyQ = Annotated[str | None, Query(pattern=_TEXT, description="Owning agency, exact match")]


def to_counts(values: list[int]) -> StateCounts:
    """Five counts in state order as a model."""
    return StateCounts(**dict(zip(STATE_NAMES, values, strict=True)))


def when(ms: int | None) -> datetime | None:
    """UTC datetime of stored milliseconds (None stays None)."""
    return None if ms is None else from_ms(int(ms))


def check_province(ctx: ApiContext, code: str | None) -> None:
    """422 for a code that is not a DOPA province."""
    if code is not None:
        try:
            ctx.geography.province(code)
        except UnknownArea as err:
            raise HTTPException(422, str(err)) from err


def check_district(ctx: ApiContext, code: str | None, province: str | None = None) -> None:
    """422 for a code that is not a DOPA district (of ``province`` when given)."""
    if code is not None:
        try:
            ctx.geography.district(code, province)
        except UnknownArea as err:
            raise HTTPException(422, str(err)) from err


def district_counts(ctx: ApiContext, db: Database) -> dict[str, list[int]]:
    """Cameras per state per district now (the context's clock), as operators see them: from the
    writer's memory when in-process, else SQL; cameras under an active maintenance window count
    as maintenance."""
    return counts_now(db, ctx.store, ctx.clock())
