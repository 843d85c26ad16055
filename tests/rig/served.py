"""``python -m aggregator serve`` as shipped, on the test's pinned clock, against a real Mosquitto.

The database is created (and tokens made) before the command starts; the command reads only
``CAMWATCH_*`` variables. Used by the issue 18 tests (uploads, the live feed and a revoked
token, a held write lock, clock skew).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from aggregator.auth import create_token
from aggregator.geography import load_geography
from aggregator.schema import open_db
from tests.clock import child_environ
from tests.rig.mosquitto import Broker
from tests.rig.ports import free_port, wait_for_port
from tests.rig.shipped import REPO, operator_env

__all__ = ["PEPPER", "Served"]

PEPPER = "token-pepper-of-the-served-tests"
# serve imports the aggregator, migrates and connects to the broker: seconds, more on 2 busy cores.
START_S = 60.0


@dataclass
class Served:
    """One ``serve`` process: ``start`` it, call ``http``, ``stop`` it."""

    tmp: Path
    broker: Broker
    variables: dict[str, str] = field(default_factory=dict)
    db_path: Path = field(init=False)
    port: int = field(init=False)
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, tuple[int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db_path = self.tmp / "centre.db"
        self.port = free_port()
        self.log = self.tmp / "serve.log"

    def token(self, name: str, role: str = "admin", provinces: list[str] | None = None) -> str:
        """Create a token in the database (before or while serving); remembered by ``name``."""
        db = open_db(self.db_path)
        try:
            geography = load_geography(db)
            self.tokens[name] = create_token(db, name, role, provinces or [], pepper=PEPPER, geography=geography)
        finally:
            db.close()
        return self.tokens[name][1]

    def env(self) -> dict[str, str]:
        """The operator's variables of this server (for the one-shot commands too)."""
        return child_environ(operator_env(
            CAMWATCH_ENVIRONMENT="test", CAMWATCH_DB_PATH=str(self.db_path), CAMWATCH_API_PORT=str(self.port),
            CAMWATCH_MQTT_URL=f"mqtt://127.0.0.1:{self.broker.port}", CAMWATCH_TOKEN_PEPPER=PEPPER,
            CAMWATCH_MQTT_PASSWORD="broker-password-of-the-served-tests",
            CAMWATCH_INGEST__REQUIRE_ENROLLED="false", **self.variables,
        ))  # fmt: skip

    def start(self) -> Served:
        """Start serve and wait for its API port."""
        open_db(self.db_path).close()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.rig.pinned", "aggregator", "serve"], cwd=REPO, env=self.env(),
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_S
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited ({self.process.returncode}):\n{self.output()[-3000:]}")
            try:
                wait_for_port(self.port, timeout=1.0)
                return self
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    def http(self, token: str, timeout: float = 30.0) -> httpx.Client:
        """An API client with ``token``."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {token}"},
                            timeout=httpx.Timeout(timeout, connect=5.0))  # fmt: skip

    def output(self) -> str:
        """What serve logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then wait for the clean exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
