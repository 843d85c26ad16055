"""The demo's long-running services: the MQTT broker and the aggregator, and a stop stack.

Mosquitto is the broker whenever its binary is installed (``scripts/setup.sh`` installs it
when run as root). Only if it is missing does the demo fall back to ``amqtt``, a broker in
pure Python from PyPI, and it says so: the demo must run, but production uses Mosquitto.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aggregator.store.places import Place

__all__ = ["AggregatorProcess", "BrokerInfo", "Stack", "start_aggregator", "start_broker", "wait_http"]

logger = logging.getLogger("camwatch.demo")
REPO = Path(__file__).resolve().parents[2]
# A process asked to stop gets this long before it is killed.
STOP_TIMEOUT_S = 10.0
# One probe of the aggregator's health endpoint; it answers in milliseconds when up.
HTTP_PROBE_TIMEOUT_S = 2.0


class Stack:
    """What the demo started, stopped in reverse order (each stop guarded)."""

    def __init__(self) -> None:
        self._items: list[tuple[str, Callable[[], None]]] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def add(self, name: str, stop: Callable[[], None]) -> None:
        """Remember how to stop ``name``."""
        self._items.append((name, stop))

    def add_process(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        """Remember a child process: SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_S`."""
        self._procs[name] = proc

        def stop() -> None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(STOP_TIMEOUT_S)

        self.add(name, stop)

    def dead(self) -> list[str]:
        """Names of child processes that exited on their own."""
        return [name for name, proc in self._procs.items() if proc.poll() is not None]

    def stop_all(self) -> None:
        """Stop everything, newest first."""
        while self._items:
            name, stop = self._items.pop()
            try:
                stop()
                logger.info("stopped %s", name)
            except Exception:  # keep stopping the rest whatever one of them does
                logger.exception("stopping %s failed", name)


@dataclass(frozen=True)
class BrokerInfo:
    """Where the broker listens and which one it is."""

    port: int
    kind: str


def _port_free(port: int) -> bool:
    """Whether ``port`` can be bound on the loopback address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    from tests.rig.ports import free_port

    return free_port()


def start_broker(stack: Stack, workdir: Path) -> BrokerInfo:
    """Start Mosquitto on a free loopback port, or amqtt when Mosquitto is not installed."""
    from tests.rig.mosquitto import Broker, mosquitto_binary

    try:
        mosquitto_binary()
    except (FileNotFoundError, RuntimeError):
        return _start_amqtt(stack, workdir)
    broker = Broker(workdir / "broker", persistence=False).start()
    stack.add("Mosquitto", broker.stop)
    logger.info("broker: Mosquitto on 127.0.0.1:%d", broker.port)
    return BrokerInfo(broker.port, "Mosquitto")


def _start_amqtt(stack: Stack, workdir: Path) -> BrokerInfo:
    amqtt = shutil.which("amqtt") or str(Path(sys.executable).with_name("amqtt"))
    if not Path(amqtt).exists():
        raise RuntimeError(
            "no MQTT broker: install Mosquitto (sudo apt-get install mosquitto) or "
            "'.venv/bin/pip install amqtt' for the pure-Python fallback"
        )
    logger.warning("Mosquitto is not installed: falling back to the pure-Python amqtt broker (demo only)")
    port = _free_port()
    config = workdir / "amqtt.yaml"
    config.write_text(
        f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\n"
        "auth:\n  allow-anonymous: true\n",
        "utf-8",
    )
    log = (workdir / "amqtt.log").open("ab")
    proc = subprocess.Popen([amqtt, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    stack.add_process("amqtt broker", proc)
    from tests.rig.ports import wait_for_port

    wait_for_port(port, "127.0.0.1", 20.0)
    return BrokerInfo(port, "amqtt (fallback: Mosquitto not installed)")


@dataclass(frozen=True)
class AggregatorProcess:
    """The running aggregator and the demo's tokens (one per role)."""

    url: str
    admin_token: str = field(repr=False)
    technician_token: str = field(repr=False)
    viewer_token: str = field(repr=False)
    db_path: Path | None = None
    pepper: str = field(default="", repr=False)

    def mint(self, role: str, provinces: Sequence[str] = (), name: str = "") -> str:
        """Another token (for tests), e.g. a viewer scoped to some provinces."""
        from aggregator.auth import create_token
        from aggregator.geography import Geography
        from aggregator.schema import open_db

        assert self.db_path is not None
        db = open_db(self.db_path)
        try:
            return create_token(db, name or f"extra-{role}", role, list(provinces), pepper=self.pepper,
                                geography=Geography.from_geothai())[1]  # fmt: skip
        finally:
            db.close()


def mint_token(db_path: Path, role: str, name: str, pepper: str) -> str:
    """Create an API token for ``role`` (whole country) in the aggregator's database."""
    from aggregator.auth import create_token
    from aggregator.geography import Geography
    from aggregator.schema import open_db

    db = open_db(db_path)
    try:
        return create_token(db, name, role, [], pepper=pepper, geography=Geography.from_geothai())[1]
    finally:
        db.close()


def aggregator_env(workdir: Path, broker_port: int, api_port: int) -> dict[str, str]:
    """Environment of the demo's aggregator: SQLite in the work dir, the demo broker."""
    return dict(
        os.environ,
        CAMWATCH_ENVIRONMENT="development",
        CAMWATCH_DB_PATH=str(workdir / "aggregator.db"),
        CAMWATCH_MQTT_URL=f"mqtt://127.0.0.1:{broker_port}",
        CAMWATCH_API_HOST="127.0.0.1",
        CAMWATCH_API_PORT=str(api_port),
        # A fresh secret per demo run: tokens of an old run never work on a new one.
        CAMWATCH_TOKEN_PEPPER=secrets.token_urlsafe(24),
        PYTHONPATH=str(REPO),
    )


def start_aggregator(
    stack: Stack, workdir: Path, broker_port: int, api_port: int, sites: Sequence[tuple[str, str, str]],
    *, places: Mapping[str, Place] | None = None, extra_env: Mapping[str, str] | None = None,
) -> AggregatorProcess:
    """Create the database, enrol ``sites`` ((site, province, district)) with their ``places``
    and mint tokens, then run ``camwatch-aggregator serve`` (with ``extra_env`` settings)."""
    port = api_port if api_port and _port_free(api_port) else _free_port()
    if api_port and port != api_port:
        logger.warning("port %d is in use: the dashboard gets port %d instead", api_port, port)
    env = {**aggregator_env(workdir, broker_port, port), **(extra_env or {})}
    db_path = Path(env["CAMWATCH_DB_PATH"])
    from aggregator.geography import load_geography
    from aggregator.schema import open_db
    from aggregator.store import registry
    from aggregator.store.places import set_place

    db = open_db(db_path)
    load_geography(db)
    now_ms = int(time.time() * 1000)
    with db.atomic():
        for site_id, province, district in sites:
            if registry.get_site(db, site_id) is None:
                registry.insert_site(db, site_id, province, district, now_ms=now_ms)
                if places and site_id in places:
                    set_place(db, site_id, places[site_id], by="demo", at_ms=now_ms)
    db.close()
    pepper = env["CAMWATCH_TOKEN_PEPPER"]
    tokens = {role: mint_token(db_path, role, f"demo-{role}", pepper) for role in ("admin", "technician", "viewer")}
    log = (workdir / "aggregator.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve"], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    stack.add_process("aggregator", proc)
    logger.info("aggregator: http://127.0.0.1:%d (log %s)", port, workdir / "aggregator.log")
    return AggregatorProcess(f"http://127.0.0.1:{port}", tokens["admin"], tokens["technician"], tokens["viewer"],
                             db_path, pepper)  # fmt: skip


def wait_http(url: str, timeout: float) -> None:
    """Wait until ``url`` answers 200, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=HTTP_PROBE_TIMEOUT_S) as res:
                if res.status == 200:
                    return
        except (urllib.error.URLError, OSError) as err:
            last = err
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")
