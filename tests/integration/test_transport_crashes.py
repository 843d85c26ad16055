"""Processes killed -9 at the worst moments: the store still gets every event exactly once (issue 4)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clock import child_environ
from tests.rig.transport import (
    ROOT,
    Agent,
    IngestProcess,
    assert_exactly_once,
    assert_timeline,
    ledger,
    start_ingest,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def _settle(db: Path, agent: Agent) -> None:
    want = {(agent.site, i) for i in agent.produced}
    wait_until(lambda: want <= set(ledger(db)), timeout=40, what="every event committed")
    wait_until(lambda: agent.outbox.depth() == 0, timeout=40, what="acks emptied the outbox")
    assert_exactly_once(db, [agent])
    assert_timeline(db, agent, agent.made)  # the uptime a fault-free run would have stored


@pytest.mark.parametrize("stage", ["received", "committed"])
def test_aggregator_killed_between_receive_and_ack(tmp_path: Path, mosquitto: Any, stage: str) -> None:
    """kill -9 before the commit (broker redelivers) and after it, before the acks (store de-duplicates)."""
    db = tmp_path / "centre.db"
    centre = IngestProcess(tmp_path, db, mosquitto, CAMWATCH_TEST_SITES="site-a", CAMWATCH_TEST_KILL_AT=stage)
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    try:
        agent.emit(30)
        assert centre.wait(40) == -9, centre.log()
        assert f"KILLING at {stage}" in centre.log()
        committed = ledger(db)
        if stage == "received":
            assert committed == [], "nothing may be stored before the commit"
        else:
            assert committed, "the killed batch was committed"
        assert agent.outbox.depth() > 0, "no application ack reached the agent"
        wait_until(lambda: not agent.publisher._centre_online,  # noqa: SLF001
                   what="the aggregator's will (host state offline) reached the agent")
        centre = IngestProcess(tmp_path, db, mosquitto, CAMWATCH_TEST_SITES="site-a")
        _settle(db, agent)
    finally:
        agent.stop()
        centre.terminate()


def test_agent_killed_with_events_in_its_outbox(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    outbox = tmp_path / "site-a.outbox.sqlite3"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    env = child_environ(dict(os.environ, PYTHONPATH=str(ROOT), CAMWATCH_TEST_OUTBOX=str(outbox), CAMWATCH_TEST_SITE="site-a",
                             CAMWATCH_TEST_BROKER_PORT=str(mosquitto.port)))  # the agent keeps the pinned clock
    log = open(tmp_path / "agent.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "tests.rig.agent_main"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    agent = None
    try:
        wait_until(lambda: len(ledger(db)) >= 30, what="the agent's first events committed")
        ingest.stop()  # the centre goes offline: the agent buffers

        def depth() -> int:
            conn = sqlite3.connect(outbox)
            try:
                return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            finally:
                conn.close()

        wait_until(lambda: depth() >= 50, what="events waiting in the outbox")
        proc.kill()
        proc.wait(10)
        conn = sqlite3.connect(outbox)
        last = int(conn.execute("SELECT value FROM meta WHERE key = 'next_event_id'").fetchone()[0]) - 1
        conn.close()
        assert depth() >= 50
        ingest = start_ingest(db, mosquitto, ["site-a"])
        agent = Agent(tmp_path, mosquitto, "site-a").start()  # same outbox file: the restarted agent
        agent.produced.update(range(1, last + 1))
        agent.emit(5)
        assert min(i for i in agent.produced if i > last) == last + 1, "event ids continue after the crash"
        _settle(db, agent)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
        if agent is not None:
            agent.stop()
        ingest.stop()
