"""No test reads the real calendar (issue 12): a test that builds its data from today's date
passes on some days of the month and fails on others. Tests use the ``now`` fixture, a
constant, or ``tests.clock.current()``; measuring time (``time.monotonic``) is fine."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from tests.clock import CALENDAR, PINNED, current, instant_id

TESTS = Path(__file__).resolve().parents[1]

# A real-clock read: a call of datetime.now, datetime.utcnow, date.today, time.time or time.time_ns.
REAL_CLOCK = re.compile(r"\b(?:datetime\.(?:now|utcnow)|date\.today|time\.time(?:_ns)?)\(")

# The files that may read it, and why.
ALLOWED = {
    "clock.py": "the pinning helper itself: the pinned clock, and a child process's offset from the real one",
    "rig/onvif_sim.py": "the simulated camera's own clock, in its own process, shifted on purpose (clock skew tests)",
}


def real_clock_reads(root: Path) -> list[str]:
    """``path:line: text`` of every real-clock read in the Python files under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED:
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if REAL_CLOCK.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_no_test_reads_the_real_clock() -> None:
    assert real_clock_reads(TESTS) == [], "use the `now` fixture, a constant or tests.clock.current()"


def test_the_check_finds_each_kind_of_read(tmp_path: Path) -> None:
    # built from (name, arguments) so that this file holds no read itself
    reads = [f"{name}({args})" for name, args in (
        ("datetime.now", "UTC"), ("datetime.now", ""), ("datetime.utcnow", ""), ("date.today", ""),
        ("time.time", ""), ("time.time_ns", ""), ("dt.datetime.now", "tz=UTC"))]  # fmt: skip
    fine = ["time.monotonic()", "time.perf_counter()", "now", "current()", "datetime.fromtimestamp(0, UTC)"]
    (tmp_path / "test_x.py").write_text("\n".join(f"x = {r}" for r in reads + fine) + "\n", "utf-8")
    (tmp_path / "clock.py").write_text(f"x = {reads[0]}\n", "utf-8")  # allowed
    assert real_clock_reads(tmp_path) == [f"test_x.py:{i}: x = {r}" for i, r in enumerate(reads, 1)]
    assert all((TESTS / name).is_file() for name in ALLOWED)  # no stale entries


def test_now_is_pinned_and_current_follows_it(now: datetime) -> None:
    assert now == PINNED
    assert PINNED <= current() < PINNED.replace(year=PINNED.year + 1)


def test_current_refuses_an_unpinned_clock() -> None:
    with pytest.raises(RuntimeError, match="not pinned"):
        current()


def test_calendar_instants_cover_the_month_ends_and_bangkok_midnight() -> None:
    days = {at.day for at in CALENDAR}
    assert {1, 15, 28, 29, 30, 31} <= days
    ids = {instant_id(at) for at in CALENDAR}
    assert {"2028-02-29T16:59Z", "2028-02-29T17:01Z"} <= ids  # 23:59 and 00:01 in Bangkok
    assert any((at.month, at.day) == (12, 31) for at in CALENDAR)
    assert len(ids) == len(CALENDAR)
