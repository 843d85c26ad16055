"""Night vision and stream drift against the real rig (issue 16).

Night: the rig's ``daynight-*`` mounts show the moving street by day and black / sensor
noise by night; the test moves the agent's clock (and the site) and the scene together.
Drift: the ipycam ONVIF simulator declares 20 fps for the rig's 10 fps stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, parse_config
from agent.models import PrintSink, ProbeResult
from agent.runner import Runner
from protocol import CameraState, Reason
from tests.integration.conftest_agent_checks import FAST_CHECKS, camera
from tests.rig.onvif_sim import SimOptions, loopback_block, start_camera
from tests.rig.rtsp_server import RtspServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DAY = datetime(2024, 12, 31, 5, 0, tzinfo=UTC)  # 12:00 in Bangkok
NIGHT = datetime(2024, 12, 31, 15, 0, tzinfo=UTC)  # 22:00 in Bangkok, 09:00 in Mexico City
BANGKOK = {"lat": 13.75, "lon": 100.5}
MEXICO = {"lat": 19.4, "lon": -99.1}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    server = RtspServer(workdir=tmp_path_factory.mktemp("rtsp"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Clock:
    """The agent's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def config(tmp_path: Path, cameras: list[dict[str, Any]], site: dict[str, float], **checks: Any) -> AgentConfig:
    return parse_config({
        "site": {"site_id": "bkk-night", "province": "10", "district": "1001", **site},
        "cameras": cameras, "checks": {**FAST_CHECKS, **checks}, "state_dir": str(tmp_path / "state"),
    })


def cycles(runner: Runner, n: int) -> list[list[ProbeResult]]:
    async def go() -> list[list[ProbeResult]]:
        return [await runner.check_all() for _ in range(n)]
    return asyncio.run(go())


def test_fine_by_day_blind_at_night(rig: RtspServer, tmp_path: Path) -> None:
    cams = [camera("ir-dead", rig.uri("daynight-noise")), camera("no-light", rig.uri("daynight-black"))]
    clock = Clock(DAY)
    runner = Runner(config(tmp_path, cams, BANGKOK), None, PrintSink(), clock=clock, inventory=None)
    rig.set_scene("day")
    by_day = cycles(runner, 2)[-1]
    assert [(r.state, r.reason) for r in by_day] == [(CameraState.UP, Reason.NONE)] * 2
    rig.set_scene("night")
    clock.at = NIGHT
    at_night = cycles(runner, 2)[-1]
    assert [(r.state, r.reason) for r in at_night] == [
        (CameraState.DEGRADED, Reason.NIGHT_NO_IR), (CameraState.DEGRADED, Reason.NIGHT_BLACK)]
    assert "fine by day" in at_night[0].message
    assert {c.camera_id: c.reason for c in runner.sink.changes if c.state is CameraState.DEGRADED} == {  # type: ignore[attr-defined]
        "ir-dead": Reason.NIGHT_NO_IR, "no-light": Reason.NIGHT_BLACK}
    # The same picture at the same instant where it is morning (the site moved to Mexico
    # City): it is no night fault there, only what the day's checks make of it (black is
    # no_video; this noise passes the day checks of a camera without a scene reference).
    day_there = Runner(config(tmp_path / "mx", cams, MEXICO), None, PrintSink(), clock=clock, inventory=None)
    seen = cycles(day_there, 1)[-1]
    assert seen[1].reason is Reason.NO_VIDEO
    assert seen[0].reason not in (Reason.NIGHT_NO_IR, Reason.NIGHT_BLACK)
    rig.set_scene("day")


def test_half_the_profile_frame_rate_is_low_fps(rig: RtspServer, tmp_path: Path) -> None:
    host = loopback_block(1)[0]
    sim = start_camera(SimOptions(host=host, stream_urls=[rig.uri("moving")], profile_fps=20))
    try:
        cams = [{"id": "slow", "address": host, "onvif_port": sim.port, "stream_uri": rig.uri("moving")}]
        # Bit rate sampled every check: the rig's ~200 kbit/s against the profile's 256 is fine.
        runner = Runner(config(tmp_path, cams, BANGKOK, drift={"window": 3, "bitrate_every": 1}), None,
                        PrintSink(), clock=Clock(DAY))

        async def go() -> list[ProbeResult]:
            assert await runner.refresh_inventory() == 1
            return [(await runner.check_all())[0] for _ in range(4)]

        results = asyncio.run(go())
    finally:
        sim.stop()
    assert runner.inventory["slow"].fps == 20.0 and runner.inventory["slow"].bitrate_kbps == 256
    assert [r.reason for r in results[:2]] == [Reason.NONE, Reason.NONE]  # the window fills first
    assert [(r.state, r.reason) for r in results[2:]] == [(CameraState.DEGRADED, Reason.LOW_FPS)] * 2
    assert "configured 20 fps" in results[-1].message
    kbps = results[-1].details["kbps"]
    assert isinstance(kbps, float) and 100 < kbps < 400
    assert runner.health.get("slow").reason is Reason.LOW_FPS


def test_replaced_camera_is_replaced_in_the_audit_register(rig: RtspServer, tmp_path: Path) -> None:
    """The camera at one address is swapped for another unit (new serial): the agent re-reads
    it, asks for a fresh birth, and the centre's register audit classes it ``replaced``."""
    from aggregator.audit.register import import_register
    from aggregator.audit.store import run_reconcile
    from aggregator.geography import load_geography
    from aggregator.schema import open_db
    from aggregator.store.state import Inbound, StateStore
    from protocol import Birth, Kind, SiteInfo, SiteTopic

    host = loopback_block(1)[0]
    first = start_camera(SimOptions(host=host, serial="HK-OLD-1", stream_urls=[rig.uri("moving")]))
    port = first.port
    cams = [{"id": "gate", "address": host, "onvif_port": port, "stream_uri": rig.uri("moving")}]
    runner = Runner(config(tmp_path, cams, BANGKOK), None, PrintSink(), clock=Clock(DAY))
    births: list[int] = []
    runner.on_identity_change = lambda: births.append(1)
    db = open_db(tmp_path / "centre.sqlite3")
    store = StateStore(db, load_geography(db), start=DAY)

    def send_birth(bd: int) -> None:
        store.apply([Inbound(SiteTopic("10", "1001", "bkk-night", Kind.BIRTH), Birth(
            site="bkk-night", ts=DAY, bd_seq=bd, cameras=runner.current_snapshot(),
            site_info=SiteInfo(lat=BANGKOK["lat"], lon=BANGKOK["lon"])), DAY)])
        store.flush_state()

    try:
        assert asyncio.run(runner.refresh_inventory()) == 1
        send_birth(0)
        first.stop()
        second = start_camera(SimOptions(host=host, port=port, serial="HK-NEW-2", stream_urls=[rig.uri("moving")]))
        try:
            asyncio.run(runner.refresh_inventory())
        finally:
            second.stop()
    finally:
        first.stop()
    assert births == [1] and runner.inventory["gate"].serial == "HK-NEW-2"
    send_birth(1)
    register = tmp_path / "register.csv"
    register.write_text("Register ID,จังหวัด,อำเภอ,Location,Latitude,Longitude,Serial,สถานะ\n"
                        f"BKK-G1,กรุงเทพมหานคร,พระนคร,Gate,{BANGKOK['lat']},{BANGKOK['lon']},,ใช้งานได้\n",
                        encoding="utf-8")
    import_register(db, register)
    run_reconcile(db)
    klass, note = db.execute("SELECT klass, note FROM audit_current_matches").fetchone()
    db.close()
    assert klass == "replaced" and "HK-OLD-1 -> HK-NEW-2" in note


def test_shipped_check_command_names_the_night_fault(rig: RtspServer, tmp_path: Path) -> None:
    """``python -m agent check`` on the test's pinned clock (tests/rig/pinned.py): a camera
    showing only noise is night_no_ir at 22:00 in Bangkok (a one-shot check has not seen it
    by day, and says so; the same camera by day: test_fine_by_day_blind_at_night)."""
    import subprocess
    import sys

    import yaml

    from tests.clock import child_environ, travel
    from tests.rig.shipped import REPO

    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump({
        "site": {"site_id": "bkk-night", "province": "10", "district": "1001", **BANGKOK},
        "cameras": [camera("yard", rig.uri("daynight-noise"))], "checks": FAST_CHECKS,
        "state_dir": str(tmp_path / "state")}))

    def check(at: datetime, scene: str) -> subprocess.CompletedProcess[str]:
        rig.set_scene(scene)
        with travel(at):
            env = child_environ()
        return subprocess.run([sys.executable, "-m", "tests.rig.pinned", "agent", "-c", str(path), "check"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=60)

    at_night = check(NIGHT, "night")
    rig.set_scene("day")
    assert at_night.returncode == 1, at_night.stdout + at_night.stderr
    line = next(x for x in at_night.stdout.splitlines() if x.startswith("yard"))
    assert "night_no_ir" in line and "not yet seen by day" in line
