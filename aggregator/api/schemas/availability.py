"""The console's batched availability answer (issue 15): every province in the caller's scope
over one window, so the period picker makes one request instead of one per province."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from aggregator.api.schemas import AvailabilityPublic
from aggregator.api.schemas.base import Out

__all__ = ["ProvincesAvailabilityPublic"]


class ProvincesAvailabilityPublic(Out):
    """Each province's availability over one window, the same figures as
    ``/api/v1/availability?level=province&key=<code>`` gives one at a time."""

    start: datetime
    end: datetime
    nation: AvailabilityPublic | None = Field(
        description="The nation over the same window; null for a token limited to provinces")
    provinces: dict[str, AvailabilityPublic] = Field(
        description="Province code -> its availability, for every province the token may see")
