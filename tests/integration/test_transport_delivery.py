"""Nothing lost between agent and store: real Mosquitto, real outbox, publisher, ingest and StateStore.

Every scenario ends with assert_exactly_once: the events the agents produced are the
events the store committed, each exactly once (issue 4).
"""

from __future__ import annotations

import signal
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol import site_filter
from tests.clock import current
from tests.rig.mqtt import Collector
from tests.rig.transport import (
    Agent,
    IngestProcess,
    TcpProxy,
    assert_exactly_once,
    assert_timeline,
    changes,
    ledger,
    start_ingest,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def _all_committed(db_path: Path, *agents: Agent) -> bool:
    want = {(a.site, i) for a in agents for i in a.produced}
    return want <= set(ledger(db_path))


def _settled(db_path: Path, *agents: Agent) -> None:
    wait_until(lambda: _all_committed(db_path, *agents), what="every event committed")
    wait_until(lambda: all(a.outbox.depth() == 0 for a in agents), what="acks emptied the outboxes")
    assert_exactly_once(db_path, agents)
    for agent in agents:  # the uptime a fault-free run would have stored
        assert_timeline(db_path, agent, agent.made)


def test_events_reach_the_store_and_are_acked(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    try:
        made = list(changes(agent.camera_ids, 30))
        for c in made:
            agent.record(c)
        _settled(db, agent)
        assert_timeline(db, agent, made)
        assert agent.publisher.acked_upto == agent.outbox.last_event_id()
        agent.stop()  # a clean stop publishes the death: the site is unknown at once, never down

        def site_row() -> tuple[int, ...]:
            conn = sqlite3.connect(db)
            try:
                return tuple(conn.execute("SELECT online FROM sites WHERE site_id = 'site-a'").fetchone())
            finally:
                conn.close()

        wait_until(lambda: site_row() == (0,), what="site offline after the agent's death")
        conn = sqlite3.connect(db)
        states = {s for (s,) in conn.execute("SELECT state FROM cameras")}
        conn.close()
        assert states == {3}, "unknown (3), never down"
    finally:
        agent.stop()
        ingest.stop()


def test_broker_restarted_mid_stream(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    try:
        made = list(changes(agent.camera_ids, 200, step_s=10))
        for c in made[:100]:
            agent.record(c)
        mosquitto.restart()
        for c in made[100:]:
            agent.record(c)
        _settled(db, agent)
        assert_timeline(db, agent, made)
        assert agent.publisher.births >= 2
    finally:
        agent.stop()
        ingest.stop()


def test_broker_killed_right_after_acknowledging(tmp_path: Path, mosquitto: Any) -> None:
    """The broker PUBACKed the agent's events, then died (kill -9) before the centre stored them."""
    db = tmp_path / "centre.db"
    centre = IngestProcess(tmp_path, db, mosquitto, CAMWATCH_TEST_SITES="site-a")
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    try:
        agent.emit(5)
        _settled(db, agent)
        centre.process.send_signal(signal.SIGSTOP)  # the centre hangs: nothing more is stored
        before = agent.outbox.last_event_id()
        agent.emit(50)
        wait_until(
            lambda: agent.publisher.confirmed_upto >= agent.outbox.last_event_id() > before,
            what="broker PUBACKed every event",
        )
        mosquitto.kill()
        mosquitto.start()
        centre.process.send_signal(signal.SIGCONT)
        _settled(db, agent)
    finally:
        agent.stop()
        centre.terminate()


def test_uplink_cut_for_hours_then_restored(tmp_path: Path, mosquitto: Any) -> None:
    """Six hours of changes made during an outage arrive, historical, with their edge times."""
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    proxy = TcpProxy(mosquitto.port)
    agent = Agent(tmp_path, mosquitto, "site-a", port=proxy.port, keepalive_s=5).start()
    try:
        wait_until(lambda: agent.publisher.births >= 1, what="first birth")
        start = current() - timedelta(hours=7)
        proxy.cut()
        made = list(changes(agent.camera_ids, 1500, start=start, step_s=14.4))  # 6 h
        for c in made:
            agent.record(c)
        assert agent.outbox.depth() == 1500
        proxy.restore()
        _settled(db, agent)
        assert_timeline(db, agent, made)
        conn = sqlite3.connect(db)
        live = conn.execute(
            "SELECT COUNT(*) FROM transitions WHERE event_id IS NOT NULL AND historical = 0"
        ).fetchone()[0]
        conn.close()
        assert live == 0, "replayed events must be flagged historical"
    finally:
        agent.stop()
        proxy.close()
        ingest.stop()


def test_centre_offline_while_agents_keep_checking(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    watch = Collector(mosquitto.port, [site_filter(site="site-a", kind="events")])
    try:
        agent.emit(10)
        _settled(db, agent)
        seen = len(watch.messages)
        ingest.stop()  # publishes the retained offline host state
        wait_until(lambda: not agent.publisher._centre_online, what="agent saw the centre go offline")  # noqa: SLF001
        agent.emit(40)
        births = agent.publisher.births
        time.sleep(1.5)  # three publisher ticks: anything it would publish would be out by now
        assert len(watch.messages) == seen, "nothing live is published while the centre is offline"
        assert agent.outbox.depth() == 40
        ingest = start_ingest(db, mosquitto, ["site-a"])
        _settled(db, agent)
        assert agent.publisher.births >= births + 1
    finally:
        watch.close()
        agent.stop()
        ingest.stop()
