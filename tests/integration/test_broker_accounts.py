"""Broker accounts that are not sites (``camwatch-aggregator broker-account``): the alert
publisher and province-scoped alert readers, on a real Mosquitto with the shipped identity
setting; their ACL lines survive later enrolments; the centre's own names are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from protocol import alert_topic
from tests.integration.test_broker_identity import Watched, shipped_identity_lines
from tests.rig.site_client import wait_until
from tests.rig.transport import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CAMWATCH_DB_PATH=str(tmp_path / "centre.db"),
               CAMWATCH_MQTT_USERNAME="aggregator", CAMWATCH_MQTT_PASSWORD="accounts-test-password-1")  # fmt: skip
    files = ["--password-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl")]
    return subprocess.run([sys.executable, "-m", "aggregator", *args, *files], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def _account(tmp_path: Path, name: str, *role: str) -> str:
    done = _cli(tmp_path, "broker-account", "--name", name, *role, "--out", str(tmp_path / "accounts"))
    assert done.returncode == 0, done.stderr
    secret = (tmp_path / "accounts" / f"{name}-password").read_text().strip()
    assert secret not in done.stdout + done.stderr
    return secret


def test_alert_accounts_publish_and_read_by_province_and_survive_enrolment(tmp_path: Path, broker_factory: Any) -> None:
    enrolled = _cli(tmp_path, "enrol-site", "--site-id", "ac-0001", "--province", "10", "--district", "1001",
                    "--broker-host", "127.0.0.1", "--out", str(tmp_path / "site"))  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    publisher = _account(tmp_path, "camwatch-alerts", "--role", "alerts-publisher")
    bangkok = _account(tmp_path, "tech-bkk", "--role", "alerts-reader", "--provinces", "10")
    # a later enrolment rewrites the ACL from the password file: the accounts keep their lines
    again = _cli(tmp_path, "enrol-site", "--site-id", "ac-0002", "--province", "50", "--district", "5001",
                 "--broker-host", "127.0.0.1", "--out", str(tmp_path / "site2"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    acl = (tmp_path / "acl").read_text()
    assert "user camwatch-alerts\ntopic write camwatch/v1/alerts/#" in acl
    assert "user tech-bkk\ntopic read camwatch/v1/alerts/10/#" in acl
    broker = broker_factory(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl", allow_anonymous=False,
                            extra_config=shipped_identity_lines())  # fmt: skip
    reader = Watched(broker.port, "tech-bkk", "tech-bkk", bangkok, subscribe="camwatch/v1/alerts/#")
    sender = Watched(broker.port, "camwatch-alerts", "camwatch-alerts", publisher)
    try:
        for topic in (alert_topic("50", "5001"), alert_topic("10", "1001")):  # Chiang Mai's first
            sender.client.publish(topic, b"{}", qos=1).wait_for_publish(10)
        wait_until(lambda: alert_topic("10", "1001") in reader.messages, "Bangkok's alert read by tech-bkk")
        assert reader.messages == [alert_topic("10", "1001")]  # never Chiang Mai's: same connection, in order
        # a reader cannot publish alerts: its message never reaches the other reader
        reader.client.publish(alert_topic("10", "1001"), b"forged", qos=1).wait_for_publish(10)
        sender.client.publish(alert_topic("10", "1001"), b"{}", qos=1).wait_for_publish(10)
        wait_until(lambda: len(reader.messages) == 2, "the publisher's second alert")
        assert reader.disconnects == sender.disconnects == 0
    finally:
        reader.close()
        sender.close()


@pytest.mark.parametrize(("name", "role", "says"), [
    ("aggregator", ["--role", "alerts-publisher"], "aggregator's own"),
    ("camwatch-aggregator", ["--role", "alerts-reader"], "aggregator's own"),
    ("ac-0001", ["--role", "alerts-reader"], "site of that name"),
    ("camwatch-alerts", ["--role", "alerts-publisher", "--provinces", "10"], "give no --provinces"),
    ("tech-x", ["--role", "alerts-reader", "--provinces", "99"], "99"),
    ("-x", ["--role", "alerts-reader"], "starting with a letter or digit"),
])  # fmt: skip
def test_broker_account_refusals(tmp_path: Path, name: str, role: list[str], says: str) -> None:
    enrolled = _cli(tmp_path, "enrol-site", "--site-id", "ac-0001", "--province", "10", "--district", "1001",
                    "--broker-host", "127.0.0.1", "--out", str(tmp_path / "site"))  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    done = _cli(tmp_path, "broker-account", f"--name={name}", *role, "--out", str(tmp_path / "accounts"))
    said = [line for line in done.stderr.splitlines() if line.startswith("broker-account:")]
    assert done.returncode == 2 and len(said) == 1 and says in said[0], done.stderr
    assert not (tmp_path / "accounts").exists()
