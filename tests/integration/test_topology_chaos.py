"""Chaos on a rendered national topology (issue 17), every peer real: five Mosquitto brokers
from ``topology render`` (provinces 10, 50 and 90; national a and b), the national primary and
province 50's secondary aggregator as the shipped ``serve``, six sites' agents (real outbox and
publisher from shipped agent configs with a fallback list: their provincial broker, then
national a, then b). Province 50 (broker, agents, provincial aggregator) sits behind a link
the test cuts (a network namespace, tests/rig/chaos.py).

One run, phase after phase, each event emitted once per site and checked committed nationally
once and, for province 50, provincially once:

1. every site born and its first event committed on both tiers;
2. province 50's link is cut: ONE ``link`` fault nationally, its sites ``unknown`` nationally,
   an event made during the cut committed provincially (live there), not nationally;
3. the link returns: the bridge's queue fills the gap exactly: province 50's national
   transitions equal the provincial aggregator's (no ``unknown`` left), each event once;
4. province 90's broker is killed (-9): its agents move to national a, their events are
   committed through it; the broker returns and they move back;
5. national broker a is killed (-9): the national aggregator moves to b; the bridges to b carry
   every province; events committed once; ONE national ``broker`` fault for a opens (ingest's
   broker watch) and resolves when a is started again (same port, same config);
6. on province 50's broker (every packet logged) no PUBLISH ever came from the secondary
   aggregator, while the primary's acks and commands arrived there through the bridges.

The two-hour cut on an injected clock, with the exact daily totals, is tests/unit/test_store_gapfill.py.
"""

from __future__ import annotations

import re
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.clock import child_environ
from tests.rig.chaos import Netns, also_listen, behind_link, start_in
from tests.rig.ports import free_port
from tests.rig.shipped import Command, operator_env, poll
from tests.rig.topology import HOST, Topology, render_topology

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.timeout(300), pytest.mark.usefixtures("now")]

PROVINCES = ["10", "50", "90"]
SITES = {  # site: (province, district)
    "bkk-chaos-1": ("10", "1001"), "bkk-chaos-2": ("10", "1002"),
    "cnx-chaos-1": ("50", "5001"), "cnx-chaos-2": ("50", "5002"),
    "hdy-chaos-1": ("90", "9011"), "hdy-chaos-2": ("90", "9011"),
}  # fmt: skip
UNKNOWN = 3
WAIT_S = 90.0


def _password(site: str) -> str:
    return f"chaos-password-of-{site}"


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    except sqlite3.OperationalError:  # not migrated yet
        return []


def _committed(db: Path, province: str | None = None) -> list[tuple[object, ...]]:
    where = f" AND s.province = '{province}'" if province else ""
    return _rows(db, "SELECT s.site_id, t.event_id FROM transitions t JOIN sites s ON s.id = t.site "
                     f"WHERE t.event_id IS NOT NULL{where} ORDER BY 1, 2")  # fmt: skip


def _timeline(db: Path, province: str) -> list[tuple[object, ...]]:
    """Each camera's transitions in order (the times are each aggregator's: a live event newer than
    its receipt is placed at receipt, and the two receive it at different instants)."""
    return _rows(db, "SELECT i.camera_id, t.old_state, t.new_state, t.reason, t.event_id FROM transitions t "
                     "JOIN camera_inventory i ON i.id = t.camera JOIN sites s ON s.id = t.site "
                     f"WHERE s.province = '{province}' ORDER BY 1, t.at_ms, 5")  # fmt: skip


def _states(db: Path, province: str) -> dict[str, int]:
    rows = _rows(db, "SELECT c.camera_id, c.state FROM cameras c JOIN sites s ON s.id = c.site "
                     f"WHERE s.province = '{province}'")  # fmt: skip
    return {str(c): int(str(s)) for c, s in rows}


def _expected(emits: int, province: str | None = None) -> list[tuple[object, ...]]:
    return sorted((s, i) for s, (p, _) in SITES.items() for i in range(1, emits + 1) if province in (None, p))


class World:
    """The running topology: brokers, aggregators, agents, the namespace."""

    def __init__(self, tmp: Path, ns: Netns) -> None:
        self.tmp, self.ns = tmp, ns
        sites = {s: (p, d, _password(s)) for s, (p, d) in SITES.items()}
        self.topo: Topology = render_topology(tmp, PROVINCES, ["a", "b"], sites=sites, more_ips=(ns.host_ip, ns.inner_ip))
        p50 = self.topo.brokers["province-50"]
        p50.host, p50.prefix = ns.inner_ip, ns.prefix
        behind_link(p50.directory / "camwatch.conf", ns.inner_ip, ns.host_ip)
        for n in ("a", "b"):
            also_listen(self.topo.brokers[f"national-{n}"].directory / "camwatch.conf", ns.host_ip)
        self.topo.log_every_packet("province-50")
        self.commands: list[Command] = []
        self.emits = 0

    def serve(self, name: str, broker: str, *, prefix: list[str], **env: str) -> Command:
        b = self.topo.brokers[broker]
        variables = operator_env(
            CAMWATCH_INGEST__URL=f"mqtts://{b.host}:{b.port}", CAMWATCH_STORE__DB_PATH=str(self.tmp / f"{name}.db"),
            CAMWATCH_API__PORT=str(free_port()), CAMWATCH_INGEST__REORDER_WINDOW_S="0.5", CAMWATCH_INGEST__REQUIRE_ENROLLED="false", **env,
        )  # fmt: skip
        command = start_in(prefix, name, "tests.rig.pinned", "aggregator", "--config",
                           str(self.topo.out / "aggregators" / f"{name}.toml"), "serve",
                           env=child_environ(variables), log=self.tmp / f"{name}.log")  # fmt: skip
        self.commands.append(command)
        return command

    def agents(self, name: str, province_ip: str, national_ip: str, provinces: set[str], prefix: list[str]) -> Command:
        paths = []
        for site, (province, district) in SITES.items():
            if province not in provinces:
                continue
            config = {
                "site": {"site_id": site, "province": province, "district": district},
                "broker": {"host": province_ip, "port": self.topo.port(f"province-{province}"), "ca_file": str(self.topo.ca.cafile),
                           "password": f"env:CHAOS_PW_{site.replace('-', '_').upper()}", "keepalive_s": 5,
                           "connect_jitter_s": 0, "fallback": [{"host": national_ip, "port": self.topo.port(f"national-{n}")}
                                                               for n in ("a", "b")]},
                "outbox": {"path": str(self.tmp / f"{site}.outbox.sqlite3")},
                "state_dir": str(self.tmp / f"state-{site}"),
            }  # fmt: skip
            path = self.tmp / f"{site}.yaml"
            path.write_text(yaml.safe_dump(config))
            paths.append(str(path))
        passwords = {f"CHAOS_PW_{s.replace('-', '_').upper()}": _password(s) for s in SITES}
        command = start_in(prefix, name, "tests.rig.chaos_agents_main", *paths,
                           env=child_environ(operator_env(**passwords)), log=self.tmp / f"{name}.log")  # fmt: skip
        self.commands.append(command)
        return command

    def emit(self, *agents: Command) -> None:
        self.emits += 1
        for agent in agents:
            agent.process.send_signal(signal.SIGUSR1)
            poll(lambda a=agent: f"EMITTED {self.emits}\n" in a.output(), timeout=WAIT_S,  # type: ignore[misc]
                 what=f"emit {self.emits}", commands=(agent,))  # fmt: skip

    def close(self) -> None:
        for command in reversed(self.commands):
            command.kill()
        self.topo.stop()
        for broker in self.topo.brokers.values():
            broker.kill()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    ns = Netns.create()
    try:
        w = World(tmp_path, ns)
        try:
            yield w
        finally:
            w.close()
    finally:
        ns.delete()


def test_cut_kill_and_fail_over_lose_and_double_nothing(world: World) -> None:
    topo, ns, tmp = world.topo, world.ns, world.tmp
    national_db, provincial_db = tmp / "national.db", tmp / "province-50.db"
    topo.start()
    b_url = f"mqtts://{HOST}:{topo.port('national-b')}"
    national = world.serve("national", "national-a", prefix=[], CAMWATCH_INGEST__FALLBACK_URLS=b_url,
                           CAMWATCH_INGEST__BROKER_PROBE_S="1")  # fmt: skip
    provincial = world.serve("province-50", "province-50", prefix=ns.prefix, CAMWATCH_INGEST__HOST_NAME="chiang-mai")
    poll(lambda: all(f"province {p} link up" in national.output() for p in PROVINCES), timeout=WAIT_S,
         what="the national primary online with every bridge up", commands=(national, provincial))  # fmt: skip
    host_agents = world.agents("agents-host", HOST, HOST, {"10", "90"}, [])
    inner_agents = world.agents("agents-50", ns.inner_ip, ns.host_ip, {"50"}, ns.prefix)
    everyone = (national, provincial, host_agents, inner_agents)

    def committed(what: str, emits: int) -> None:
        poll(lambda: _committed(national_db) == _expected(emits), timeout=WAIT_S, what=f"{what}: national", commands=everyone)
        poll(lambda: _committed(provincial_db) == _expected(emits, "50"), timeout=WAIT_S, what=f"{what}: provincial",
             commands=everyone)  # fmt: skip

    # 1. Born everywhere; the first event once on each tier.
    poll(lambda: len(_rows(national_db, "SELECT 1 FROM cameras")) == len(SITES), timeout=WAIT_S,
         what="every site born nationally", commands=everyone)  # fmt: skip
    world.emit(host_agents, inner_agents)
    committed("first event", 1)
    poll(lambda: _rows(national_db, "SELECT count(*) FROM sites WHERE heartbeat_interval_s = 2") == [(len(SITES),)],
         timeout=WAIT_S, what="every site's heartbeat nationally", commands=everyone)  # fmt: skip

    # 2. Province 50's link is cut.
    ns.cut()
    link_faults = "SELECT id, status FROM faults WHERE province = '50' AND kind = 'link'"
    poll(lambda: _rows(national_db, link_faults + " AND status = 'open'"), timeout=WAIT_S,
         what="one link fault for province 50", commands=everyone)  # fmt: skip
    poll(lambda: set(_states(national_db, "50").values()) == {UNKNOWN}, timeout=WAIT_S,
         what="province 50's cameras unknown nationally", commands=everyone)  # fmt: skip
    assert UNKNOWN not in _states(national_db, "10").values()
    world.emit(host_agents, inner_agents)
    poll(lambda: _committed(provincial_db) == _expected(2, "50"), timeout=WAIT_S,
         what="the event made during the cut, live provincially", commands=everyone)  # fmt: skip
    assert UNKNOWN not in _states(provincial_db, "50").values(), "the provincial picture stays live"
    poll(lambda: _committed(national_db, "10") == _expected(2, "10"), timeout=WAIT_S, what="province 10 live nationally",
         commands=everyone)  # fmt: skip
    assert _committed(national_db, "50") == _expected(1, "50"), "province 50's second event crossed a cut link"
    [(fault_id, _)] = _rows(national_db, link_faults)

    # 3. The link returns: the queue fills the gap.
    ns.restore()
    committed("after the link returned", 2)
    poll(lambda: _rows(national_db, link_faults) == [(fault_id, "resolved")], timeout=WAIT_S,
         what="the link fault resolved", commands=everyone)  # fmt: skip
    poll(lambda: _timeline(national_db, "50") == _timeline(provincial_db, "50"), timeout=WAIT_S,
         what="province 50's national timeline equal to the provincial one (the gap filled)", commands=everyone)  # fmt: skip
    assert UNKNOWN not in {row[2] for row in _timeline(national_db, "50")}

    # 4. Province 90's broker dies: its agents fail over to national a, and come back.
    a_port = topo.port("national-a")
    seen = len(host_agents.output())
    topo.brokers["province-90"].kill()
    poll(lambda: len(re.findall(rf"hdy-chaos-\d: .* moving to {HOST}:{a_port} \(fallback\)", host_agents.output()[seen:])) == 2,
         timeout=WAIT_S, what="province 90's agents on national a", commands=everyone)  # fmt: skip
    world.emit(host_agents, inner_agents)
    committed("events through the fallback", 3)
    topo.brokers["province-90"].start()
    poll(lambda: host_agents.output()[seen:].count("and its host are back; leaving fallback") == 2,
         timeout=WAIT_S, what="province 90's agents back on their broker", commands=everyone)  # fmt: skip
    world.emit(host_agents, inner_agents)
    committed("events after the return", 4)

    # 5. National broker a dies: the national aggregator moves to b.
    topo.brokers["national-a"].kill()
    poll(lambda: f"MQTT broker {b_url} reachable again" in national.output(), timeout=WAIT_S,
         what="the national aggregator on b", commands=everyone)  # fmt: skip
    a_broker = f"{topo.brokers['national-a'].host}:{a_port}"
    broker_faults = f"SELECT id, status, province FROM faults WHERE kind = 'broker' AND broker = '{a_broker}'"
    poll(lambda: _rows(national_db, broker_faults + " AND status = 'open'"), timeout=WAIT_S,
         what="one 'broker down' fault for national a", commands=everyone)  # fmt: skip
    world.emit(host_agents, inner_agents)
    committed("events through national b", 5)
    [(broker_fault, _, scope)] = _rows(national_db, broker_faults)
    assert scope == "00", "a broker fault is national (no province)"
    topo.brokers["national-a"].start()  # same port, same config
    poll(lambda: _rows(national_db, broker_faults) == [(broker_fault, "resolved", "00")], timeout=WAIT_S,
         what="the broker fault resolved once national a answers again", commands=everyone)  # fmt: skip
    assert _rows(national_db, "SELECT count(*) FROM faults WHERE kind = 'broker'") == [(1,)], "b never went down"
    toml = (topo.out / "aggregators" / "national.toml").read_text()
    [password_file] = [Path(line.split('"file:', 1)[1].rstrip('"')) for line in toml.splitlines()
                       if line.startswith('password = "file:')]  # fmt: skip
    assert password_file.read_text().strip() not in national.output(), "the broker password in the national log"

    # 6. Stop: still once each; the secondary never published on its broker.
    for command in (host_agents, inner_agents, provincial, national):
        assert command.stop() == 0, command.output()[-3000:]
    assert _committed(national_db) == _expected(5) and _committed(provincial_db) == _expected(5, "50")
    log = topo.log("province-50")
    senders = re.findall(r"Received PUBLISH from (\S+) \(d\d, q\d, r\d, m\d+, 'camwatch/v1/50/[^']+/(?:ack|cmd)'", log)
    assert senders and all(s.startswith("bridge-50-to-") for s in senders), set(senders)
    assert "Received PUBLISH from aggregator-50" not in log, "the secondary published (ack, command or state)"
