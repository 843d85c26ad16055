"""2,000 agents reconnect after a broker restart; nothing lost, each event once (issue 4).

Real Publisher + Outbox pairs, 125 per process (paho's select() loop caps one process near
150 agents, see tests/rig/fleet_main.py); ingest and its store run in their own process.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clock import child_environ
from tests.rig.transport import ROOT, IngestProcess, ledger, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py

N_AGENTS = 2000
PER_PROCESS = 125


def _count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(db, timeout=10)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def _produced(workdir: Path, sites: list[str]) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for site in sites:
        conn = sqlite3.connect(workdir / f"{site}.outbox.sqlite3")
        try:
            last = int(conn.execute("SELECT value FROM meta WHERE key = 'next_event_id'").fetchone()[0]) - 1
        finally:
            conn.close()
        out |= {(site, i) for i in range(1, last + 1)}
    return out


def test_2000_agents_reconnect_after_a_broker_restart(tmp_path: Path, broker_factory: Any) -> None:
    broker = broker_factory(extra_config=["max_connections -1"])
    db = tmp_path / "centre.db"
    sites = [f"fleet-{i:04d}" for i in range(N_AGENTS)]
    centre = IngestProcess(tmp_path, db, broker, CAMWATCH_TEST_SITES=",".join(sites))
    env = child_environ(dict(os.environ, PYTHONPATH=str(ROOT)))  # the fleets keep the test's pinned clock
    fleets: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for i in range(0, N_AGENTS, PER_PROCESS):
            log = open(tmp_path / f"fleet-{i}.log", "wb")  # noqa: SIM115 - closed in finally
            logs.append(log)
            fleets.append(subprocess.Popen(
                [sys.executable, "-m", "tests.rig.fleet_main", str(broker.port), str(tmp_path), *sites[i:i + PER_PROCESS]],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            ))
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM sites WHERE online = 1") == N_AGENTS,
                   timeout=90, what="every site born")
        assert _count(db, "SELECT COUNT(*) FROM sites WHERE bd_seq = 1") == N_AGENTS
        broker.restart()
        for proc in fleets:
            proc.send_signal(signal.SIGUSR1)  # each agent checks a camera while the fleet reconnects
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM sites WHERE bd_seq = 2 AND online = 1") == N_AGENTS,
                   timeout=90, what="every agent born again with its next bd_seq")
        wait_until(lambda: len(set(ledger(db))) >= N_AGENTS, timeout=60, what="the events committed")
        for proc in fleets:
            proc.send_signal(signal.SIGTERM)
        for proc in fleets:
            assert proc.wait(60) == 0
        produced = _produced(tmp_path, sites)
        assert len(produced) == N_AGENTS
        assert set(ledger(db)) == produced
        twice = _count(db, "SELECT COUNT(*) FROM (SELECT camera, event_id FROM transitions "
                           "WHERE event_id IS NOT NULL GROUP BY 1, 2 HAVING COUNT(*) > 1)")
        assert twice == 0
    finally:
        for proc in fleets:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for log in logs:
            log.close()
        centre.terminate()
