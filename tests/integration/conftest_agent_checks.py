"""Helpers for the agent-checks integration tests: configs pointing at the RTSP rig."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, Credential, Secrets, parse_config
from agent.models import PrintSink, ProbeResult
from agent.probes import OnvifChecker, Prober
from agent.references import ReferenceStore
from agent.runner import Runner

# Short timeouts and intervals: the rig answers in well under a second on loopback.
FAST_CHECKS: dict[str, Any] = {
    "interval_s": 1.0, "jitter_s": 0.0, "concurrency": 4, "tcp_timeout_s": 1.0,
    "onvif_timeout_s": 3.0, "rtsp_open_timeout_s": 6.0, "rtsp_read_timeout_s": 2.0,
    "snapshot_timeout_s": 2.0, "burst_frames": 5,
}


def camera(cam_id: str, uri: str, **extra: Any) -> dict[str, Any]:
    """A camera entry for ``uri`` (no ONVIF unless given)."""
    return {"id": cam_id, "address": "127.0.0.1", "onvif_port": None, "stream_uri": uri, **extra}


def make_config(tmp_path: Path, cameras: list[dict[str, Any]], **checks: Any) -> AgentConfig:
    """A config for the site bkk-test with FAST_CHECKS (overridable) and state in tmp_path."""
    return parse_config({
        "site": {"site_id": "bkk-test", "province": "10", "district": "1001"},
        "cameras": cameras,
        "checks": {**FAST_CHECKS, **checks},
        "state_dir": str(tmp_path / "state"),
    })


def secrets(**sets: tuple[str, str]) -> Secrets:
    """Secrets with the given named (user, password) sets, tried in that order."""
    return Secrets(
        credentials={name: Credential.model_validate({"username": u, "password": p})
                     for name, (u, p) in sets.items()},
        try_order=list(sets),
    )


def make_runner(config: AgentConfig, creds: Secrets | None = None,
                onvif: OnvifChecker | None = None) -> tuple[Runner, PrintSink]:
    """A runner with a PrintSink; ONVIF off unless a checker is given."""
    sink = PrintSink()
    prober = Prober(config.checks, references=ReferenceStore(config.state_dir / "references"), onvif=onvif)
    return Runner(config, creds, sink, prober=prober), sink


def cycles(runner: Runner, n: int) -> list[list[ProbeResult]]:
    """Run ``n`` full check cycles in one event loop; return each cycle's results."""
    async def go() -> list[list[ProbeResult]]:
        return [await runner.check_all() for _ in range(n)]
    return asyncio.run(go())
