"""Run the shipped commands (``python -m agent``, ``python -m aggregator``) as an operator would.

A command gets only an environment and files: :func:`operator_env` starts from the test's
environment with every ``CAMWATCH_*`` variable removed, so nothing set for another test (or
on the developer's shell) configures it by accident. Long-running commands are
:class:`Command` processes whose output goes to a log file the test shows when it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

__all__ = ["REPO", "Command", "operator_env", "poll", "run_command", "shipped_broker_lines",
           "start_command"]

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
# A one-shot command (enrol-site, create-token) imports the aggregator and touches SQLite:
# about a second; the margin is for a loaded 2-core machine.
ONE_SHOT_TIMEOUT_S = 60.0
# A clean shutdown: the agent publishes its death, the aggregator flushes its state.
STOP_TIMEOUT_S = 30.0


def operator_env(**variables: str) -> dict[str, str]:
    """The test's environment without any CAMWATCH_* variable, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(variables)
    return env


def shipped_broker_lines(*directives: str) -> list[str]:
    """The lines of the production broker config (deploy/mosquitto) that set ``directives``."""
    text = (REPO / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip().split(" ", 1)[0] in directives]
    assert {line.split(" ", 1)[0] for line in lines} == set(directives), f"not all of {directives} are shipped"
    return lines


def run_command(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` to completion and return what it printed."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=ONE_SHOT_TIMEOUT_S)  # fmt: skip


@dataclass
class Command:
    """One long-running shipped command; output in ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """What the command wrote so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, as systemd stops a service; the exit code, or None when it had to be killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the command and everything it started."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start_command(name: str, module: str, *args: str, env: dict[str, str], log: Path) -> Command:
    """Start ``python -m module args`` in its own session, output to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    return Command(name, process, log)


def poll(probe: Callable[[], T | None], *, timeout: float, what: str, commands: tuple[Command, ...] = ()) -> T:
    """Call ``probe`` until it returns something truthy; fail with the commands' output after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        for command in commands:
            if command.process.poll() is not None:
                pytest.fail(f"{command.name} exited ({command.process.returncode}) while waiting for {what}:\n"
                            f"{command.output()[-4000:]}")  # fmt: skip
        time.sleep(0.2)
    tails = "\n".join(f"--- {c.name} ---\n{c.output()[-4000:]}" for c in commands)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tails}")
