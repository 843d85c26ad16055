"""Run several sites' agents (real Outbox + Publisher, built from shipped agent YAML configs) in one
process, for the topology chaos tests: no camera checks, each change is made by the test.

Arguments: CONFIG.yaml [CONFIG.yaml ...] (each a shipped agent config: site, broker with its
fallback list, outbox path). SIGUSR1: record one change per agent (down, up, down...).
SIGTERM: stop every agent cleanly and exit. The publishers' failover lines (agent.failover)
and a line per emit go to stdout.
"""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from agent.config import load_config
from agent.outbox import Outbox
from agent.publisher import Publisher, PublisherSettings
from protocol import BirthCamera, CameraState, Reason
from tests.clock import current, follow_parent_clock
from tests.rig.signals import SignalFlag
from tests.rig.transport import Change

# Test pace (the shipped defaults are 60 s heartbeats, 30 s failover, 60 s return checks).
HEARTBEAT_S, FAILOVER_S, RETURN_S, PROBE_S = 2.0, 2.0, 2.0, 2.0


class Site:
    def __init__(self, config_path: Path) -> None:
        config = load_config(config_path)
        self.camera = f"{config.site.site_id}-cam0"
        self.state = BirthCamera(camera_id=self.camera, state=CameraState.UP, since=current() - timedelta(days=1))
        self.outbox = Outbox(config.outbox_path())
        settings = PublisherSettings.from_config(config, agent_version="chaos")
        settings = replace(settings, heartbeat_interval_s=HEARTBEAT_S, failover_after_s=FAILOVER_S,
                           return_check_s=RETURN_S, probe_timeout_s=PROBE_S)  # fmt: skip
        self.publisher = Publisher(settings, self.outbox, snapshot=lambda: [self.state])

    def change(self) -> None:
        state = CameraState.DOWN if self.state.state == CameraState.UP else CameraState.UP
        at = current()
        self.outbox.record(Change(self.camera, state, Reason.UNREACHABLE if state == CameraState.DOWN else Reason.NONE, at))
        self.state = BirthCamera(camera_id=self.camera, state=state, since=at)
        self.publisher.notify()


def main() -> int:
    follow_parent_clock()
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("agent.failover").setLevel(logging.INFO)
    sites = [Site(Path(p)) for p in sys.argv[1:]]
    emit, done = SignalFlag(), SignalFlag()
    signal.signal(signal.SIGUSR1, emit.set)
    signal.signal(signal.SIGTERM, done.set)
    for site in sites:
        site.publisher.start()
    print("AGENTS STARTED", flush=True)
    emitted = 0
    while not done.is_set():
        if emit.wait(0.2):
            emit.clear()
            for site in sites:
                site.change()
            emitted += 1
            print(f"EMITTED {emitted}", flush=True)
    for site in sites:
        site.publisher.stop()
    print("AGENTS STOPPED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
