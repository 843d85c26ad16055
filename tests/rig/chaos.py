"""A rendered national topology where one province lives behind a link the test can cut (issue 17).

The province's broker, its agents and its provincial aggregator run in a network namespace
joined to the host by a veth pair; the national brokers listen on the host's end as well. Cutting
the link is ``ip link set <host end> down``: TCP connections across it stall (no reset), as a
provincial WAN link that fails does, and each side finds out by its keepalive; ``up`` restores it.

Only what a test must change in the rendered files is changed: the province's listener address and
its bridges' addresses (the veth ends), the bridge keepalive (5 s instead of 20 s) and restart
pace (1-2 s instead of 2-30 s), so a cut is seen in seconds. Every name is unique per test, so
tests may run in parallel; the namespace (and with it the veth pair) is deleted at the end.
"""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.rig.shipped import REPO, Command

__all__ = ["Netns", "behind_link", "start_in"]

_IP_TIMEOUT_S = 30


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=_IP_TIMEOUT_S)


@dataclass
class Netns:
    """A network namespace and the veth pair joining it to the host (``host_ip`` here, ``inner_ip`` there)."""

    name: str
    host_if: str
    host_ip: str
    inner_ip: str

    @classmethod
    def create(cls) -> Netns:
        tag = uuid.uuid4().hex[:8]
        a, b = random.randrange(16, 32), random.randrange(0, 256)
        c = random.randrange(0, 64) * 4
        ns = cls(f"cw-{tag}", f"cwh{tag}", f"172.{a}.{b}.{c + 1}", f"172.{a}.{b}.{c + 2}")
        _ip("netns", "add", ns.name)
        try:
            _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", f"cwn{tag}")
            _ip("link", "set", f"cwn{tag}", "netns", ns.name)
            _ip("addr", "add", f"{ns.host_ip}/30", "dev", ns.host_if)
            _ip("link", "set", ns.host_if, "up")
            for args in (("addr", "add", f"{ns.inner_ip}/30", "dev", f"cwn{tag}"), ("link", "set", f"cwn{tag}", "up"),
                         ("link", "set", "lo", "up")):  # fmt: skip
                _ip("netns", "exec", ns.name, "ip", *args)
        except BaseException:
            ns.delete()
            raise
        return ns

    @property
    def prefix(self) -> list[str]:
        """Run a command inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        _ip("link", "set", self.host_if, "down")

    def restore(self) -> None:
        _ip("link", "set", self.host_if, "up")

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=_IP_TIMEOUT_S)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=_IP_TIMEOUT_S)


def behind_link(conf: Path, inner_ip: str, host_ip: str) -> None:
    """A rendered provincial broker config, listening on ``inner_ip``, its bridges to ``host_ip``."""
    lines = []
    for line in conf.read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {line.split()[1]} {inner_ip}"
        elif line.startswith("address "):
            line = f"address {host_ip}:{line.rsplit(':', 1)[1]}"
        elif line.startswith("keepalive_interval "):
            line = "keepalive_interval 5"
        elif line.startswith("restart_timeout "):
            line = "restart_timeout 1 2"
        lines.append(line)
    conf.write_text("\n".join(lines) + "\n")


def also_listen(conf: Path, address: str) -> None:
    """A rendered national broker config with a second TLS listener on ``address`` (same port)."""
    lines = conf.read_text().splitlines()
    port = next(line.split()[1] for line in lines if line.startswith("listener "))
    tls = [line for line in lines if line.split(" ", 1)[0] in {"cafile", "certfile", "keyfile", "tls_version", "ciphers"}]
    conf.write_text("\n".join([*lines, "", f"listener {port} {address}", "protocol mqtt", *tls]) + "\n")


def start_in(prefix: list[str], name: str, module: str, *args: str, env: dict[str, str], log: Path) -> Command:
    """``python -m module args`` behind ``prefix`` (e.g. inside a namespace), in its own session."""
    with log.open("wb") as out:
        process = subprocess.Popen([*prefix, sys.executable, "-m", module, *args], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    return Command(name, process, log)
