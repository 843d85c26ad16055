"""Shared fixtures: the pinned clock, and real peers started per test on free ports.

The clock (issue 12): a test never reads the real calendar. ``now`` is the instant the test
runs at, with this process's clock pinned there (``time-machine``, ``tick=True``) so code
that reads the clock deep inside (API routes, ingest, the store) agrees with the test;
by default it is ``tests.clock.PINNED``.

The calendar job: a test marked ``@pytest.mark.calendar`` that uses ``now`` runs once at
every instant of ``tests.clock.CALENDAR`` (the 1st, 15th, 28th-31st of months, 31 December,
29 February 2028 a minute either side of Bangkok midnight, ...), with ids such as
``test_x[2028-02-29T16:59Z]``. It runs with every ``pytest`` (scripts/test.sh); run only it
with ``pytest -m calendar``. Mark unit-level tests whose outcome depends on the date
(retention, days, ledgers, the midnight roll, reports, maintenance and availability
windows, fault timing, API windows), not integration tests with real peers: each marked test
runs ten times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.clock import CALENDAR, PINNED, instant_id, travel
from tests.rig.mosquitto import Broker


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each ``calendar`` test at every instant of CALENDAR."""
    if metafunc.definition.get_closest_marker("calendar") is None:
        return
    if "now" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a calendar test must use the `now` fixture")
    metafunc.parametrize("now", CALENDAR, indirect=True, ids=instant_id)


@pytest.fixture
def now(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The instant this test runs at; the clock of this process is pinned there meanwhile."""
    at: datetime = getattr(request, "param", PINNED)
    with travel(at):
        yield at


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """Make and start Mosquitto brokers with given options; all are stopped afterwards."""
    brokers: list[Broker] = []

    def make(**options: Any) -> Broker:
        broker = Broker(workdir=tmp_path / f"mosquitto-{len(brokers)}", **options)
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.kill()


@pytest.fixture
def mosquitto(broker_factory: Callable[..., Broker]) -> Broker:
    """A plain anonymous Mosquitto on a free loopback port."""
    return broker_factory()
