"""Lay a compacted outbox event out as the states it stands for (pure; used by the store).

When a gateway's outbox fills up, the agent merges a camera's older events into ONE interval
event: ``at`` is the first merged event's time, ``state`` the state that lasted longest, and
its details carry ``until`` (when the interval ends: the camera's next, unmerged event) and
``s_<state>`` (seconds spent in each state inside it). The order of the states inside the
interval is lost. The store applies the interval as consecutive pieces, the event's own
state first and then the others in state order, each as long as its seconds say: the time
per state over the interval is exact; where inside it each piece lies is not (so a split
across a Bangkok midnight, and fault times inside the interval, are approximations).
"""

from __future__ import annotations

from datetime import datetime

from aggregator.states import STATES
from protocol import CameraState
from protocol.messages import DetailValue

__all__ = ["interval_pieces", "is_compacted", "until_ms"]



def is_compacted(details: dict[str, DetailValue]) -> bool:
    """Whether an event's details say it is a merged interval."""
    return "compacted" in details and isinstance(details.get("until"), str)


def until_ms(details: dict[str, DetailValue]) -> int | None:
    """The interval's end in UTC milliseconds, or None when missing or not a timestamp."""
    raw = details.get("until")
    if not isinstance(raw, str):
        return None
    try:
        end = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if end.tzinfo is None:
        return None
    return int(end.timestamp() * 1000)


def interval_pieces(at_ms: int, state: CameraState, details: dict[str, DetailValue]) -> list[tuple[int, CameraState]]:
    """``(start_ms, state)`` pieces filling ``[at_ms, until)``: the event's state first for its
    seconds, then each other state with seconds. Pieces that would start at or after
    ``until`` (rounding) are dropped; the last piece runs to ``until`` (where the next row is).
    Details without a usable ``until`` or seconds give the event alone: ``[(at_ms, state)]``."""
    end = until_ms(details)
    seconds: dict[CameraState, float] = {}
    for s in STATES:
        value = details.get(f"s_{s.value}")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            seconds[s] = float(value)
    if end is None or end <= at_ms or not seconds:
        return [(at_ms, state)]
    order = ([state] if state in seconds else []) + [s for s in STATES if s != state and s in seconds]
    pieces: list[tuple[int, CameraState]] = []
    t = at_ms
    for s in order:
        if t >= end:
            break
        pieces.append((t, s))
        t += round(seconds[s] * 1000)
    return pieces
