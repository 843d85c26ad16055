"""Run many agents (real Outbox + Publisher) in one process for the fleet test.

paho's network loop uses select(), which cannot watch file descriptors above 1024; each
agent holds ~6 (socket, paho's wake-up pair, SQLite db/wal/shm), so one process runs at
most ~150 agents and the fleet test starts several of these processes.

Arguments: BROKER_PORT WORKDIR SITE [SITE ...]. SIGUSR1: record one change per agent.
SIGTERM: stop every agent cleanly and exit.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from protocol import CameraState, Reason
from tests.clock import current, follow_parent_clock
from tests.rig.mosquitto import Broker
from tests.rig.signals import SignalFlag
from tests.rig.transport import Agent, Change


def main() -> int:
    follow_parent_clock()
    logging.basicConfig(level=logging.ERROR, stream=sys.stdout)
    port, workdir, sites = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    broker = Broker(workdir=workdir / "unused-broker", port=port)  # only host/port are read
    agents = [
        Agent(workdir, broker, site, cameras=1, jitter_s=3.0, heartbeat_interval_s=60.0, keepalive_s=60)
        for site in sites
    ]
    emit, done = SignalFlag(), SignalFlag()  # never a threading.Event in a handler: it can deadlock
    signal.signal(signal.SIGUSR1, emit.set)
    signal.signal(signal.SIGTERM, done.set)
    for agent in agents:
        agent.start()
    print("FLEET STARTED", flush=True)
    while not done.is_set():
        if emit.wait(0.2):
            emit.clear()
            now = current()
            for agent in agents:
                agent.record(Change(agent.camera_ids[0], CameraState.DOWN, Reason.UNREACHABLE, now))
            print("EMITTED", flush=True)
    for agent in agents:
        agent.publisher._stop.set()  # noqa: SLF001 - stop all at once, then join each
    for agent in agents:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
