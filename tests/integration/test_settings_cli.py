"""Aggregator settings through the real command line (issue 12): every bad setting is one line
and exit 78 for every command, ``config show`` masks secrets and names sources, and ``serve``
configured only by CAMWATCH_* variables sends e-mail and MQTT alerts to real peers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.auth import create_token
from aggregator.days import to_ms
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store import registry
from protocol import (
    Alert,
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    decode,
    encode,
)
from tests.clock import child_environ, current
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector
from tests.rig.ports import free_port, wait_for_port
from tests.rig.site_client import SiteClient, wait_until
from tests.rig.smtp import SmtpServer
from tests.rig.transport import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
SECRET = "never-printed-secret-0123456789"
EX_CONFIG = 78


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    return {**env, "PYTHONPATH": str(ROOT), **settings}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


BAD = [  # (variables, TOML text, the setting named)
    ({"CAMWATCH_API_PORT": "abc"}, "", "CAMWATCH_API_PORT"),  # int
    ({"CAMWATCH_ENVIRONMENT": "prod"}, "", "CAMWATCH_ENVIRONMENT"),  # enum
    ({"CAMWATCH_MQTT_URL": "tcp://broker.example:1883"}, "", "CAMWATCH_MQTT_URL"),  # URL
    ({"CAMWATCH_SMTP__PORT": "99999"}, "", "CAMWATCH_SMTP__PORT"),  # nested SMTP port
    ({"CAMWATCH_DB": "/tmp/x.db"}, "", "CAMWATCH_DB"),  # unknown variable
    ({}, "[api]\nprot = 8080\n", "api.prot"),  # unknown TOML key
    ({"CAMWATCH_TOKEN_PEPPER": "env:CAMWATCH_NO_SUCH_VARIABLE"}, "", "CAMWATCH_TOKEN_PEPPER"),  # bad reference
    ({"CAMWATCH_ENVIRONMENT": "production"}, "", "CAMWATCH_MQTT_PASSWORD"),  # default secret
]


@pytest.mark.parametrize(("variables", "toml", "named"), BAD)
@pytest.mark.parametrize("command", [["serve"], ["list-tokens"], ["config", "show"]])
def test_a_bad_setting_is_one_line_and_exit_78(tmp_path: Path, variables: dict[str, str], toml: str, named: str,
                                               command: list[str]) -> None:  # fmt: skip
    config = tmp_path / "aggregator.toml"
    config.write_text(toml)
    env = _env(CAMWATCH_DB_PATH=str(tmp_path / "a.db"), **variables)
    done = _cli("--config", str(config), *command, env=env)
    assert done.returncode == EX_CONFIG, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == "" and not (tmp_path / "a.db").exists()


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    (tmp_path / "pepper").write_text(SECRET + "-pepper\n")
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[api]\nport = 9000\nhost = "0.0.0.0"\n[smtp]\nhost = "mail.example"\npassword = "{SECRET}-smtp"\n'
                      f'[alert_mqtt]\npassword = "file:{tmp_path / "pepper"}"\nusername = "alerts"\n')  # fmt: skip
    env = _env(CAMWATCH_ENVIRONMENT="production", CAMWATCH_API_PORT="9100", CAMWATCH_MQTT_PASSWORD=SECRET + "-mqtt",
               CAMWATCH_TOKEN_PEPPER=f"file:{tmp_path / 'pepper'}")  # fmt: skip
    shown = _cli("config", "show", "--config", str(config), env=env)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert SECRET not in text + shown.stderr
    assert "api.port                       9100  (environment CAMWATCH_API_PORT)" in text  # env wins over the file
    assert f"api.host                       0.0.0.0  (config file {config}: api.host)" in text
    assert f"api.token_pepper               ********  (environment CAMWATCH_TOKEN_PEPPER via file:{tmp_path / 'pepper'})" in text
    assert "ingest.password                ********  (environment CAMWATCH_MQTT_PASSWORD)" in text
    assert f"smtp.password                  ********  (config file {config}: smtp.password)" in text
    assert "webhook.give_up_s              86400.0  (default)" in text
    as_json = _cli("--config", str(config), "config", "show", "--json", env=env)
    assert as_json.returncode == 0 and SECRET not in as_json.stdout
    rows = {row["key"]: row for row in json.loads(as_json.stdout)["settings"]}
    assert rows["api.port"] == {"key": "api.port", "value": 9100, "source": "env", "name": "CAMWATCH_API_PORT", "via": None}
    assert rows["alert_mqtt.password"]["value"] == "********" and rows["alert_mqtt.password"]["source"] == "file"
    assert rows["smtp.host"]["value"] == "mail.example"
    assert {row["value"] for key, row in rows.items() if key.endswith(("password", "pepper"))} == {"********"}


def test_development_defaults_are_announced(tmp_path: Path) -> None:
    done = _cli("list-tokens", env=_env(CAMWATCH_DB_PATH=str(tmp_path / "a.db")))
    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stderr and "CAMWATCH_MQTT_PASSWORD" in done.stderr and "CAMWATCH_TOKEN_PEPPER" in done.stderr


def test_an_unreachable_broker_is_named_once_not_per_retry(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = _env(CAMWATCH_DB_PATH=str(tmp_path / "a.db"), CAMWATCH_MQTT_URL=f"mqtt://127.0.0.1:{port}",
               CAMWATCH_API_PORT=str(free_port()))  # fmt: skip
    env["CAMWATCH_ALERT_MQTT__PORT"] = str(port)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "aggregator", "-v", "serve"], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            # paho retries after 1, 2, 4 s...: wait until both clients have retried twice (debug lines)
            wait_until(lambda: all(log.read_text().count(f"{who}: MQTT broker mqtt://127.0.0.1:{port}: still failing") >= 2
                                   for who in ("ingest", "alerts")), "retries", timeout=60)  # fmt: skip
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    text = log.read_text()
    assert text.count(f"ingest: cannot reach MQTT broker mqtt://127.0.0.1:{port}: connection refused; retrying") == 1
    assert text.count(f"alerts: cannot reach MQTT broker mqtt://127.0.0.1:{port}: connection refused; retrying") == 1
    assert "Client is not connected" not in text and "Socket: None" not in text


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


def test_serve_configured_by_variables_sends_email_and_mqtt_alerts(tmp_path: Path, mosquitto: Broker,
                                                                   smtp: SmtpServer, now: datetime) -> None:  # fmt: skip
    db_path, pepper_file = tmp_path / "centre.db", tmp_path / "pepper"
    pepper_file.write_text(SECRET)
    db = open_db(db_path)
    geography = load_geography(db)
    registry.insert_site(db, "bkk-mail", "10", "1001", now_ms=to_ms(now))
    db.conn.commit()
    admin = create_token(db, "admin", "admin", [], pepper=SECRET, geography=geography)[1]
    db.close()
    api_port = free_port()
    env = _env(
        CAMWATCH_ENVIRONMENT="test", CAMWATCH_DB_PATH=str(db_path), CAMWATCH_API_PORT=str(api_port),
        CAMWATCH_MQTT_URL=f"mqtt://127.0.0.1:{mosquitto.port}", CAMWATCH_MQTT_PASSWORD="env:BROKER_SECRET",
        BROKER_SECRET=SECRET + "-broker", CAMWATCH_TOKEN_PEPPER=f"file:{pepper_file}",
        CAMWATCH_SMTP__HOST="127.0.0.1", CAMWATCH_SMTP__PORT=str(smtp.port), CAMWATCH_SMTP__STARTTLS="require",
        CAMWATCH_SMTP__SENDER="alerts@camwatch.test", CAMWATCH_SMTP__CAFILE=str(smtp.cert),
        CAMWATCH_ALERT_MQTT__HOST="127.0.0.1", CAMWATCH_ALERT_MQTT__PORT=str(mosquitto.port),
        CAMWATCH_NOTIFY__GROUP_WINDOW_S="0",
    )  # fmt: skip
    env = child_environ(env)  # serve keeps the test's pinned clock (tests/rig/pinned.py)
    alerts = Collector(mosquitto.port, ["camwatch/v1/alerts/#"])
    log = tmp_path / "serve.log"
    out = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.rig.pinned", "aggregator", "serve"], env=env, cwd=ROOT, stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    site = SiteClient(mosquitto.port, "bkk-mail", "10", "1001")
    try:
        wait_for_port(api_port, timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=httpx.Timeout(10.0, connect=5.0),
                          headers={"Authorization": f"Bearer {admin}"}) as http:  # fmt: skip
            route = http.post("/api/v1/alert-routes", json={"channel": "email", "target": "tech@example.org"})
            assert route.status_code == 201, route.text
        assert site.online.wait(30), "aggregator never published its host state"
        now = current().replace(microsecond=0)  # a live alert: the time of sending on the pinned clock
        site.send(Kind.BIRTH, encode(Birth(site="bkk-mail", ts=now, bd_seq=1, seq=0, cameras=[
            BirthCamera(camera_id="cam-1", state=CameraState.UP, since=now - timedelta(hours=1), reason=Reason.NONE)])))
        site.send(Kind.EVENTS, encode(Events(site="bkk-mail", ts=now, seq=1, events=[
            Event(id=1, camera_id="cam-1", at=now, state=CameraState.DOWN, reason=Reason.UNREACHABLE)])))  # fmt: skip
        wait_until(lambda: smtp.mailbox.messages, "the alert e-mail", timeout=60)
        [msg] = alerts.wait_for(1, timeout=30)
    finally:
        site.close()
        alerts.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        out.close()
    mail = smtp.mailbox.messages[0]
    assert mail["To"] == "tech@example.org" and mail["From"] == "alerts@camwatch.test"
    assert smtp.mailbox.tls[0], "CAMWATCH_SMTP__STARTTLS=require: the mail came over TLS"
    assert "cam-1" in mail.get_content()
    assert msg.topic == "camwatch/v1/alerts/10/1001" and decode(Alert, msg.payload).camera_id == "cam-1"
    assert SECRET not in log.read_text()
