"""The instants tests run at: a test never reads the real calendar (issue 12).

A test that needs "now" asks for the ``now`` fixture (tests/conftest.py): the clock is
pinned there, with ``time-machine``, for the test and everything it calls, in every thread
(``tick=True``: time still passes, from the pinned instant). A test that only needs a date
uses a constant; one that needs a later time on the pinned clock calls ``current()``.
Subprocess peers that are test code (tests/rig/*_main.py) call
``follow_parent_clock()`` first, so they keep the same pinned clock as the test that
started them. Time *measurement* (``time.monotonic``, ``time.perf_counter``) is never
pinned and is fine everywhere.

Apart from the simulated camera's own shifted clock (tests/rig/onvif_sim.py), this module is
the only test file that reads the real clock (tests/unit/test_no_real_clock.py checks it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import time_machine

__all__ = [
    "CALENDAR", "CLOCK_ENV", "PINNED", "child_environ", "current", "follow_parent_clock", "instant_id", "travel",
]

# The default instant: an ordinary Wednesday, 10:00 in Bangkok, mid-month.
PINNED = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

# Where ``@pytest.mark.calendar`` tests run, each one at every instant. 05:00 UTC is noon in
# Bangkok, so those are the same day in both; the last two are a minute either side of
# Bangkok midnight (UTC+7) on a leap day.
CALENDAR: tuple[datetime, ...] = (
    datetime(2027, 3, 1, 5, 0, tzinfo=UTC),  # the 1st, just after a 28-day February
    datetime(2027, 1, 15, 5, 0, tzinfo=UTC),  # the 15th
    datetime(2027, 2, 28, 5, 0, tzinfo=UTC),  # the 28th: last day of a short February
    datetime(2027, 3, 29, 5, 0, tzinfo=UTC),  # the 29th: a month back is in February
    datetime(2027, 4, 30, 5, 0, tzinfo=UTC),  # the 30th: last day of a 30-day month
    datetime(2027, 5, 31, 5, 0, tzinfo=UTC),  # the 31st
    datetime(2027, 12, 31, 5, 0, tzinfo=UTC),  # 31 December
    datetime(2026, 12, 4, 5, 0, tzinfo=UTC),  # the day issue 12 turned CI red
    datetime(2028, 2, 29, 16, 59, tzinfo=UTC),  # 23:59 on 29 February 2028 in Bangkok
    datetime(2028, 2, 29, 17, 1, tzinfo=UTC),  # 00:01 on 1 March 2028 in Bangkok
)

# Carries the pinned clock to a child process: its offset from the real clock, in seconds.
# Not CAMWATCH_*: the aggregator refuses environment variables of its own prefix it does not know.
CLOCK_ENV = "PINNED_CLOCK_OFFSET_S"


def instant_id(at: datetime) -> str:
    """The test id of an instant: ``2028-02-29T16:59Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@contextmanager
def travel(at: datetime) -> Iterator[datetime]:
    """Pin the clock of this process (all threads) to ``at`` for the block; time still passes."""
    with time_machine.travel(at, tick=True):
        yield at


def current() -> datetime:
    """Now on the pinned clock (it ticks from the pinned instant); refuses when it is not pinned.

    For tests and rigs that need a later time than ``now`` (heartbeats, a second message)."""
    if not time_machine.escape_hatch.is_travelling():
        raise RuntimeError("the clock is not pinned: use the `now` fixture (tests/conftest.py)")
    return datetime.now(UTC)


def child_environ(environ: dict[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) plus this process's pinned clock for a child to follow."""
    env = dict(os.environ if environ is None else environ)
    if time_machine.escape_hatch.is_travelling():
        env[CLOCK_ENV] = repr(time.time() - time_machine.escape_hatch.time.time())  # pinned minus real
    return env


def follow_parent_clock() -> None:
    """Pin this child process's clock to its parent's, if the parent passed one (never undone)."""
    raw = os.environ.get(CLOCK_ENV)
    if raw is None:
        return
    at = datetime.fromtimestamp(time.time() + float(raw), UTC)  # the real clock plus the parent's offset
    time_machine.travel(at, tick=True).start()
