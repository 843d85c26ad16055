"""Start a real Mosquitto broker for a test: own config, free port, optional auth/ACL/TLS.

The broker binary is Debian's ``mosquitto`` (installed by scripts/setup.sh). A test gets a
:class:`Broker` it can stop, kill -9 and restart mid-test; persistence lives in the
test's own directory so a restart keeps queued QoS 1 messages like production does.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port, wait_for_port

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


def mosquitto_binary() -> str:
    """Path of the mosquitto binary; fail loudly when it is not installed."""
    for candidate in MOSQUITTO_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("mosquitto")
    if found:
        return found
    raise RuntimeError("mosquitto is not installed: run scripts/setup.sh test (apt-get install mosquitto)")


@dataclass
class TlsFiles:
    """CA, server certificate and key for a TLS listener."""

    cafile: Path
    certfile: Path
    keyfile: Path


@dataclass
class Broker:
    """One Mosquitto process owned by a test."""

    workdir: Path
    port: int = 0
    password_file: Path | None = None
    acl_file: Path | None = None
    tls: TlsFiles | None = None
    tls_port: int | None = None
    # A second TLS listener that refuses clients without a certificate from tls.cafile.
    mtls_port: int | None = None
    mtls: bool = False
    allow_anonymous: bool = True
    persistence: bool = True
    extra_config: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        if self.tls is not None and self.tls_port is None:
            self.tls_port = free_port()
        if self.tls is not None and self.mtls and self.mtls_port is None:
            self.mtls_port = free_port()

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def write_config(self) -> Path:
        """Write this broker's config file and return its path."""
        lines = [
            # Run as the test's own user: started as root, Mosquitto would otherwise switch
            # to 'mosquitto' and could not read the test's files or write its persistence.
            f"user {getpass.getuser()}",
            "per_listener_settings false",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            f"listener {self.port} {self.host}",
        ]
        if self.password_file is not None:
            lines.insert(0, f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.insert(0, f"acl_file {self.acl_file}")
        if self.tls is not None:
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.tls.cafile}",
                f"certfile {self.tls.certfile}",
                f"keyfile {self.tls.keyfile}",
                "tls_version tlsv1.2",
            ]
        if self.tls is not None and self.mtls_port:
            lines += [
                f"listener {self.mtls_port} {self.host}",
                f"cafile {self.tls.cafile}",
                f"certfile {self.tls.certfile}",
                f"keyfile {self.tls.keyfile}",
                "tls_version tlsv1.2",
                "require_certificate true",
            ]
        lines += self.extra_config
        self.config_path.write_text("\n".join(lines) + "\n")
        return self.config_path

    def start(self, timeout: float = 10.0) -> Broker:
        """Start the broker and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.write_config()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it while it runs
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for_port(self.port, self.host, timeout)
            for port in (self.tls_port, self.mtls_port):
                if port:
                    wait_for_port(port, self.host, timeout)
        except TimeoutError as err:
            self.kill()
            raise RuntimeError(f"mosquitto did not start: {self.log_text()[-2000:]}") from err
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM): Mosquitto writes its persistence file first."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """kill -9: no persistence write, no goodbye to clients."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(10)

    def restart(self, *, hard: bool = False, down_for: float = 0.0) -> Broker:
        """Stop (or kill -9 when ``hard``), stay down ``down_for`` seconds, start again."""
        if hard:
            self.kill()
        else:
            self.stop()
        if down_for:
            time.sleep(down_for)
        return self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """What the broker logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"
