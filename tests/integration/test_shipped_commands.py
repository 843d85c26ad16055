"""What ships is what is tested (issue 12): a camera fault travels through the shipped commands.

Nothing is built in this process. An operator's steps, each a real command or a real peer:

* ``deploy/mosquitto/make-pilot-ca.sh`` makes the CA and the broker certificate; openssl signs
  the site's client certificate; Mosquitto listens on TLS and on a second TLS listener that
  requires a client certificate, with the shipped config's client-identity line and the
  password file and ACL written by the shipped ``python -m aggregator enrol-site``;
* the operator adds two broker accounts with the shipped ``broker-account`` (the ACL keeps
  their lines at every enrolment): the alert publisher, whose password serve reads by a
  ``file:`` reference, and a technician app reading its province's alerts;
* ``python -m aggregator create-token`` makes an admin token; ``python -m aggregator serve``
  runs from ``CAMWATCH_*`` variables only and reads the broker as the aggregator user;
* the installer completes the ``agent.yaml`` enrol-site wrote (cameras, client certificate) and
  puts the broker password and camera credentials where systemd's ``LoadCredential=`` puts
  them; ``python -m agent -c agent.yaml run`` checks an ONVIF camera (ipycam) streaming from
  the RTSP rig and a plain RTSP camera served by a second RTSP server;
* the admin adds alert routes through the API; the plain camera's RTSP server is stopped (the
  camera lost power) and the fault must reach a STARTTLS SMTP server (aiosmtpd), a webhook
  receiver that checks the signature, the MQTT alert topic, and ``GET /api/v1/faults``.

The SMTP and alert-MQTT variables (``CAMWATCH_SMTP__*``, ``CAMWATCH_ALERT_MQTT__*``) are the
names the aggregator's settings tree reads them from.
"""

from __future__ import annotations

import importlib.metadata
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from protocol import (
    Alert,
    AlertAction,
    CameraState,
    Reason,
    alert_topic,
    decode,
)
from tests.rig.http_sink import WebhookSink
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector
from tests.rig.onvif_sim import SimCamera, SimOptions, start_camera
from tests.rig.ports import free_port
from tests.rig.rtsp_server import RtspServer
from tests.rig.shipped import (
    Command,
    operator_env,
    poll,
    run_command,
    shipped_broker_lines,
    start_command,
)
from tests.rig.smtp import SmtpServer
from tests.rig.tls import client_certificate, pilot_ca

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SITE, PROVINCE, DISTRICT = "bkk-e2e-0001", "10", "1001"
AGG_USER, AGG_PASSWORD = "aggregator", "aggregator-e2e-password-7c1"
# The shipped broker makes a client's id its username, so the alert publisher and a technician
# app need accounts of their own: on the aggregator's they would take over the ingest's session.
ALERTS_USER, TECH_USER = "camwatch-alerts", "tech-bkk-1001"
PEPPER = "token-pepper-for-the-e2e-test"
WEBHOOK_SECRET = "webhook-secret-of-the-e2e-test"
CAM_USER, CAM_PASSWORD = "admin", "Cam-Secret-e2e-41"
ONCALL = "oncall@example.org"
# A check every 2 s, two failing checks confirm down: a fault is confirmed in about 5 s.
CHECKS = {"interval_s": 2.0, "jitter_s": 0.0, "concurrency": 4, "tcp_timeout_s": 1.0, "onvif_timeout_s": 3.0,
          "rtsp_open_timeout_s": 4.0, "rtsp_read_timeout_s": 2.0, "snapshot_timeout_s": 2.0, "burst_frames": 5}
HEALTH = {"confirm_down": 2, "confirm_degraded": 2, "confirm_up": 1}
# Generous: the agent's first checks, ipycam's import and the aggregator's start share 2 cores.
START_S = 90.0
# From the confirmed change to every channel: the notifier groups faults for 10 s (its default).
DELIVER_S = 90.0


@dataclass
class Stack:
    """The peers and commands of one run."""

    tmp: Path
    broker: Broker
    ca: Path
    site_cert: tuple[Path, Path]
    api: httpx.Client
    aggregator: Command
    smtp: SmtpServer
    sink: WebhookSink
    yard_rtsp: RtspServer
    gate: SimCamera
    install: Path
    commands: list[Command]


def _aggregator_env(tmp: Path, broker: Broker, ca: Path, smtp: SmtpServer, api_port: int) -> dict[str, str]:
    assert broker.tls_port is not None
    return operator_env(
        CAMWATCH_ENVIRONMENT="production",
        CAMWATCH_DB_PATH=str(tmp / "aggregator.db"),
        CAMWATCH_MQTT_URL=f"mqtts://127.0.0.1:{broker.tls_port}",
        CAMWATCH_MQTT_USERNAME=AGG_USER,
        CAMWATCH_MQTT_PASSWORD=AGG_PASSWORD,
        CAMWATCH_MQTT_CAFILE=str(ca),
        CAMWATCH_API_HOST="127.0.0.1",
        CAMWATCH_API_PORT=str(api_port),
        CAMWATCH_TOKEN_PEPPER=PEPPER,
        CAMWATCH_SMTP__HOST="127.0.0.1",
        CAMWATCH_SMTP__PORT=str(smtp.port),
        CAMWATCH_SMTP__STARTTLS="require",
        CAMWATCH_SMTP__SENDER="camwatch@example.org",
        CAMWATCH_SMTP__CAFILE=str(smtp.cert),
        CAMWATCH_ALERT_MQTT__HOST="127.0.0.1",
        CAMWATCH_ALERT_MQTT__PORT=str(broker.tls_port),
        CAMWATCH_ALERT_MQTT__USERNAME=ALERTS_USER,
        CAMWATCH_ALERT_MQTT__CAFILE=str(ca),
    )


def _add_alert_accounts(broker: Broker, accounts: Path, env: dict[str, str]) -> None:
    """The alert channel's account and a technicians' reader for the province, as an operator
    makes them (``broker-account``): each password is written once, to ``accounts``."""
    assert broker.password_file is not None and broker.acl_file is not None
    files = ["--password-file", str(broker.password_file), "--acl-file", str(broker.acl_file), "--out", str(accounts)]
    for name, role in ((ALERTS_USER, ["--role", "alerts-publisher"]),
                       (TECH_USER, ["--role", "alerts-reader", "--provinces", PROVINCE])):  # fmt: skip
        made = run_command("aggregator", "broker-account", "--name", name, *role, *files, env=env)
        assert made.returncode == 0, made.stderr


def _complete_agent_config(install: Path, tmp: Path, cert: tuple[Path, Path], gate: SimCamera,
                           gate_stream: str, yard_stream: str) -> Path:
    """What the installer adds to enrol-site's agent.yaml: client certificate, cameras, timings."""
    path = install / "agent.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    config["broker"].update(cert_file=str(cert[0]), key_file=str(cert[1]), heartbeat_interval_s=5, connect_jitter_s=0)
    config.update(
        checks=CHECKS, health=HEALTH, state_dir=str(tmp / "agent-state"),
        cameras=[
            {"id": "gate", "name": "Gate", "address": gate.host, "onvif_port": gate.port,
             "stream_uri": gate_stream, "credential": "gate"},
            {"id": "yard", "name": "Yard", "address": "127.0.0.1", "onvif_port": None, "stream_uri": yard_stream},
        ],
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    # systemd hands both secrets over through LoadCredential=: $CREDENTIALS_DIRECTORY/<name>, 0600
    secrets = install / "camera-credentials"
    secrets.write_text(yaml.safe_dump({"credentials": {"gate": {"username": CAM_USER, "password": CAM_PASSWORD}}}))
    secrets.chmod(0o600)
    return path


@pytest.fixture
def stack(tmp_path: Path, rtsp_server: RtspServer) -> Iterator[Stack]:
    certs = pilot_ca(tmp_path / "certs")
    site_cert = client_certificate(certs, tmp_path / "site-certs", SITE)
    broker = Broker(workdir=tmp_path / "mosquitto", password_file=tmp_path / "camwatch.passwd",
                    acl_file=tmp_path / "camwatch.acl", allow_anonymous=False, tls=certs, mtls=True,
                    extra_config=shipped_broker_lines("use_username_as_clientid", "message_size_limit"))
    smtp = SmtpServer(tmp_path).start()
    sink = WebhookSink(WEBHOOK_SECRET).start()
    yard_rtsp = RtspServer(workdir=tmp_path / "rtsp-yard").start()
    gate = start_camera(SimOptions(username=CAM_USER, password=CAM_PASSWORD, serial="E2E-GATE-1",
                                   stream_urls=[rtsp_server.uri("moving")]))
    commands: list[Command] = []
    api_port = free_port()
    env = _aggregator_env(tmp_path, broker, certs.cafile, smtp, api_port)
    api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10)
    try:
        install = tmp_path / "install"
        assert broker.mtls_port is not None
        enrolled = run_command(
            "aggregator", "enrol-site", "--site-id", SITE, "--province", PROVINCE, "--district", DISTRICT,
            "--name", "ประตูหน้า e2e", "--out", str(install), "--broker-host", "127.0.0.1",
            "--broker-port", str(broker.mtls_port), "--ca-file", str(certs.cafile),
            "--password-file", str(broker.password_file), "--acl-file", str(broker.acl_file), env=env)
        assert enrolled.returncode == 0, enrolled.stderr
        accounts = tmp_path / "accounts"
        _add_alert_accounts(broker, accounts, env)
        broker.start()
        created = run_command("aggregator", "create-token", "--name", "e2e admin", "--role", "admin", env=env)
        assert created.returncode == 0, created.stderr
        api.headers["Authorization"] = f"Bearer {created.stdout.strip()}"
        # the alert channel's password, by reference to the file broker-account wrote
        serve_env = dict(env, CAMWATCH_ALERT_MQTT__PASSWORD=f"file:{accounts / f'{ALERTS_USER}-password'}")
        aggregator = start_command("aggregator", "aggregator", "serve", env=serve_env,
                                   log=tmp_path / "aggregator.log")  # fmt: skip
        commands.append(aggregator)
        poll(lambda: _healthy(api), timeout=START_S, what="the aggregator's API", commands=(aggregator,))
        _complete_agent_config(install, tmp_path, site_cert, gate, rtsp_server.uri("moving"), yard_rtsp.uri("moving"))
        yield Stack(tmp_path, broker, certs.cafile, site_cert, api, aggregator, smtp, sink, yard_rtsp, gate,
                    install, commands)
    finally:
        for command in reversed(commands):
            command.kill()
        api.close()
        gate.stop()
        yard_rtsp.kill()
        sink.stop()
        smtp.stop()
        broker.kill()


def _healthy(api: httpx.Client) -> bool:
    try:
        return api.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _camera_states(api: httpx.Client) -> dict[str, str]:
    answer = api.get("/api/v1/cameras", params={"site_id": SITE})
    answer.raise_for_status()
    return {c["camera_id"]: c["state"] for c in answer.json()["items"]}


def _open_fault(api: httpx.Client, camera_id: str) -> dict[str, Any] | None:
    answer = api.get("/api/v1/faults", params={"site": SITE, "camera_id": camera_id, "active": "true"})
    answer.raise_for_status()
    return next(iter(answer.json()), None)


def _site(api: httpx.Client) -> dict[str, Any] | None:
    answer = api.get(f"/api/v1/sites/{SITE}")
    return answer.json() if answer.is_success else None


def _connects_without_certificate(port: int, ca: Path, password: str) -> bool:
    """Whether the site's account, without its certificate, gets an accepting CONNACK on ``port``."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="no-certificate")
    client.username_pw_set(SITE, password)
    client.tls_set_context(ssl.create_default_context(cafile=str(ca)))
    events: list[str] = []
    client.on_connect = lambda c, u, f, reason, p: events.append("refused" if reason.is_failure else "connected")
    client.on_disconnect = lambda c, u, f, reason, p: events.append("dropped")
    try:
        client.connect("127.0.0.1", port, keepalive=10)
    except (ssl.SSLError, OSError):  # TLS 1.2: the handshake itself fails
        return False
    client.loop_start()
    try:  # TLS 1.3: the broker checks the certificate after the handshake and drops the connection
        poll(lambda: events, timeout=10, what="the broker's answer to a client without a certificate")
        return events[0] == "connected"
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_camera_fault_reaches_every_channel_through_the_shipped_commands(stack: Stack) -> None:
    api, sink, smtp = stack.api, stack.sink, stack.smtp
    for route in ({"name": "province 10 webhook", "channel": "webhook", "target": sink.url,
                   "secret": WEBHOOK_SECRET, "province": PROVINCE},
                  {"name": "on call", "channel": "email", "target": ONCALL, "province": PROVINCE}):
        added = api.post("/api/v1/alert-routes", json=route)
        assert added.status_code == 201, added.text
        assert WEBHOOK_SECRET not in added.text
    tech_password = (stack.tmp / "accounts" / f"{TECH_USER}-password").read_text().strip()
    alerts_password = (stack.tmp / "accounts" / f"{ALERTS_USER}-password").read_text().strip()
    alerts = Collector(stack.broker.tls_port or 0, [alert_topic(PROVINCE, DISTRICT)],
                       username=TECH_USER, password=tech_password, cafile=str(stack.ca))
    env = operator_env(CREDENTIALS_DIRECTORY=str(stack.install))
    agent = start_command("agent", "agent", "-c", str(stack.install / "agent.yaml"), "-v", "run", env=env,
                          log=stack.tmp / "agent.log")
    stack.commands.append(agent)
    both = (agent, stack.aggregator)
    try:
        # the site connected over mutual TLS with enrol-site's password; enrol-site registered it
        # without a version, its birth brings the installed one
        version = importlib.metadata.version("camwatch")
        site = poll(lambda: (found := _site(api)) and found["agent_version"] and found, timeout=START_S,
                    what="the site's agent version in the API", commands=both)
        assert site["agent_version"] == version != ""
        poll(lambda: _camera_states(api) == {"gate": "up", "yard": "up"}, timeout=START_S,
             what="both cameras up in the API", commands=both)
        site_password = (stack.install / "broker-password").read_text().strip()
        assert not _connects_without_certificate(stack.broker.mtls_port or 0, stack.ca, site_password), \
            "the site's listener must refuse a client without a certificate"

        stack.yard_rtsp.kill()  # the yard camera loses power

        fault = poll(lambda: _open_fault(api, "yard"), timeout=DELIVER_S, what="the yard fault in the API",
                     commands=both)
        assert (fault["kind"], fault["state"], fault["province"], fault["district"]) == (
            "camera", "down", PROVINCE, DISTRICT)
        assert fault["reason"] in (Reason.UNREACHABLE.value, Reason.STREAM_FAILED.value)
        assert _open_fault(api, "gate") is None, "the other camera has no fault"

        hook = poll(lambda: next((r for r in list(sink.received) if fault["id"] in r.body["fault_ids"]), None),
                    timeout=DELIVER_S, what="the signed webhook", commands=both)
        assert hook.signature_ok and hook.answered == 200
        assert hook.body["action"] == "opened"
        assert [(a["site"], a["camera_id"]) for a in hook.body["alerts"]] == [(SITE, "yard")]

        # waits for the settings tree to carry CAMWATCH_ALERT_MQTT__* into the notifier
        alert_msg = alerts.wait_for(1, topic_suffix=f"/alerts/{PROVINCE}/{DISTRICT}", timeout=DELIVER_S)[0]
        alert = decode(Alert, alert_msg.payload)
        assert (alert.fault_id, alert.action, alert.camera_id, alert.state) == (
            fault["id"], AlertAction.OPENED, "yard", CameraState.DOWN)

        # waits for the settings tree to carry CAMWATCH_SMTP__* into the notifier
        poll(lambda: smtp.mailbox.messages, timeout=DELIVER_S, what="the alert e-mail", commands=both)
        [mail] = smtp.mailbox.messages
        assert smtp.mailbox.tls == [True], "the e-mail went through STARTTLS"
        assert mail["To"] == ONCALL and mail["From"] == "camwatch@example.org"
        assert f"/camera/{SITE}/yard" in mail.get_content()

        assert agent.stop() == 0, agent.output()[-4000:]
        stack.aggregator.stop()  # how it stops is test_serve_stops_its_service_on_sigterm's business
    finally:
        alerts.close()
    for secret in (site_password, AGG_PASSWORD, alerts_password, tech_password, CAM_PASSWORD, PEPPER, WEBHOOK_SECRET):
        assert secret not in agent.output() + stack.aggregator.output()
    assert os.stat(stack.install / "broker-password").st_mode & 0o077 == 0


def test_serve_stops_its_service_on_sigterm(tmp_path: Path, broker_factory: Any) -> None:
    """``systemctl stop`` sends SIGTERM: serve must run its shutdown (ingest offline, state flushed)
    and exit 0, not die of the signal after the web server has stopped."""
    broker = broker_factory()
    api_port = free_port()
    env = operator_env(CAMWATCH_DB_PATH=str(tmp_path / "aggregator.db"), CAMWATCH_MQTT_URL=broker.url,
                       CAMWATCH_API_PORT=str(api_port))
    serve = start_command("aggregator", "aggregator", "serve", env=env, log=tmp_path / "aggregator.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as api:
            poll(lambda: _healthy(api), timeout=START_S, what="the aggregator's API", commands=(serve,))
        # exit 0 is _serve's return after `finally: service.stop()`; -15 would mean the process died
        # of the SIGTERM uvicorn re-raises once its own shutdown is done, before the Service stopped
        assert serve.stop() == 0, serve.output()[-4000:]
    finally:
        serve.kill()
