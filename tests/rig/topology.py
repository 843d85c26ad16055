"""A rendered national topology on real Mosquitto processes: the shipped ``topology render``, then
each broker started from its rendered ``camwatch.conf`` with only its port rewritten.

The operator's steps: render (``python -m aggregator topology render``), install the broker
certificate in each broker's ``certs/`` (here one pilot CA for 127.0.0.1), start each broker.
The only change this rig makes to a rendered file is the port: every broker listens on 8883
in production, here each on its own free port of 127.0.0.1 (and each bridge's ``address`` is
rewritten to its national broker's port).
"""

from __future__ import annotations

import getpass
import shutil
import signal
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import HOST_STATE_TOPIC, Kind, site_topic
from tests.rig.mosquitto import TlsFiles, mosquitto_binary
from tests.rig.ports import free_port, wait_for_port
from tests.rig.shipped import operator_env, run_command
from tests.rig.tls import pilot_ca

__all__ = ["Reader", "Topology", "render_topology"]

HOST = "127.0.0.1"


class Reader:
    """A subscriber on one broker keeping (topic, payload) of what it reads."""

    def __init__(self, client: mqtt.Client, filters: list[str]) -> None:
        self.got: list[tuple[str, bytes]] = []
        self._ready = threading.Event()
        self.client = client
        client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters]) if filters else self._ready.set()
        client.on_subscribe = lambda *_: self._ready.set()
        client.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        client.loop_start()
        assert self._ready.wait(15), "no SUBACK"

    def topics(self) -> list[str]:
        return [t for t, _ in self.got]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class RenderedBroker:
    """One rendered broker and its process."""

    name: str
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    host: str = HOST  # where it listens (another address inside a network namespace: tests/rig/chaos.py)
    prefix: list[str] = field(default_factory=list)  # e.g. ["ip", "netns", "exec", NAME]

    @property
    def log(self) -> Path:
        return self.directory / "mosquitto.log"

    def start(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([*self.prefix, mosquitto_binary(), "-c", str(self.directory / "camwatch.conf")],
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            wait_for_port(self.port, self.host, timeout)
        except TimeoutError as err:
            self.kill()
            raise RuntimeError(f"{self.name} did not start: {self.log.read_text(errors='replace')[-2000:]}") from err

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence and closes its bridges (they say ``0``)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@dataclass
class Topology:
    """Rendered brokers by name (``national-a``, ``province-10``), the output directory and the CA."""

    out: Path
    ca: TlsFiles
    brokers: dict[str, RenderedBroker] = field(default_factory=dict)

    def secret(self, user: str) -> str:
        return (self.out / "secrets" / f"{user}.password").read_text().strip()

    def port(self, name: str) -> int:
        return self.brokers[name].port

    def start(self) -> None:
        for broker in sorted(self.brokers.values(), key=lambda b: not b.name.startswith("national")):
            broker.start()

    def stop(self) -> None:
        for broker in self.brokers.values():
            broker.stop()

    def client(self, name: str, user: str, password: str | None = None, *, client_id: str | None = None,
               persistent: bool = False) -> mqtt.Client:  # fmt: skip
        """A connected (not yet looping) paho client on broker ``name`` over TLS (``persistent``: clean session off)."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or user, clean_session=not persistent)
        client.username_pw_set(user, password if password is not None else self.secret(user))
        client.tls_set_context(ssl.create_default_context(cafile=str(self.ca.cafile)))
        client.connect(self.brokers[name].host, self.port(name), keepalive=30)
        return client

    def log_every_packet(self, name: str) -> None:
        """Make broker ``name`` log every packet it receives (``log_type all``): a check on the wire."""
        with (self.brokers[name].directory / "camwatch.conf").open("a") as fh:
            fh.write("log_type all\n")

    def log(self, name: str) -> str:
        return self.brokers[name].log.read_text(errors="replace")

    def add_account(self, name: str, user: str, password: str, acl: list[str]) -> None:
        """An operator's account on broker ``name`` (mosquitto_passwd, ACL lines); SIGHUP rereads."""
        directory = self.brokers[name].directory
        subprocess.run(["mosquitto_passwd", "-b", str(directory / "camwatch.passwd"), user, password],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        with (directory / "camwatch.acl").open("a") as fh:
            fh.write("\n" + "\n".join([f"user {user}", *acl]) + "\n")
        process = self.brokers[name].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGHUP)


def _site_acl(province: str, district: str, site: str) -> list[str]:
    """A site's ACL block as ``enrol-site`` writes it (aggregator.broker.acl)."""
    lines = [f"user {site}"]
    lines += [f"topic write {site_topic(province, district, site, kind)}" for kind in Kind if kind.from_agent]
    lines += [f"topic read {site_topic(province, district, site, kind)}" for kind in (Kind.ACK, Kind.CMD)]
    return [*lines, f"topic read {HOST_STATE_TOPIC}"]


def _rewrite(conf: Path, port: int, national_ports: dict[str, int]) -> None:
    """Give a rendered config its test port (listener, bridge addresses) and the test's user."""
    lines = [f"user {getpass.getuser()}"]
    national = ""
    for line in conf.read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {port} {HOST}"
        elif line.startswith("connection "):
            national = line.rsplit("-to-", 1)[1]
        elif line.startswith("address "):
            line = f"address {HOST}:{national_ports[national]}"
        lines.append(line)
    conf.write_text("\n".join(lines) + "\n")


def render_topology(tmp: Path, provinces: list[str], national: list[str], *,
                    sites: dict[str, tuple[str, str, str]] | None = None, more_ips: tuple[str, ...] = ()) -> Topology:  # fmt: skip
    """Render with the shipped command, install the certificates, rewrite ports (not started).

    ``sites`` ({site: (province, district, password)}) are enrolled into their province's
    directory (password file and ACL block, as ``enrol-site --password-file --acl-file`` does)
    and the topology rendered again, which copies them to the national brokers (agent failover).
    """
    out = tmp / "topology"
    ca = pilot_ca(tmp / "ca", "localhost", HOST, *more_ips)

    def render() -> None:
        result = run_command(
            "aggregator", "topology", "render", "--provinces", ",".join(provinces),
            "--national", ",".join(f"{n}={HOST}" for n in national), "--province-host", HOST,
            "--conf-dir", f"{out}/{{broker}}", "--data-dir", f"{tmp}/data/{{broker}}", "--aggregator-cafile",
            str(ca.cafile), "--out", str(out), env=operator_env(),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

    render()
    if sites:
        for site, (province, district, password) in sites.items():
            directory = out / f"province-{province}"
            subprocess.run(["mosquitto_passwd", "-b", str(directory / "camwatch.passwd"), site, password],
                           check=True, capture_output=True, timeout=60)  # fmt: skip
            with (directory / "camwatch.acl").open("a") as fh:
                fh.write("\n" + "\n".join(_site_acl(province, district, site)) + "\n")
        render()
    names = [f"national-{n}" for n in national] + [f"province-{p}" for p in provinces]
    topo = Topology(out, ca)
    for name in names:
        topo.brokers[name] = RenderedBroker(name, out / name, free_port())
        (tmp / "data" / name).mkdir(parents=True, exist_ok=True)
        certs = out / name / "certs"
        certs.mkdir()
        for source, target in ((ca.cafile, "ca.crt"), (ca.certfile, "broker.crt"), (ca.keyfile, "broker.key")):
            shutil.copy(source, certs / target)
    national_ports = {n: topo.port(f"national-{n}") for n in national}
    for name in names:
        _rewrite(out / name / "camwatch.conf", topo.port(name), national_ports)
    return topo
