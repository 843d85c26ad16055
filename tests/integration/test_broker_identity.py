"""Broker identity (issue 13): a site cannot take the aggregator's MQTT client id or another
site's, on a real Mosquitto with the shipped setting; enrolment refuses reserved and
ambiguous site ids through the shipped command."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocol import Kind, site_filter, site_topic
from tests.rig.mosquitto import mosquitto_binary
from tests.rig.ports import free_port, wait_for_port
from tests.rig.site_client import wait_until
from tests.rig.tls import pilot_ca
from tests.rig.transport import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

SHIPPED_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
AGGREGATOR_PASSWORD = "identity-test-password-789"


def shipped_identity_lines() -> list[str]:
    """The client-identity directives of the production broker config, as shipped."""
    return [line.strip() for line in SHIPPED_CONF.read_text().splitlines()
            if line.strip().startswith("use_username_as_clientid")]  # fmt: skip


def _enrol(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CAMWATCH_DB_PATH=str(tmp_path / "centre.db"),
               CAMWATCH_MQTT_USERNAME="aggregator", CAMWATCH_MQTT_PASSWORD=AGGREGATOR_PASSWORD)  # fmt: skip
    common = ["--password-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl"),
              "--broker-host", "127.0.0.1", "--province", "10", "--district", "1001"]  # fmt: skip
    return subprocess.run([sys.executable, "-m", "aggregator", "enrol-site", *args, *common], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


class Watched:
    """A connected paho client that records its disconnections and the messages it reads."""

    def __init__(self, port: int, client_id: str, username: str, password: str, *, subscribe: str | None = None,
                 persistent: bool = False) -> None:  # fmt: skip
        self.disconnects = 0
        self.connected = threading.Event()
        self.session_present: list[bool] = []
        self.messages: list[str] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self._disconnected()
        self.client.on_message = lambda c, u, msg: self.messages.append(msg.topic)
        self._subscribe = subscribe
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600 if persistent else 0
        self.client.connect("127.0.0.1", port, keepalive=30, clean_start=not persistent, properties=props)
        self.client.loop_start()
        assert self.connected.wait(10), f"{username} could not connect"

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            return
        self.session_present.append(bool(flags.session_present))
        if self._subscribe:
            client.subscribe(self._subscribe, qos=1)
        self.connected.set()

    def _disconnected(self) -> None:
        self.disconnects += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_the_shipped_config_binds_client_ids_to_usernames() -> None:
    assert shipped_identity_lines() == ["use_username_as_clientid true"]


def test_a_site_using_the_aggregators_or_another_sites_client_id_disturbs_nobody(
    tmp_path: Path, broker_factory: Any
) -> None:
    for site in ("id-0001", "id-0002"):
        done = _enrol(tmp_path, "--site-id", site, "--out", str(tmp_path / site))
        assert done.returncode == 0, done.stderr
    secret = {s: (tmp_path / s / "broker-password").read_text().strip() for s in ("id-0001", "id-0002")}
    broker = broker_factory(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl", allow_anonymous=False,
                            extra_config=shipped_identity_lines())  # fmt: skip
    centre = Watched(broker.port, "aggregator", "aggregator", AGGREGATOR_PASSWORD,
                     subscribe=site_filter(), persistent=True)  # fmt: skip
    victim = Watched(broker.port, "id-0002", "id-0002", secret["id-0002"])
    intruders = []
    try:
        for stolen in ("aggregator", "camwatch-aggregator", "id-0002"):
            intruder = Watched(broker.port, stolen, "id-0001", secret["id-0001"])
            intruders.append(intruder)
            topic = site_topic("10", "1001", "id-0001", Kind.HEARTBEAT)
            intruder.client.publish(topic, b"{}", qos=1).wait_for_publish(10)
            # the centre reads the intruder's message, so the intruder's CONNECT came first
            wait_until(lambda t=topic: centre.messages.count(t) >= len(intruders), f"centre reads {stolen!r}")
        assert centre.disconnects == 0 and victim.disconnects == 0
        assert centre.client.is_connected() and victim.client.is_connected()
        # the centre's persistent session survives: reconnecting finds it
        centre.close()
        again = Watched(broker.port, "aggregator", "aggregator", AGGREGATOR_PASSWORD, persistent=True)
        assert again.session_present == [True]
        again.close()
    finally:
        for client in (victim, *intruders):
            client.close()


@pytest.mark.parametrize("site_id", ["aggregator", "AGGREGATOR", "camwatch-aggregator", "camwatch-alerts",
                                     "mosquitto", ".", "..", "-", "-rf", "_hidden", "$SYS", "a/b", "+"])
def test_enrolment_refuses_reserved_and_ambiguous_site_ids(tmp_path: Path, site_id: str) -> None:
    done = _enrol(tmp_path, f"--site-id={site_id}", "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("enrol-site:")]
    assert len(said) == 1 and "refused" in said[0], done.stderr
    assert not (tmp_path / "out" / "broker-password").exists()
    users = {line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()} \
        if (tmp_path / "passwd").exists() else set()
    assert users <= {"aggregator"}  # the aggregator's own hash is never replaced by a site's


def test_the_shipped_config_opens_its_tls_listener_and_nothing_else(tmp_path: Path) -> None:
    """Mosquitto started on the shipped file itself (paths and port moved into the test's
    directory): one TLS listener. A listener option above the first ``listener`` line would
    silently open a plain-text default listener on 1883."""
    tls = pilot_ca(tmp_path / "tls")
    port = free_port()
    (tmp_path / "passwd").write_text("")
    (tmp_path / "acl").write_text("")
    text = SHIPPED_CONF.read_text()
    for old, new in (("/etc/mosquitto/camwatch.passwd", tmp_path / "passwd"), ("/etc/mosquitto/camwatch.acl", tmp_path / "acl"),
                     ("/var/lib/mosquitto/", f"{tmp_path}/"), ("/etc/mosquitto/certs/ca.crt", tls.cafile),
                     ("/etc/mosquitto/certs/broker.crt", tls.certfile), ("/etc/mosquitto/certs/broker.key", tls.keyfile),
                     ("listener 8883", f"listener {port} 127.0.0.1")):  # fmt: skip
        assert old in text, old
        text = text.replace(old, str(new))
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user {getpass.getuser()}\nlog_dest stderr\n{text}\nlog_type information\n")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    opened = sorted(set(re.findall(r"Opening ipv[46] listen socket on port (\d+)", out)))
    assert opened == [str(port)], out
