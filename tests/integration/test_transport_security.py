"""Broker security with enrolment's own files: per-site users, ACL, no anonymous, TLS (issue 4)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import ssl
import stat
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import load_config
from aggregator.broker.enrol import EnrolError, enrol_site, set_password
from aggregator.geography import load_geography
from aggregator.schema import open_db
from protocol import (
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Event,
    Events,
    Reason,
    encode,
    site_filter,
    site_topic,
)
from tests.clock import current
from tests.rig.mosquitto import Broker, TlsFiles
from tests.rig.mqtt import Collector
from tests.rig.transport import (
    Agent,
    Change,
    RawSite,
    assert_exactly_once,
    ledger,
    start_ingest,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
CAMERA_PASSWORD = "Cam-Secret-9f3e1"  # must never leave the gateway
AGG_USER, AGG_PASSWORD = "aggregator", "aggregator-test-password-123"


@dataclass
class Secured:
    broker: Broker
    db: Path
    ca: Path
    out: dict[str, Path]

    def site_password(self, site: str) -> str:
        return (self.out[site] / "broker-password").read_text().strip()


@pytest.fixture
def secured(tmp_path: Path, broker_factory: Any) -> Secured:
    certs = tmp_path / "certs"
    subprocess.run(
        ["bash", str(ROOT / "deploy/mosquitto/make-pilot-ca.sh"), str(certs), "localhost", "127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    db_path = tmp_path / "centre.db"
    db = open_db(db_path)
    geo = load_geography(db)
    pw, acl = tmp_path / "camwatch.passwd", tmp_path / "camwatch.acl"
    set_password(pw, AGG_USER, AGG_PASSWORD)
    out = {}
    for site, district in (("site-a", "1001"), ("site-b", "1002")):
        out[site] = tmp_path / f"install-{site}"
        enrol_site(db, geo, site, "10", district, out_dir=out[site], password_file=pw, acl_file=acl,
                   broker_host="127.0.0.1", broker_port=8883, ca_file=str(certs / "ca.crt"), aggregator_user=AGG_USER)
    db.conn.close()
    broker = broker_factory(
        password_file=pw, acl_file=acl, allow_anonymous=False,
        tls=TlsFiles(certs / "ca.crt", certs / "broker.crt", certs / "broker.key"),
    )
    return Secured(broker, db_path, certs / "ca.crt", out)


def _connect_rc(port: int, username: str | None, password: str | None, *, ca: Path | None = None) -> Any:
    """Connect once and return the CONNACK reason (or the exception raised)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{os.getpid()}-{id(object())}")
    if username is not None:
        client.username_pw_set(username, password)
    if ca is not None:
        client.tls_set_context(ssl.create_default_context(cafile=str(ca)))
    result: list[Any] = []
    client.on_connect = lambda c, u, f, reason, p: result.append(reason)
    try:
        client.connect("127.0.0.1", port, keepalive=10)
    except OSError as err:
        return err
    client.loop_start()
    wait_until(lambda: bool(result), timeout=10, what="CONNACK")
    client.disconnect()
    client.loop_stop()
    return result[0]


def test_anonymous_and_wrong_password_are_refused(secured: Secured) -> None:
    port = secured.broker.tls_port
    assert _connect_rc(port, None, None, ca=secured.ca).is_failure
    assert _connect_rc(port, "site-a", "not-the-password", ca=secured.ca).is_failure
    assert _connect_rc(port, "site-a", secured.site_password("site-b"), ca=secured.ca).is_failure
    ok = _connect_rc(port, "site-a", secured.site_password("site-a"), ca=secured.ca)
    assert not ok.is_failure
    other = secured.ca.parent.parent / "other-ca"
    subprocess.run(["bash", str(ROOT / "deploy/mosquitto/make-pilot-ca.sh"), str(other), "localhost", "127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    impostor = _connect_rc(port, "site-a", secured.site_password("site-a"), ca=other / "ca.crt")
    assert isinstance(impostor, ssl.SSLCertVerificationError), "a broker certificate from another CA is refused"


def test_plain_tcp_to_the_tls_listener_fails(secured: Secured) -> None:
    connect = bytes.fromhex("101000044d5154540402003c0004") + b"test"  # MQTT 3.1.1 CONNECT
    with socket.create_connection(("127.0.0.1", secured.broker.tls_port), timeout=5) as sock:
        sock.sendall(connect)
        try:
            answer = sock.recv(16)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"\x20"), "a CONNACK came back over plain TCP"


def test_enrolment_files_and_refused_usernames(secured: Secured, tmp_path: Path) -> None:
    out = secured.out["site-a"]
    assert stat.S_IMODE((out / "broker-password").stat().st_mode) == 0o600
    config = load_config(out / "agent.yaml")
    assert (config.site.site_id, config.site.province, config.site.district) == ("site-a", "10", "1001")
    assert config.broker.tls and config.broker.password == "credential:broker-password"
    assert secured.site_password("site-a") not in (out / "agent.yaml").read_text()
    db = open_db(secured.db)
    geo = load_geography(db)
    kw = {"out_dir": tmp_path / "x", "password_file": tmp_path / "p", "acl_file": tmp_path / "a", "broker_host": "h"}
    for bad in ("a+b", "a/b", "#", "a#", "+"):
        with pytest.raises(EnrolError):
            enrol_site(db, geo, bad, "10", "1001", **kw)  # type: ignore[arg-type]
    with pytest.raises(EnrolError):
        enrol_site(db, geo, "site-c", "10", "5001", **kw)  # type: ignore[arg-type]  # district of another province
    with pytest.raises(EnrolError):
        enrol_site(db, geo, "site-a", "10", "1001", **kw)  # type: ignore[arg-type]  # already enrolled
    assert not (tmp_path / "p").exists(), "nothing written for a refused enrolment"


def test_tls_agent_to_store_and_no_cross_site_publishing(
    secured: Secured, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = secured.broker
    tls = {"port": broker.tls_port, "tls": True, "ca_file": str(secured.ca)}
    everything = Collector(broker.port, ["camwatch/#"], username=AGG_USER, password=AGG_PASSWORD)
    ingest = start_ingest(secured.db, broker, [], username=AGG_USER, password=AGG_PASSWORD, **tls)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(secured.out["site-a"]))
    config = load_config(secured.out["site-a"] / "agent.yaml")
    agent = Agent(tmp_path, broker, "site-a", username="site-a", password=config.broker.resolve_password(), **tls)
    uri = f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.5:554/stream1"
    agent.states["site-a-cam0"] = BirthCamera(
        camera_id="site-a-cam0", state=CameraState.UP, since=current(),
        inventory=CameraInventory(stream_uri=uri, address="10.0.0.5"),
    )
    agent.start()
    attacker = RawSite(broker, "site-b", district="1002", username="site-a", password=secured.site_password("site-a"))
    try:
        agent.emit(10)
        wait_until(lambda: {("site-a", i) for i in agent.produced} <= set(ledger(secured.db)), what="TLS delivery")
        # site-a's credentials publish under site-b's topic: the broker drops it.
        forged = Events(site="site-b", ts=current(), seq=1, events=[
            Event(id=1, camera_id="b-cam0", at=current(), state=CameraState.DOWN, reason=Reason.UNREACHABLE)])
        attacker.client.publish(site_topic("10", "1002", "site-b", "birth"),
                                encode(Birth(site="site-b", ts=current(), bd_seq=1)), qos=1).wait_for_publish(10)
        attacker.client.publish(site_topic("10", "1002", "site-b", "events"), encode(forged), qos=1).wait_for_publish(10)
        agent.record(Change("site-a-cam1", CameraState.DOWN, Reason.UNREACHABLE, current()))
        wait_until(lambda: {("site-a", i) for i in agent.produced} <= set(ledger(secured.db)), what="later event")
        wait_until(lambda: agent.outbox.depth() == 0, what="acks")
        assert not [m for m in everything.messages if "/site-b/" in m.topic], "forged message reached subscribers"
        assert [s for s, _ in ledger(secured.db) if s == "site-b"] == []
        conn = sqlite3.connect(secured.db)
        online_b = conn.execute("SELECT online FROM sites WHERE site_id='site-b'").fetchone()
        assert online_b == (0,)
        assert_exactly_once(secured.db, [agent])
        # The camera password never left the gateway: not on the wire, not in logs, not stored.
        dump = "\n".join(conn.iterdump())
        conn.close()
        wire = b"".join(m.payload for m in everything.messages)
        assert any(b"10.0.0.5:554/stream1" in m.payload for m in everything.messages), "the birth was captured"
        for text in (wire.decode(errors="replace"), caplog.text, broker.log_text(), dump, ingest_log(tmp_path)):
            assert CAMERA_PASSWORD not in text
            assert secured.site_password("site-a") not in text
            assert AGG_PASSWORD not in text
    finally:
        attacker.close()
        everything.close()
        agent.stop()
        ingest.stop()


def ingest_log(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))


def test_a_site_reads_only_its_own_commands(secured: Secured) -> None:
    broker = secured.broker
    spy = Collector(broker.port, [site_filter(site="site-b", kind="cmd"), site_filter(site="site-a", kind="cmd")],
                    username="site-a", password=secured.site_password("site-a"))
    centre = RawSite(broker, "site-b", district="1002", username=AGG_USER, password=AGG_PASSWORD)
    try:
        centre.client.publish(site_topic("10", "1002", "site-b", "cmd"), b"{}", qos=1).wait_for_publish(10)
        centre.client.publish(site_topic("10", "1001", "site-a", "cmd"), b"{}", qos=1).wait_for_publish(10)
        spy.wait_for(1, topic_suffix="/site-a/cmd")
        assert [m.topic for m in spy.messages] == [site_topic("10", "1001", "site-a", "cmd")]
    finally:
        centre.close()
        spy.close()


def test_the_production_config_runs_with_enrolment_files(secured: Secured, tmp_path: Path) -> None:
    """deploy/mosquitto/mosquitto.conf, with only paths and port changed, enforces TLS and passwords."""
    import getpass

    from tests.rig.ports import free_port, wait_for_port

    certs = secured.ca.parent
    port = free_port()
    text = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    for old, new in (
        ("/etc/mosquitto/camwatch.passwd", str(tmp_path / "camwatch.passwd")),
        ("/etc/mosquitto/camwatch.acl", str(tmp_path / "camwatch.acl")),
        ("/etc/mosquitto/certs/", f"{certs}/"),
        ("/var/lib/mosquitto/", f"{tmp_path}/"),
        ("listener 8883", f"listener {port} 127.0.0.1"),
    ):
        assert old in text
        text = text.replace(old, new)
    conf = tmp_path / "production.conf"
    conf.write_text(f"user {getpass.getuser()}\nlog_dest stderr\n" + text)
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=10)
        assert not _connect_rc(port, "site-a", secured.site_password("site-a"), ca=secured.ca).is_failure
        assert _connect_rc(port, None, None, ca=secured.ca).is_failure
        def handshake(newest: ssl.TLSVersion) -> str | None:
            ctx = ssl.create_default_context(cafile=str(secured.ca))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = newest
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # this client would speak old TLS if allowed
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                try:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        return tls.version()
                except ssl.SSLError:
                    return None

        assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert handshake(ssl.TLSVersion.TLSv1_1) is None, "TLS 1.1 must be refused"
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()
