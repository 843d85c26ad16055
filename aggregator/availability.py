"""Availability maths: pure functions from rows to figures (no database, no clock).

Over a window a camera, site or area has milliseconds in each state. Two figures follow:

* *available* = (up + degraded) / known, the picture exists even if it is poor;
* *usable* = up / known, the picture serves its purpose;

where known = up + degraded + down. Unknown time (nobody could see) and maintenance time
(planned) are reported beside them and never counted as down. Days are Asia/Bangkok days
(:mod:`aggregator.days`); instants on the wire and in rows are UTC milliseconds.

A rollup over a window is the sum of whole days from the daily totals plus exact partial
segments from the transitions (:func:`plan_window`, :func:`segment_totals`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from aggregator.days import BANGKOK, date_to_day, day_of, day_start, to_ms
from aggregator.states import N_STATES

__all__ = [
    "Totals",
    "Window",
    "WindowKind",
    "advance_counts",
    "clip_spans",
    "integrate_timeline",
    "merge_spans",
    "month_window",
    "plan_window",
    "resolve_window",
    "segment_totals",
    "segment_totals_backward",
    "subtract_spans",
    "with_maintenance",
]

_N = N_STATES


@dataclass(frozen=True, slots=True)
class Totals:
    """Milliseconds in each state over some window, for one camera or summed over many."""

    up_ms: int = 0
    degraded_ms: int = 0
    down_ms: int = 0
    unknown_ms: int = 0
    maint_ms: int = 0

    @classmethod
    def of(cls, values: Sequence[int | float]) -> Totals:
        """Build from five numbers in state order (up, degraded, down, unknown, maintenance)."""
        return cls(*(int(v) for v in values[:_N]))

    def as_list(self) -> list[int]:
        """The five totals in state order."""
        return [self.up_ms, self.degraded_ms, self.down_ms, self.unknown_ms, self.maint_ms]

    def __add__(self, other: Totals) -> Totals:
        return Totals.of([a + b for a, b in zip(self.as_list(), other.as_list(), strict=True)])

    @property
    def known_ms(self) -> int:
        """Time some check saw the camera (up, degraded or down)."""
        return self.up_ms + self.degraded_ms + self.down_ms

    @property
    def available(self) -> float | None:
        """(up + degraded) / known, or None when nothing was known."""
        return (self.up_ms + self.degraded_ms) / self.known_ms if self.known_ms else None

    @property
    def usable(self) -> float | None:
        """up / known, or None when nothing was known."""
        return self.up_ms / self.known_ms if self.known_ms else None


class WindowKind(StrEnum):
    """Windows an operator can ask for."""

    LAST_HOUR = "last_hour"
    LAST_24H = "last_24h"
    LAST_7D = "last_7d"
    LAST_30D = "last_30d"
    TODAY = "today"
    MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval ``[start_ms, end_ms)`` of UTC milliseconds."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError("window end must be after its start")


_LAST = {
    WindowKind.LAST_HOUR: timedelta(hours=1),
    WindowKind.LAST_24H: timedelta(hours=24),
    WindowKind.LAST_7D: timedelta(days=7),
    WindowKind.LAST_30D: timedelta(days=30),
}


def month_window(month: str) -> Window:
    """The Bangkok calendar month ``YYYY-MM`` as a window."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        first = date(year, mon, 1)
    except ValueError as err:
        raise ValueError(f"month {month!r}: expected YYYY-MM") from err
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return Window(day_start(date_to_day(first)), day_start(date_to_day(following)))


def resolve_window(
    kind: WindowKind, now: datetime, *, start: datetime | None = None, end: datetime | None = None,
    month: str | None = None,
) -> Window:  # fmt: skip
    """The window ``kind`` means at ``now``; a window reaching past ``now`` is cut at ``now``."""
    now_ms = to_ms(now)
    if kind in _LAST:
        return Window(to_ms(now - _LAST[kind]), now_ms)
    if kind is WindowKind.TODAY:
        return Window(day_start(day_of(now_ms)), now_ms)
    if kind is WindowKind.MONTH:
        if month is None:
            month = now.astimezone(BANGKOK).strftime("%Y-%m")
        w = month_window(month)
    else:
        if start is None or end is None:
            raise ValueError("a custom window needs start and end")
        w = Window(to_ms(start), to_ms(end))
    if w.start_ms >= now_ms:
        raise ValueError("window starts in the future")
    return Window(w.start_ms, min(w.end_ms, now_ms))


def integrate_timeline(points: Sequence[tuple[int, int]], window: Window) -> Totals:
    """Exact totals of one camera: ``points`` are its ``(at_ms, state)`` rows sorted by time
    (ties in stored order), including the last one at or before the window's start.
    A state below zero means the camera did not exist yet."""
    out = [0] * _N
    for i, (at, state) in enumerate(points):
        nxt = points[i + 1][0] if i + 1 < len(points) else window.end_ms
        lo, hi = max(at, window.start_ms), min(nxt, window.end_ms)
        if hi > lo and state >= 0:
            out[state] += hi - lo
    return Totals.of(out)


def advance_counts(counts: Sequence[int], changes: Iterable[tuple[int, int, int]]) -> list[int]:
    """Cameras per state after ``changes``: rows ``(old_state, new_state, how_many)``."""
    out = list(counts)
    for old, new, n in changes:
        if old >= 0:
            out[old] -= n
        if new >= 0:
            out[new] += n
    return out


def segment_totals(
    counts: Sequence[int], start_ms: int, end_ms: int, changes: Iterable[tuple[int, int, int, int]]
) -> Totals:
    """Exact totals over ``[start_ms, end_ms)`` for a group of cameras.

    ``counts`` are the cameras per state at ``start_ms``; ``changes`` are the transitions
    inside the segment aggregated as ``(old_state, new_state, how_many, sum_of_at_ms)``.
    A camera in state s from t to the segment end contributes ``end - t``, so each row adds
    ``how_many * end - sum_of_at`` to its new state and removes it from its old one.
    """
    out = [c * (end_ms - start_ms) for c in counts]
    for old, new, n, sum_at in changes:
        tail = n * end_ms - sum_at
        if old >= 0:
            out[old] -= tail
        if new >= 0:
            out[new] += tail
    return Totals.of(out)


def segment_totals_backward(
    counts_at_end: Sequence[int], start_ms: int, end_ms: int, changes: Iterable[tuple[int, int, int, int]]
) -> Totals:
    """Exact totals over ``[start_ms, end_ms)`` from the counts at ``end_ms``.

    Walking back from the end, a transition at t (old -> new) means the camera was in ``old``
    (not ``new``) for ``t - start`` of the segment: each row moves ``sum_of_at - how_many * start``
    from its new state to its old one. Used when the nearer known counts are at the end.
    """
    out = [c * (end_ms - start_ms) for c in counts_at_end]
    for old, new, n, sum_at in changes:
        head = sum_at - n * start_ms
        if new >= 0:
            out[new] -= head
        if old >= 0:
            out[old] += head
    return Totals.of(out)


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """Whole days read from daily totals, and partial segments computed from transitions."""

    first_day: int | None
    last_day: int | None
    segments: tuple[tuple[int, int, int], ...]  # (day, start_ms, end_ms)


def plan_window(window: Window, checkpoint_ms: int) -> WindowPlan:
    """Split ``window`` into whole Bangkok days before ``checkpoint_ms`` (complete in the daily
    totals) and the rest, cut at day boundaries."""
    whole: list[int] = []
    segments: list[tuple[int, int, int]] = []
    t = window.start_ms
    while t < window.end_ms:
        day = day_of(t)
        day_end = day_start(day + 1)
        stop = min(day_end, window.end_ms)
        if t == day_start(day) and stop == day_end and day_end <= checkpoint_ms:
            whole.append(day)
        else:
            segments.append((day, t, stop))
        t = stop
    return WindowPlan(whole[0] if whole else None, whole[-1] if whole else None, tuple(segments))



# -- planned maintenance ------------------------------------------------------------------
# Time inside a maintenance window counts as maintenance whatever the camera reported: the
# rollup computes the window's totals, then the totals over the (few) maintenance spans, and
# moves the latter into maintenance. Spans are half-open ``(start_ms, end_ms)``.

Span = tuple[int, int]


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """The union of ``spans``, sorted, overlapping or touching ones merged, empty ones dropped."""
    out: list[Span] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def clip_spans(spans: Iterable[Span], window: Window) -> list[Span]:
    """``spans`` cut to the window, merged."""
    return merge_spans((max(a, window.start_ms), min(b, window.end_ms)) for a, b in spans)


def subtract_spans(spans: Iterable[Span], cut: Iterable[Span]) -> list[Span]:
    """The parts of ``spans`` outside every span of ``cut`` (both merged first)."""
    holes = merge_spans(cut)
    out: list[Span] = []
    for a, b in merge_spans(spans):
        for h0, h1 in holes:
            if h1 <= a or h0 >= b:
                continue
            if h0 > a:
                out.append((a, h0))
            a = max(a, h1)
            if a >= b:
                break
        if a < b:
            out.append((a, b))
    return out


def with_maintenance(total: Totals, inside: Totals) -> Totals:
    """``total`` with the time of ``inside`` (the same cameras' totals over the maintenance
    spans within the window) moved to maintenance. Time before a camera existed is in
    neither, so it stays uncounted."""
    moved = inside.up_ms + inside.degraded_ms + inside.down_ms + inside.unknown_ms
    return Totals(
        total.up_ms - inside.up_ms,
        total.degraded_ms - inside.degraded_ms,
        total.down_ms - inside.down_ms,
        total.unknown_ms - inside.unknown_ms,
        total.maint_ms + moved,
    )
