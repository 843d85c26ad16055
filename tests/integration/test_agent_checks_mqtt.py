"""``camwatch-agent run`` end to end (issue 3 + transport boundary): real cameras on the
RTSP rig, real checks, the real outbox and publisher, a real Mosquitto; the confirmed
state changes arrive as protocol Events with the edge time of the first failing check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from protocol import Birth, CameraState, Events, HostState, Reason, decode, encode, site_filter
from protocol.topics import HOST_STATE_TOPIC
from tests.clock import child_environ, current
from tests.integration.conftest_agent_checks import FAST_CHECKS
from tests.rig.mqtt import Collector
from tests.rig.rtsp_server import RtspServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py
REPO = Path(__file__).resolve().parents[2]


def test_run_publishes_confirmed_changes_to_the_broker(
    rtsp_server: RtspServer, mosquitto: Any, tmp_path: Path
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({
        "site": {"site_id": "bkk-run", "province": "10", "district": "1001", "name": "Gate"},
        "broker": {"host": "127.0.0.1", "port": mosquitto.port, "tls": False,
                   "password": "env:CW_TEST_BROKER_PW", "heartbeat_interval_s": 5, "connect_jitter_s": 0},
        "checks": FAST_CHECKS,
        "state_dir": str(tmp_path / "state"),
        "cameras": [
            {"id": "gate", "address": "127.0.0.1", "onvif_port": None, "stream_uri": rtsp_server.uri("moving")},
            {"id": "yard", "address": "127.0.0.1", "onvif_port": None, "stream_uri": rtsp_server.uri("black")},
        ],
    }))
    collector = Collector(mosquitto.port, [site_filter(site="bkk-run")])
    # the centre is online (retained), so the agent publishes at once
    online = HostState(online=True, ts=current(), host="test")
    collector.client.publish(HOST_STATE_TOPIC, encode(online), qos=1, retain=True).wait_for_publish(5)
    env = child_environ({**os.environ, "CW_TEST_BROKER_PW": "site-password"})  # the agent keeps the pinned clock
    proc = subprocess.Popen([sys.executable, "-m", "tests.rig.pinned", "agent", "-c", str(config), "run"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        births = collector.wait_for(1, topic_suffix="/birth", timeout=30)
        birth = decode(Birth, births[0].payload)
        assert {c.camera_id for c in birth.cameras} == {"gate", "yard"}
        assert birth.site_info.name == "Gate"
        seen: dict[str, tuple[CameraState, Reason, datetime]] = {}
        for count in (1, 2):  # the two changes come in one batch or in two
            batches = collector.wait_for(count, topic_suffix="/events", timeout=60)
            seen = {e.camera_id: (e.state, e.reason, e.at) for b in batches for e in decode(Events, b.payload).events}
            if {"gate", "yard"} <= set(seen):
                break
        assert seen["gate"][:2] == (CameraState.UP, Reason.NONE)
        assert seen["yard"][:2] == (CameraState.DEGRADED, Reason.NO_VIDEO)
        assert seen["yard"][2] <= current()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        collector.close()
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert "site-password" not in err
    assert (tmp_path / "state" / "outbox.sqlite3").exists()
