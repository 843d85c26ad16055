"""``scripts/demo.sh --topology``: the national topology of issue 17 on this machine.

Three provinces (Bangkok 10, Chiang Mai 50, Songkhla 90), each with its own Mosquitto and its own
provincial aggregator and dashboard (``role = secondary``), bridged to two national brokers read
by the national aggregator and dashboard (``role = primary``). Every broker's files come from the
shipped ``topology render`` (aggregator.broker.topology), with a pilot CA made by the shipped
``deploy/mosquitto/make-pilot-ca.sh``; the only change is each broker's port (one machine) and its
``user``. Simulated sites (the real agent publishing code) connect to their provincial broker over
TLS with their own accounts, national broker a as their fallback.

Try: stop a provincial broker (its PID is printed) and watch its sites move to the national
broker; the national dashboard keeps them, the province's dashboard goes dark until it is back.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import random
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from agent.publisher import Publisher
from aggregator.broker.passwords import atomic_write, set_password
from aggregator.broker.topology import NationalBroker, Province, Topology, render
from protocol import HOST_STATE_TOPIC, Kind, site_topic
from tests.rig.signals import SignalFlag

from .fleet import SimSite, SimulatedSite
from .services import REPO, Stack, mint_token, wait_http

__all__ = ["run_topology"]

logger = logging.getLogger("camwatch.demo")
PROVINCES = {"10": ("1001", "Bangkok"), "50": ("5001", "Chiang Mai"), "90": ("9011", "Songkhla")}
NATIONAL = ("a", "b")
HOST = "127.0.0.1"
STATUS_EVERY_S = 15.0


def _free_port() -> int:
    from tests.rig.ports import free_port

    return free_port()


def _rewrite(conf: Path, port: int, national_ports: dict[str, int]) -> None:
    """A rendered config on this machine: its own port, bridges to the national brokers' ports."""
    lines, national = [f"user {getpass.getuser()}"], ""
    for line in conf.read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {port} {HOST}"
        elif line.startswith("connection "):
            national = line.rsplit("-to-", 1)[1]
        elif line.startswith("address "):
            line = f"address {HOST}:{national_ports[national]}"
        lines.append(line)
    atomic_write(conf, "\n".join(lines) + "\n", 0o640)


def _site_acl(province: str, district: str, site: str) -> list[str]:
    lines = [f"user {site}"]
    lines += [f"topic write {site_topic(province, district, site, k)}" for k in Kind if k.from_agent]
    lines += [f"topic read {site_topic(province, district, site, k)}" for k in (Kind.ACK, Kind.CMD)]
    return [*lines, f"topic read {HOST_STATE_TOPIC}"]


def _plan(sites_per_province: int, cameras: tuple[int, int]) -> list[SimSite]:
    rng = random.Random(17)
    return [SimSite(f"demo-{p}-{i:02d}", p, district, f"{name} demo site {i + 1}",
                    tuple(f"demo-{p}-{i:02d}-cam{j:02d}" for j in range(rng.randint(*cameras))), 0.05 / 600)
            for p, (district, name) in PROVINCES.items() for i in range(sites_per_province)]  # fmt: skip


class _Topology:
    """The rendered brokers, started; their ports and processes."""

    def __init__(self, stack: Stack, workdir: Path, plan: list[SimSite]) -> None:
        out = workdir / "topology"
        subprocess.run(["bash", str(REPO / "deploy/mosquitto/make-pilot-ca.sh"), str(workdir / "ca"), "localhost", HOST],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        self.cafile = workdir / "ca" / "ca.crt"
        topo = Topology(national=[NationalBroker(name=n, host=HOST) for n in NATIONAL],
                        provinces=[Province(code=p) for p in PROVINCES], province_host=HOST,
                        conf_dir=f"{out}/{{broker}}", data_dir=f"{workdir}/data/{{broker}}",
                        aggregator_cafile=str(self.cafile))  # fmt: skip
        render(topo, out)
        self.passwords = {s.site_id: secrets.token_urlsafe(18) for s in plan}
        for s in plan:  # enrol each site into its province (as enrol-site --password-file/--acl-file)
            directory = out / f"province-{s.province}"
            set_password(directory / "camwatch.passwd", s.site_id, self.passwords[s.site_id])
            with (directory / "camwatch.acl").open("a") as fh:
                fh.write("\n" + "\n".join(_site_acl(s.province, s.district, s.site_id)) + "\n")
        rendered = render(topo, out)  # again: the sites' accounts reach the national brokers too
        self.out = out
        self.ports = {name: _free_port() for name in rendered.brokers}
        national_ports = {n: self.ports[f"national-{n}"] for n in NATIONAL}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        for name in sorted(rendered.brokers, key=lambda n: not n.startswith("national")):
            directory = rendered.brokers[name]
            (workdir / "data" / name).mkdir(parents=True, exist_ok=True)
            certs = directory / "certs"
            certs.mkdir(exist_ok=True)
            for source, target in (("ca.crt", "ca.crt"), ("broker.crt", "broker.crt"), ("broker.key", "broker.key")):
                shutil.copy(workdir / "ca" / source, certs / target)
            _rewrite(directory / "camwatch.conf", self.ports[name], national_ports)
            self.start(stack, name)

    def start(self, stack: Stack, name: str) -> None:
        from tests.rig.mosquitto import mosquitto_binary
        from tests.rig.ports import wait_for_port

        log = (self.out / name / "mosquitto.log").open("ab")
        proc = subprocess.Popen([mosquitto_binary(), "-c", str(self.out / name / "camwatch.conf")],
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        stack.add_process(f"Mosquitto {name}", proc)
        self.processes[name] = proc
        wait_for_port(self.ports[name], HOST, 20.0)

    def url(self, name: str) -> str:
        return f"mqtts://{HOST}:{self.ports[name]}"


def _serve(stack: Stack, workdir: Path, topo: _Topology, name: str, broker: str, api_port: int,
           **env: str) -> tuple[str, str]:  # fmt: skip
    """Start one aggregator from its rendered settings; its dashboard URL and admin token."""
    import os

    from aggregator.geography import load_geography
    from aggregator.schema import open_db

    db_path = workdir / f"{name}.db"
    db = open_db(db_path)
    load_geography(db)
    db.close()
    pepper = secrets.token_urlsafe(24)
    token = mint_token(db_path, "admin", f"demo-{name}-admin", pepper)
    port = api_port or _free_port()
    variables = dict(
        os.environ, CAMWATCH_ENVIRONMENT="development", CAMWATCH_STORE__DB_PATH=str(db_path),
        CAMWATCH_API__HOST=HOST, CAMWATCH_API__PORT=str(port), CAMWATCH_TOKEN_PEPPER=pepper,
        CAMWATCH_INGEST__URL=topo.url(broker), CAMWATCH_INGEST__REQUIRE_ENROLLED="false", PYTHONPATH=str(REPO), **env,
    )  # fmt: skip
    log = (workdir / f"{name}.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(topo.out / "aggregators" / f"{name}.toml"),
                             "serve"], cwd=REPO, env=variables, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    stack.add_process(f"aggregator {name}", proc)
    return f"http://{HOST}:{port}", token


def run_topology(workdir: Path, stack: Stack, stopping: SignalFlag, *, port: int, sites: int,
                 cameras: tuple[int, int]) -> int:  # fmt: skip
    """Bring the topology up, print every dashboard, run until ``stopping`` is set."""
    plan = _plan(max(1, sites), cameras)
    topo = _Topology(stack, workdir, plan)
    dashboards = {"national": _serve(stack, workdir, topo, "national", "national-a", port,
                                     CAMWATCH_INGEST__FALLBACK_URLS=topo.url("national-b"))}  # fmt: skip
    for p in PROVINCES:
        dashboards[f"province-{p}"] = _serve(stack, workdir, topo, f"province-{p}", f"province-{p}", 0)
    for url, _ in dashboards.values():
        wait_http(f"{url}/healthz", 60.0)
    (workdir / "fleet").mkdir(exist_ok=True)
    fleet = []
    for i, s in enumerate(plan):
        site = SimulatedSite(s, HOST, topo.ports[f"province-{s.province}"], workdir / "fleet", random.Random(i))
        settings = dataclasses.replace(site.publisher.settings, tls=True, ca_file=str(topo.cafile), username=s.site_id, jitter_s=1.0,
                                       password=topo.passwords[s.site_id], fallbacks=((HOST, topo.ports["national-a"]),
                                                                                      (HOST, topo.ports["national-b"])))  # fmt: skip
        site.publisher = Publisher(settings, site.outbox, snapshot=site.snapshot, site_info=site.publisher._site_info)  # noqa: SLF001
        site.start()
        fleet.append(site)
        stack.add(f"site {s.site_id}", site.stop)
    banner = ["", "camwatch topology demo is running (issue 17: provinces bridged to two national brokers).", ""]
    for name, (url, token) in dashboards.items():
        label = "national" if name == "national" else f"{PROVINCES[name[-2:]][1]} ({name[-2:]})"
        banner.append(f"  dashboard {label:<16} {url}/   admin token: {token}")
    banner.append("")
    for name, proc in topo.processes.items():
        banner.append(f"  broker {name:<12} mqtts://{HOST}:{topo.ports[name]}  (pid {proc.pid})")
    banner += [f"  data: {workdir}", "  Ctrl-C stops everything.", ""]
    sys.stdout.write("\n".join(banner) + "\n")
    sys.stdout.flush()
    started = time.monotonic()
    while not stopping.wait(STATUS_EVERY_S):
        logger.info("topology running %.0f s: %d sites in %d provinces", time.monotonic() - started, len(fleet),
                    len(PROVINCES))  # fmt: skip
        if stack.dead():
            dead = [d for d in stack.dead() if not d.startswith("Mosquitto province")]  # a broker you stopped
            if dead:
                logger.error("a demo process died: %s; stopping", ", ".join(dead))
                return 1
    return 0
