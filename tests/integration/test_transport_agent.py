"""The agent's publisher under hostile and degraded conditions, against a real Mosquitto (issue 4)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from protocol import Command, CommandKind, Heartbeat, decode, encode, site_filter, site_topic
from protocol.topics import HOST_STATE_TOPIC
from tests.clock import current
from tests.rig.mqtt import Collector
from tests.rig.transport import (
    DISTRICT,
    PROVINCE,
    Agent,
    RawSite,
    assert_exactly_once,
    ledger,
    start_ingest,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def _committed(db: Path, agent: Agent) -> bool:
    return {(agent.site, i) for i in agent.produced} <= set(ledger(db))


def test_garbage_and_failing_callbacks_never_stop_the_agent(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    fails = {"left": 2}
    agent = Agent(tmp_path, mosquitto, "site-a")
    real_snapshot = agent.snapshot

    def flaky_snapshot() -> Any:
        if fails["left"] > 0:
            fails["left"] -= 1
            raise RuntimeError("camera table being rebuilt")
        return real_snapshot()

    agent.publisher._snapshot = flaky_snapshot  # noqa: SLF001 - the provider the runner passes in
    agent.start()
    noise = RawSite(mosquitto, "noise")
    try:
        for kind in ("ack", "cmd"):
            noise.client.publish(site_topic(PROVINCE, DISTRICT, "site-a", kind), b"\xff not json", qos=1).wait_for_publish(5)
            noise.client.publish(site_topic(PROVINCE, DISTRICT, "site-a", kind), b'{"v": "9.0"}', qos=1).wait_for_publish(5)
        agent.emit(20)
        wait_until(lambda: _committed(db, agent), what="events delivered despite the noise")
        wait_until(lambda: agent.outbox.depth() == 0, what="acks")
        assert fails["left"] == 0, "the failing snapshot was retried"
        assert agent.publisher._client._thread.is_alive()  # noqa: SLF001 - paho's network thread
        assert_exactly_once(db, [agent])
    finally:
        noise.close()
        agent.stop()
        ingest.stop()


def test_rebirth_command_births_again_and_replays(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, ["site-a"])
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    centre = RawSite(mosquitto, "centre")
    try:
        wait_until(lambda: agent.publisher.births == 1, what="first birth")
        cmd = Command(site="site-a", ts=current(), cmd_id="t1", command=CommandKind.REBIRTH)
        centre.client.publish(site_topic(PROVINCE, DISTRICT, "site-a", "cmd"), encode(cmd), qos=1).wait_for_publish(5)
        wait_until(lambda: agent.publisher.births == 2, what="birth after the rebirth command")
        agent.emit(5)
        wait_until(lambda: _committed(db, agent), what="events after the rebirth")
    finally:
        centre.close()
        agent.stop()
        ingest.stop()


def test_outbox_compaction_is_reported_in_the_next_heartbeat(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    beats = Collector(mosquitto.port, [site_filter(site="site-a", kind="heartbeat")])
    agent = Agent(tmp_path, mosquitto, "site-a", max_events=20, heartbeat_interval_s=1.0).start()
    try:
        agent.emit(100)  # no centre yet: everything waits in the outbox, which compacts
        queued = agent.outbox.depth()
        assert queued <= 20
        ingest = start_ingest(db, mosquitto, ["site-a"])
        try:
            found = beats.wait_for(1, timeout=15)
            first = decode(Heartbeat, found[0].payload)
            assert first.compacted == 100 - queued, "every merged event is reported"
            assert first.free_disk_bytes is not None and first.free_disk_bytes > 0
            wait_until(lambda: agent.outbox.depth() == 0, what="compacted backlog acked")
            conn = sqlite3.connect(db)
            for cam in agent.camera_ids:
                state = conn.execute(
                    "SELECT c.state FROM cameras c JOIN sites s ON s.id = c.site WHERE s.site_id = 'site-a' "
                    "AND c.camera_id = ?", (cam,)).fetchone()[0]
                assert state == {"up": 0, "down": 2}[agent.states[cam].state.value], "latest state kept"
            conn.close()
            time.sleep(2.5)  # two more heartbeats: the count is not reported again
            later = [decode(Heartbeat, m.payload) for m in beats.messages[len(found):]]
            assert later and all(b.compacted == 0 for b in later)
        finally:
            ingest.stop()
    finally:
        beats.close()
        agent.stop()


def test_retained_garbage_host_state_is_ignored(tmp_path: Path, mosquitto: Any) -> None:
    noise = RawSite(mosquitto, "noise")
    noise.client.publish(HOST_STATE_TOPIC, b"garbage", qos=1, retain=True).wait_for_publish(5)
    db = tmp_path / "centre.db"
    agent = Agent(tmp_path, mosquitto, "site-a").start()
    try:
        agent.emit(3)
        ingest = start_ingest(db, mosquitto, ["site-a"])  # replaces the retained garbage with online
        try:
            wait_until(lambda: _committed(db, agent), what="delivery after the centre came online")
        finally:
            ingest.stop()
    finally:
        noise.close()
        agent.stop()


def test_a_large_birth_is_split_and_assembled(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    births = Collector(mosquitto.port, [site_filter(site="site-big", kind="birth")])
    ingest = start_ingest(db, mosquitto, ["site-big"])
    agent = Agent(tmp_path, mosquitto, "site-big", cameras=600, max_payload_bytes=16 * 1024).start()
    try:
        wait_until(lambda: agent.publisher.births == 1, what="birth sent")

        def cameras() -> int:
            conn = sqlite3.connect(db)
            try:
                return int(conn.execute("SELECT COUNT(*) FROM cameras").fetchone()[0])
            except sqlite3.OperationalError:
                return 0
            finally:
                conn.close()

        wait_until(lambda: cameras() == 600, what="the assembled birth stored")
        wait_until(lambda: len(births.messages) > 2, what="600 cameras need several 16 KiB parts")
        assert all(len(p.payload) <= 16 * 1024 for p in births.messages)
        agent.emit(10)  # the seq continues after the last part: no gap, no rebirth
        wait_until(lambda: _committed(db, agent), what="events after a split birth")
        assert agent.publisher.births == 1
    finally:
        births.close()
        agent.stop()
        ingest.stop()
