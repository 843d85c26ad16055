"""The installer CLI end to end: ``check`` table and exit codes, config errors, ``run``
stopping cleanly on SIGTERM (issue 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest_agent_checks import FAST_CHECKS
from tests.rig.rtsp_server import PASSWORD, USER, RtspServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, cameras: list[dict[str, Any]], secrets_mode: int = 0o600,
                 **extra: Any) -> Path:
    secrets = tmp_path / "cameras.yaml"
    secrets.write_text(yaml.safe_dump({"credentials": {"right": {"username": USER, "password": PASSWORD},
                                                       "wrong": {"username": USER, "password": "nope"}}}))
    os.chmod(secrets, secrets_mode)
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({
        "site": {"site_id": "bkk-cli", "province": "10", "district": "1001"},
        "credentials": {"file": str(secrets)},
        "checks": FAST_CHECKS,
        "state_dir": str(tmp_path / "state"),
        "cameras": cameras,
        **extra,
    }))
    return config


def agent(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def cam(cam_id: str, uri: str, **extra: Any) -> dict[str, Any]:
    return {"id": cam_id, "address": "127.0.0.1", "onvif_port": None, "stream_uri": uri, **extra}


def test_check_prints_a_table_with_actionable_reasons(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, [
        cam("gate", rtsp_server.uri("moving")),
        cam("lobby", rtsp_server.uri("secure/moving"), credential="right"),
        cam("car-park", rtsp_server.uri("secure/moving"), credential="wrong"),
        cam("yard", rtsp_server.uri("black")),
    ])
    done = agent("-c", str(config), "check")
    assert done.returncode == 2, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "STATE" in lines["CAMERA"]
    assert " up " in lines["gate"] and "320x240" in lines["gate"]
    assert " up " in lines["lobby"]
    assert "auth_failed" in lines["car-park"] and "wrong password for 127.0.0.1" in lines["car-park"]
    assert "no_video" in lines["yard"] and "picture is black" in lines["yard"]
    assert "4 cameras: 2 up, 1 degraded, 1 down" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr and "nope" not in done.stdout + done.stderr
    only_up = agent("-c", str(config), "check", "--camera", "gate")
    assert only_up.returncode == 0, only_up.stdout


def test_check_refuses_bad_configs_with_a_clear_message(tmp_path: Path) -> None:
    loose = write_config(tmp_path, [cam("c1", "rtsp://127.0.0.1:1/x")], secrets_mode=0o644)
    done = agent("-c", str(loose), "check")
    assert done.returncode == 78 and "chmod 600" in done.stderr
    typo = write_config(tmp_path, [cam("c1", "rtsp://127.0.0.1:1/x")], chekcs={"interval_s": 5})
    done = agent("-c", str(typo), "check")
    assert done.returncode == 78 and "chekcs: unknown key" in done.stderr
    empty = write_config(tmp_path, [])
    assert agent("-c", str(empty), "check").returncode == 3


def test_run_reports_changes_and_stops_on_sigterm(rtsp_server: RtspServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, [cam("gate", rtsp_server.uri("moving")),
                                     cam("yard", rtsp_server.uri("frozen"))])
    proc = subprocess.Popen([sys.executable, "-m", "agent", "-c", str(config), "-v", "run", "--print"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    both = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if sum("-> " in s for s in seen) >= 2:
                both.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert both.wait(60), f"no state changes printed: {seen} {proc.stderr}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    text = "".join(seen)
    assert "gate: unknown -> up" in text
    assert "yard: unknown -> degraded (frozen)" in text
    assert proc.stderr is not None and "stopped" in proc.stderr.read()
