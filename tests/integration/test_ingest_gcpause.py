"""Ingest pauses the garbage collector for a batch only: real Mosquitto, agent, ingest and StateStore."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from tests.rig.transport import Agent, assert_exactly_once, ledger, start_ingest, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def test_batches_commit_with_the_collector_paused_and_it_is_on_again_after(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    seen: list[bool] = []  # the collector's state inside each committed batch
    ingest.listeners.append(lambda result: seen.append(gc.isenabled()))
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    try:
        agent.emit(40)
        wait_until(lambda: {("site-a", i) for i in agent.produced} <= set(ledger(db)), what="every event committed")
        wait_until(lambda: agent.outbox.depth() == 0, what="acks emptied the outbox")
        assert_exactly_once(db, [agent])
    finally:
        agent.stop()
        ingest.stop()
    assert seen and not any(seen), "every batch ran with the collector paused"
    assert gc.isenabled(), "and it is on again once ingest stopped"
