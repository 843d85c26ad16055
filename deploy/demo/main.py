"""The one-command demo: broker, aggregator, one real agent, a simulated national fleet.

Everything runs on this machine with embedded defaults: SQLite in a temporary directory,
the Mosquitto binary (or, only when it is missing, the pure-Python ``amqtt`` broker), the
aggregator (``camwatch-aggregator serve``), one real agent (``camwatch-agent run``) checking
real RTSP streams (GStreamer: moving, black, frozen) and an ONVIF simulator (``ipycam``),
and :mod:`deploy.demo.fleet` publishing for sites in all 77 provinces through the real agent
publishing code. Ctrl-C (SIGINT) or SIGTERM stops everything it started, in reverse order.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.rig.signals import SignalFlag

from .audit_seed import seed_audit
from .fleet import Fleet, SimSite, plan_fleet
from .line_server import LineApi, add_demo_route, demo_line_env
from .places import demo_places
from .services import Stack, start_aggregator, start_broker, wait_http

__all__ = ["main"]

logger = logging.getLogger("camwatch.demo")
REPO = Path(__file__).resolve().parents[2]
# How often the demo prints the live national figures while it runs.
STATUS_EVERY_S = 15.0
REAL_SITE = "demo-real-agent"


def _agent_config(workdir: Path, broker_port: int, rtsp: object, onvif_port: int) -> Path:
    """The real agent's YAML: one ONVIF-simulated camera on the moving stream, two RTSP-only."""
    uri = rtsp.uri  # type: ignore[attr-defined]
    config = {
        "site": {"site_id": REAL_SITE, "province": "10", "district": "1001",
                 "name": "Real agent on this machine / เอเจนต์จริงบนเครื่องนี้", **DEMO_PLACE},
        "broker": {"host": "127.0.0.1", "port": broker_port, "tls": False,
                   "password": "env:CAMWATCH_DEMO_BROKER_PASSWORD", "keepalive_s": 10, "heartbeat_interval_s": 15},
        "discovery": {"ws_discovery": False},
        "cameras": [
            {"id": "demo-onvif-moving", "name": "ONVIF camera, moving picture", "address": "127.0.0.1",
             "onvif_port": onvif_port, "stream_uri": uri("moving")},
            {"id": "demo-rtsp-black", "name": "RTSP camera, black picture", "address": "127.0.0.1",
             "onvif_port": None, "stream_uri": uri("black")},
            {"id": "demo-rtsp-frozen", "name": "RTSP camera, frozen picture", "address": "127.0.0.1",
             "onvif_port": None, "stream_uri": uri("frozen")},
            # issue 16: fine by day, only noise after dark in Bangkok (IR dead): night_no_ir at night
            {"id": "demo-rtsp-night", "name": "RTSP camera, IR dead (fails at night only)", "address": "127.0.0.1",
             "onvif_port": None, "stream_uri": uri("daynight-noise")},
        ],
        "checks": {"interval_s": 10, "jitter_s": 2, "concurrency": 2},
        "state_dir": str(workdir / "agent"),
    }  # fmt: skip
    _add_stopped_recorder(config, workdir, uri("moving"))
    path = workdir / "agent.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _add_stopped_recorder(config: dict[str, object], workdir: Path, uri: str) -> None:
    """Issue 16: a camera whose live picture is fine but whose local recorder stopped two hours
    ago (its newest segment is that old): the agent reports it degraded / not_recording."""
    folder = workdir / "recordings" / "demo-rtsp-unrecorded"
    folder.mkdir(parents=True, exist_ok=True)
    segment = folder / "seg00000.ts"
    segment.write_bytes(b"")
    stamp = time.time() - 2 * 3600
    os.utime(segment, (stamp, stamp))
    cameras = config["cameras"]
    assert isinstance(cameras, list)
    cameras.append({"id": "demo-rtsp-unrecorded", "name": "RTSP camera, live but its recorder stopped",
                    "address": "127.0.0.1", "onvif_port": None, "stream_uri": uri})
    config["recording"] = {"interval_s": 30, "recorders": [{
        "id": "demo-box", "kind": "directory", "path": str(workdir / "recordings"),
        "cameras": {"demo-rtsp-unrecorded": {"channel": "demo-rtsp-unrecorded/*.ts"}}}]}


# issue 16 (i16b): the real agent's site is in Bangkok, so its night checks follow Bangkok's dusk.
DEMO_PLACE = {"lat": 13.7563, "lon": 100.5018}
SCENE_EVERY_S = 60.0


def _follow_the_sun(rtsp: object) -> Callable[[], None]:
    """Show the ``daynight-*`` mounts' night picture while it is dark in Bangkok; returns stop."""
    from datetime import UTC, datetime

    from agent.sun import is_dark

    stop = threading.Event()

    def run() -> None:
        while True:
            dark = is_dark(datetime.now(UTC), DEMO_PLACE["lat"], DEMO_PLACE["lon"])
            rtsp.set_scene("night" if dark else "day")  # type: ignore[attr-defined]
            if stop.wait(SCENE_EVERY_S):
                return

    threading.Thread(target=run, name="demo-sun", daemon=True).start()
    return stop.set


def _start_real_agent(stack: Stack, workdir: Path, broker_port: int) -> None:
    """RTSP rig + ONVIF simulator + ``camwatch-agent run``; skipped (with a warning) when the
    GStreamer server or the simulator does not start (their Python packages must be installed)."""
    from tests.rig.onvif_sim import SimOptions, start_camera
    from tests.rig.rtsp_server import RtspServer

    try:
        rtsp = RtspServer(workdir / "rtsp").start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as err:
        logger.warning("real agent skipped: GStreamer RTSP server did not start (%s)", err)
        return
    stack.add("RTSP camera streams", rtsp.kill)
    stack.add("day and night of the demo streams", _follow_the_sun(rtsp))
    try:
        onvif = start_camera(SimOptions(name="camwatch-demo", serial="DEMO0001", stream_urls=[rtsp.uri("moving")]))
    except (OSError, RuntimeError) as err:
        logger.warning("real agent skipped: ONVIF simulator did not start (%s)", err)
        return
    stack.add("ONVIF simulator", onvif.stop)
    config = _agent_config(workdir, broker_port, rtsp, onvif.port)
    env = dict(os.environ, CAMWATCH_DEMO_BROKER_PASSWORD="demo", PYTHONPATH=str(REPO))
    log = (workdir / "agent.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "agent", "-c", str(config), "run"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    stack.add_process("real agent", proc)
    logger.info("real agent: 5 cameras (ONVIF+moving, black, frozen, not recording, IR dead at night), log %s",
                workdir / "agent.log")


def _plan(sites: int, cams: tuple[int, int]) -> list[SimSite]:
    from aggregator.geography import Geography

    geo = Geography.from_geothai()
    return plan_fleet([(d.province, d.code) for d in geo.districts.values()], sites, cams)


def _start_fleet(stack: Stack, workdir: Path, broker_port: int, plan: list[SimSite]) -> Callable[[], str]:
    cut, rest = plan[-1], plan[:-1]
    (workdir / "fleet").mkdir(exist_ok=True)
    fleet = Fleet(rest, "127.0.0.1", broker_port, workdir / "fleet")
    fleet.start()
    fleet.power_cut(cut, restore_after_s=120.0)
    stack.add("simulated fleet", fleet.stop)
    logger.info("fleet: %d sites over %d provinces, %d cameras; power cut at %s in ~45 s",
                len(plan), len({s.province for s in plan}), fleet.cameras + len(cut.cameras), cut.site_id)  # fmt: skip
    return lambda: f"{fleet.changes} simulated changes"


def _seed(url: str, token: str, plan: list[SimSite]) -> None:
    try:
        seed_audit(url, token, plan)
    except (OSError, KeyError, ValueError) as err:  # the live picture works without it
        logger.warning("could not seed the audit register: %s", err)


def main(argv: list[str] | None = None) -> int:
    """Run the demo until Ctrl-C."""
    p = argparse.ArgumentParser(prog="deploy/demo.py", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8080, help="dashboard/API port (0: any free port)")
    p.add_argument("--sites", type=int, default=120, help="simulated sites (>= 77 covers every province)")
    p.add_argument("--cameras", type=int, nargs=2, default=(15, 35), metavar=("MIN", "MAX"),
                   help="cameras per simulated site")  # fmt: skip
    p.add_argument("--workdir", type=Path, default=None, help="keep data here (default: a temporary directory)")
    p.add_argument("--no-agent", action="store_true", help="skip the real agent and its simulated cameras")
    p.add_argument("--topology", action="store_true",
                   help="issue 17: three provinces with their own brokers and dashboards, bridged to two national "
                        "brokers and a national dashboard (--sites / 30 sites a province)")  # fmt: skip
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("agent.publisher", "agent.outbox", "agent.publisher.paho"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    temp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="camwatch-demo-")) if temp else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    stack = Stack()
    stopping = SignalFlag()  # never a threading.Event in a handler: it can deadlock

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %s: stopping everything the demo started", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if args.topology:  # deploy/demo/topology.py
            from .topology import run_topology

            return run_topology(workdir, stack, stopping, port=args.port, sites=args.sites // 30,
                                cameras=(args.cameras[0], args.cameras[1]))  # fmt: skip
        plan = _plan(args.sites, (args.cameras[0], args.cameras[1]))
        enrol = [(s.site_id, s.province, s.district) for s in plan] + [(REAL_SITE, "10", "1001")]
        broker = start_broker(stack, workdir)
        # Issue 15: the sites are places, and alerts go to a local LINE-compatible server.
        from aggregator.geography import Geography

        line = LineApi(secrets.token_urlsafe(32)).start()
        stack.add("LINE server", line.stop)
        aggregator = start_aggregator(stack, workdir, broker.port, args.port, enrol,
                                      places=demo_places(enrol, Geography.from_geothai()), extra_env=demo_line_env(line))
        wait_http(f"{aggregator.url}/healthz", 60.0)
        add_demo_route(aggregator.url, aggregator.admin_token)
        if not args.no_agent:
            _start_real_agent(stack, workdir, broker.port)
        status = _start_fleet(stack, workdir, broker.port, plan)
        # In the background: the live picture is up at once, the audit pages fill in shortly.
        threading.Thread(target=_seed, args=(aggregator.url, aggregator.admin_token, plan),
                         name="audit-seed", daemon=True).start()
        banner = [
            "",
            "camwatch demo is running.",
            f"  dashboard:   {aggregator.url}/",
            f"  admin token: {aggregator.admin_token}",
            f"  technician:  {aggregator.technician_token}",
            f"  viewer:      {aggregator.viewer_token}",
            f"  broker:      {broker.kind} on 127.0.0.1:{broker.port}",
            f"  LINE:        alerts to a local LINE-compatible server at {line.url} (delivery log: /api/v1/deliveries)",
            f"  data:        {workdir}",
            "  The national picture fills in within a minute. Ctrl-C stops everything.",
            "",
        ]
        sys.stdout.write("\n".join(banner) + "\n")
        sys.stdout.flush()
        while not stopping.wait(STATUS_EVERY_S):
            logger.info("running: %s", status())
            if stack.dead():
                logger.error("a demo process died: %s; stopping", ", ".join(stack.dead()))
                return 1
        return 0
    except KeyboardInterrupt:
        return 0
    except (OSError, RuntimeError, TimeoutError) as err:
        logger.error("demo could not start: %s", err)
        return 1
    finally:
        stack.stop_all()
        if temp:
            time.sleep(0.2)
            shutil.rmtree(workdir, ignore_errors=True)
