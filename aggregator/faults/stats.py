"""MTTA and MTTR per province, district or agency over a window (pure functions).

MTTA (mean time to acknowledge) runs from a fault's latest opening to its acknowledgement;
MTTR (mean time to repair) from the latest opening to its resolution, automatic or by a
technician. Faults closed as won't-fix count in neither mean (nobody repaired them), and
faults held under a wider fault are left out: the wider fault is the one people fixed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Literal

from aggregator.faults.model import Fault, Resolution

__all__ = ["GroupBy", "ResponseFigures", "response_figures"]

GroupBy = Literal["nation", "province", "district", "agency"]


@dataclass(frozen=True, slots=True)
class ResponseFigures:
    """How fast faults of one group were taken on and fixed."""

    group: str
    faults: int
    acknowledged: int
    resolved: int
    wont_fix: int
    mtta_s: float | None
    mttr_s: float | None


def _group(fault: Fault, by: GroupBy) -> str:
    if by == "province":
        return fault.province
    if by == "district":
        return fault.district or ""
    if by == "agency":
        return fault.agency
    return "nation"


def response_figures(
    faults: Iterable[Fault], start: datetime, end: datetime, by: GroupBy = "province"
) -> list[ResponseFigures]:
    """MTTA/MTTR of the faults opened in [start, end), one row per group, sorted by group."""
    groups: dict[str, list[Fault]] = defaultdict(list)
    for fault in faults:
        if fault.parent_id is None and start <= fault.opened_at < end:
            groups[_group(fault, by)].append(fault)
    out = []
    for name in sorted(groups):
        members = groups[name]
        acks = [
            (f.acknowledged_at - f.opened_at).total_seconds()
            for f in members
            if f.acknowledged_at is not None
        ]
        repairs = [
            (f.resolved_at - f.opened_at).total_seconds()
            for f in members
            if f.resolved_at is not None and f.resolution is not Resolution.WONT_FIX
        ]
        out.append(
            ResponseFigures(
                group=name,
                faults=len(members),
                acknowledged=len(acks),
                resolved=len(repairs),
                wont_fix=sum(1 for f in members if f.resolution is Resolution.WONT_FIX),
                mtta_s=fmean(acks) if acks else None,
                mttr_s=fmean(repairs) if repairs else None,
            )
        )
    return out
