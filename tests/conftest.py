"""Shared fixtures: real peers started per test on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rig.mosquitto import Broker


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
