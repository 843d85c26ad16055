"""Recording health end to end through the shipped command (issue 16).

A real recorder (GStreamer splitmuxsink) records the rig's RTSP stream into segments on a
small filesystem; ``python -m agent run --print`` with a directory-recorder config reports
the camera up, then ``retention_short`` when the old footage is deleted, ``not_recording``
when the recorder stops, and ``storage_full`` when the filesystem fills. The agent runs on
the real clock (segment mtimes are real); this test never reads it.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest_agent_checks import FAST_CHECKS
from tests.rig.recorder import SegmentRecorder, small_disk
from tests.rig.rtsp_server import RtspServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]
REPO = Path(__file__).resolve().parents[2]
WAIT_S = 45.0
MIB = 2**20


class Agent:
    """``python -m agent -c CONFIG run --print`` with its stdout lines in a queue."""

    def __init__(self, config: Path) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "-c", str(config), "run", "--print"], cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> str:
        """The first new stdout line containing ``text`` (polls up to WAIT_S)."""
        while True:
            try:
                line = self.lines.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} within {WAIT_S} s; saw {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return str(err)


def write_config(tmp_path: Path, uri: str, root: Path, min_free_bytes: int) -> Path:
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({
        "site": {"site_id": "bkk-rec", "province": "10", "district": "1001"},
        "checks": FAST_CHECKS,
        "state_dir": str(tmp_path / "state"),
        "cameras": [{"id": "gate", "address": "127.0.0.1", "onvif_port": None, "stream_uri": uri}],
        "recording": {
            "interval_s": 1, "not_recording_after_s": 3, "retention_days": 30,
            "recorders": [{"id": "box-1", "kind": "directory", "path": str(root),
                           "min_free_bytes": min_free_bytes, "cameras": {"gate": {"channel": "gate/*.ts"}}}],
        },
    }))
    return config


def test_directory_recorder_stop_delete_and_fill(rtsp_server: RtspServer, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as (root, mounted):
        recorder = SegmentRecorder(rtsp_server.uri("moving"), root / "gate").start()
        agent: Agent | None = None
        try:
            deadline = 0
            while len(recorder.segments()) < 2:  # poll: the first segments take a second or two
                deadline += 1
                assert deadline < 3000, "the recorder wrote no segments"
                threading.Event().wait(0.05)
            first = recorder.segments()[0]
            old = root / "gate" / "old00000.ts"  # footage from 40 days ago: retention is met
            shutil.copyfile(first, old)
            stamp = first.stat().st_mtime - 40 * 86400
            os.utime(old, (stamp, stamp))
            agent = Agent(write_config(tmp_path, rtsp_server.uri("moving"), root, MIB))
            agent.wait_for("gate: unknown -> up")

            old.unlink()  # the old footage is gone: fewer than 30 days kept
            agent.wait_for("gate: up -> degraded (retention_short)")

            recorder.stop()  # the recorder dies: within 3 s the footage is stale
            line = agent.wait_for("(not_recording)")
            assert "degraded -> degraded" in line

            if mounted:  # fill the small filesystem itself
                free = shutil.disk_usage(root).free
                with open(root / "filler.bin", "wb") as out:
                    out.write(b"\0" * max(0, free - MIB // 2))
            else:  # no mount allowed: a threshold above the disk's free space, said in the report
                agent.stop()
                agent = Agent(write_config(tmp_path, rtsp_server.uri("moving"), root,
                                           shutil.disk_usage(root).free + 2**30))
            agent.wait_for("(storage_full)")
            if mounted:  # the installer's one-off check says the same (recorders read before the table)
                done = subprocess.run([sys.executable, "-m", "agent", "-c", str(tmp_path / "agent.yaml"), "check"],
                                      cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                                      text=True, timeout=60)
                gate = next(line for line in done.stdout.splitlines() if line.startswith("gate"))
                assert done.returncode == 1 and "storage_full" in gate, done.stdout + done.stderr
        finally:
            recorder.stop()
            errors = agent.stop() if agent is not None else ""
    assert "Traceback" not in errors, errors
