"""`camwatch-aggregator enrol-site` end to end: the enrolled site's agent connects and is stored (issue 4)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.config import load_config
from tests.rig.transport import ROOT, Agent, ledger, start_ingest, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CAMWATCH_DB_PATH=str(tmp_path / "centre.db"),
               CAMWATCH_MQTT_USERNAME="aggregator", CAMWATCH_MQTT_PASSWORD="cli-test-password-456")
    return subprocess.run([sys.executable, "-m", "aggregator", "enrol-site", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_enrol_site_cli_then_the_site_connects(tmp_path: Path, broker_factory: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pw, acl, out = tmp_path / "camwatch.passwd", tmp_path / "camwatch.acl", tmp_path / "install"
    common = ["--password-file", str(pw), "--acl-file", str(acl), "--broker-host", "127.0.0.1"]
    done = _cli(tmp_path, "--site-id", "cm-0001", "--province", "50", "--district", "5001",
                "--name", "ประตูท่าแพ", "--agency", "เทศบาลนครเชียงใหม่", "--address", "ถนนราชดำเนิน ตำบลพระสิงห์",
                "--lat", "18.7877", "--lon", "98.9933", "--phone", "053-123456", "--out", str(out), *common)
    assert done.returncode == 0, done.stderr
    # issue 15: the place is stored, and the site is enrolled, never connected (no first or last seen)
    centre = sqlite3.connect(tmp_path / "centre.db")
    place = "SELECT name, agency, address, lat, lon, phone, place_by, first_seen_ms, last_seen_ms FROM sites"
    assert centre.execute(place).fetchall() == [("ประตูท่าแพ", "เทศบาลนครเชียงใหม่", "ถนนราชดำเนิน ตำบลพระสิงห์",
                                                 18.7877, 98.9933, "053-123456", "enrol-site", None, None)]
    bangkok = _cli(tmp_path, "--site-id", "cm-0004", "--province", "50", "--district", "5001",
                   "--lat", "13.80", "--lon", "100.60", "--out", str(tmp_path / "x"), *common)
    assert bangkok.returncode == 2
    assert [ln for ln in bangkok.stderr.splitlines() if ln.startswith("enrol-site:")] == [
        "enrol-site: position 13.8, 100.6 lies in province 10, not in the declared province 50"]
    assert centre.execute("SELECT COUNT(*) FROM sites").fetchone() == (1,)
    secret = (out / "broker-password").read_text().strip()
    assert secret not in done.stdout + done.stderr
    assert stat.S_IMODE((out / "broker-password").stat().st_mode) == 0o600
    acl_text = acl.read_text()
    assert "user cm-0001\ntopic write camwatch/v1/50/5001/cm-0001/birth" in acl_text
    assert "topic read camwatch/v1/50/5001/cm-0001/cmd" in acl_text
    assert {line.split(":")[0] for line in pw.read_text().splitlines()} == {"aggregator", "cm-0001"}

    refused = _cli(tmp_path, "--site-id", "cm/0002", "--province", "50", "--district", "5001", "--out", str(out), *common)
    assert refused.returncode == 2 and "refused" in refused.stderr
    wrong_area = _cli(tmp_path, "--site-id", "cm-0003", "--province", "50", "--district", "1001", "--out", str(out), *common)
    assert wrong_area.returncode == 2 and "1001" in wrong_area.stderr
    again = _cli(tmp_path, "--site-id", "cm-0001", "--province", "50", "--district", "5001", "--out", str(out), *common)
    assert again.returncode == 2 and "already enrolled" in again.stderr

    broker = broker_factory(password_file=pw, acl_file=acl, allow_anonymous=False)
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, broker, [], username="aggregator", password="cli-test-password-456")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(out))
    config = load_config(out / "agent.yaml")
    agent = Agent(tmp_path, broker, "cm-0001", province="50", district="5001",
                  username=config.site.site_id, password=config.broker.resolve_password()).start()
    try:
        agent.emit(5)
        wait_until(lambda: {("cm-0001", i) for i in agent.produced} <= set(ledger(db)), what="enrolled site stored")
        wait_until(lambda: centre.execute("SELECT first_seen_ms FROM sites").fetchone() != (None,),
                   what="the first message sets first seen")
        assert centre.execute("SELECT name, lat FROM sites").fetchone() == ("ประตูท่าแพ", 18.7877)
    finally:
        agent.stop()
        ingest.stop()
