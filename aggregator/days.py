"""Asia/Bangkok calendar days on integer-millisecond UTC timestamps.

Daily totals are kept per Bangkok day: a province's committee reads "October" in local
time. Thailand has kept UTC+7 without daylight saving since 1920, so a fixed offset is
exact for every timestamp the protocol accepts (2000 onwards); tests check it against
``zoneinfo``. This module is the aggregator's one spelling of Bangkok time: the offset
(:data:`OFFSET_MS`, for hot paths and SQL that inline :func:`day_of`) and the zone
(:data:`BANGKOK`, for local dates and wall-clock text).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = [
    "BANGKOK",
    "DAY_MS",
    "OFFSET_MS",
    "day_of",
    "day_start",
    "day_to_date",
    "date_to_day",
    "from_ms",
    "split_days",
    "to_ms",
    "today_in_bangkok",
]

DAY_MS = 86_400_000
OFFSET_MS = 7 * 3_600_000  # Asia/Bangkok is UTC+7 all year
BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)


def to_ms(at: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (exact, no float rounding)."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """The UTC datetime of ``ms`` milliseconds since the epoch."""
    return _EPOCH + timedelta(milliseconds=ms)


def day_of(ms: int) -> int:
    """Bangkok day number (days since 1970-01-01 local) containing instant ``ms``."""
    return (ms + OFFSET_MS) // DAY_MS


def day_start(day: int) -> int:
    """The instant (ms, UTC) at which Bangkok day ``day`` begins (local midnight)."""
    return day * DAY_MS - OFFSET_MS


def today_in_bangkok(now: datetime | None = None) -> date:
    """Today's date in Bangkok: what an officer means by "today" (UTC is 7 hours behind)."""
    return (now or datetime.now(UTC)).astimezone(BANGKOK).date()


def day_to_date(day: int) -> date:
    """The calendar date of Bangkok day number ``day``."""
    return _EPOCH_DATE + timedelta(days=day)


def date_to_day(value: date) -> int:
    """The Bangkok day number of a calendar date."""
    return (value - _EPOCH_DATE).days


def split_days(start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield ``(day, milliseconds)`` for each Bangkok day that ``[start, end)`` touches."""
    day = day_of(start)
    while start < end:
        boundary = day_start(day + 1)
        stop = end if end < boundary else boundary
        yield day, stop - start
        start = stop
        day += 1
