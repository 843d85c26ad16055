"""What the OpenAPI document says about the whole API: its description and its tags."""

from __future__ import annotations

__all__ = ["DESCRIPTION", "TAGS", "TITLE", "VERSION"]

TITLE = "camwatch aggregator API"
VERSION = "1.0"
DESCRIPTION = """National availability of public CCTV cameras.

Every call needs `Authorization: Bearer <token>` (tokens come from
`camwatch-aggregator create-token`). Roles: viewer < technician < admin; a call needing a
higher role answers 403 before its body is read. A token limited to some provinces sees
only those (anything else answers 404, as if absent); national figures need an unscoped
token (403). Times are UTC (ISO 8601); days in figures are Asia/Bangkok days.
*available* = (up + degraded) / known time, *usable* = up / known time; unknown (nobody
could see) and maintenance time are reported beside them and never counted as down.
"""
TAGS = [
    {"name": "areas", "description": "Nation, provinces and districts (DOPA codes)"},
    {"name": "sites", "description": "Sites (gateways, NVRs)"},
    {"name": "cameras", "description": "Cameras, their state and history"},
    {"name": "availability", "description": "Exact availability for any level and window"},
    {"name": "feed", "description": "Live Server-Sent Events"},
    {"name": "operations", "description": "Health, metrics, ingest counters, tokens"},
    {"name": "faults", "description": "Faults, maintenance windows, alert routes, deliveries"},
    {"name": "audit", "description": "Provincial registers reconciled with discovered cameras"},
    {"name": "reports", "description": "Monthly availability reports"},
    {"name": "search", "description": "The dashboard header's global search"},
]
