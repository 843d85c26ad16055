"""One text form for times stored by the fault tables, so SQL can compare them as strings."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "parse_iso"]

# Fixed width with microseconds and a 'Z': lexical order equals time order in SQLite.
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(value: datetime | None) -> str | None:
    """Format an aware datetime as fixed-width UTC text (None stays None)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime(_FORMAT)


def parse_iso(value: str | None) -> datetime | None:
    """Parse text written by :func:`iso` (or any ISO 8601 form) to an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
