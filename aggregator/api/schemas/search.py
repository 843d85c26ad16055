"""The global search's answer: cameras, sites and districts matching the header's box."""

from __future__ import annotations

from pydantic import Field

from aggregator.api.schemas.base import Out

__all__ = ["SearchCamera", "SearchDistrict", "SearchOut", "SearchSite"]


class SearchCamera(Out):
    """A camera found by its id, serial or IP address."""

    site_id: str
    camera_id: str
    name: str
    serial: str
    ip: str
    province: str
    district: str
    matched: str = Field(description="What matched: camera_id, serial or ip")


class SearchSite(Out):
    """A site found by its id or name."""

    site_id: str
    name: str
    province: str
    district: str
    address: str


class SearchDistrict(Out):
    """A district found by its Thai or English name or its code."""

    code: str
    name_th: str
    name_en: str
    province: str


class SearchOut(Out):
    """Everything the search found, each list at most ``limit`` long."""

    q: str
    cameras: list[SearchCamera]
    sites: list[SearchSite]
    districts: list[SearchDistrict]
