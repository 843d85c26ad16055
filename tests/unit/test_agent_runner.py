"""Runner scheduling with a fake prober (issue 3): a hung camera never delays the others,
stop is immediate, snapshots are valid birth cameras, a failing sink never stops checks."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.config import CameraConfig, Credential, parse_config
from agent.models import PrintSink, ProbeResult, StateChange
from agent.runner import Runner
from protocol import BirthCamera, CameraState, Reason
from tests.clock import PINNED

pytestmark = pytest.mark.timeout(30)


class FakeProber:
    """Answers UP at once, except for cameras named 'hung*' which never answer."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.cancelled: Counter[str] = Counter()

    async def probe(self, camera: CameraConfig, credentials: Any = ()) -> ProbeResult:
        self.calls[camera.id] += 1
        if camera.id.startswith("hung"):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled[camera.id] += 1
                raise
        return ProbeResult(camera.id, PINNED, CameraState.UP, Reason.NONE, "ok", width=320,
                           height=240, fps=10.0)


def config(tmp_path: Path, ids: list[str], **checks: Any) -> Any:
    return parse_config({
        "site": {"site_id": "s1", "province": "10", "district": "1001"},
        "state_dir": str(tmp_path),
        "checks": {"interval_s": 1, "jitter_s": 0.05, "concurrency": 2, **checks},
        "health": {"confirm_up": 1, "confirm_down": 2},
        "cameras": [{"id": i, "address": "10.0.0.1", "stream_uri": f"rtsp://10.0.0.1/{i}"} for i in ids],
    })


def test_hung_camera_never_delays_others_and_stop_is_clean(tmp_path: Path) -> None:
    cfg = config(tmp_path, ["hung1", "a", "b", "c"], interval_s=1)
    prober = FakeProber()
    sink = PrintSink()
    runner = Runner(cfg, None, sink, prober=prober, deadline_s=0.3, inventory=None)  # type: ignore[arg-type]
    stop = asyncio.Event()
    seen: Counter[str] = Counter()

    def on_result(result: ProbeResult) -> None:
        seen[result.camera_id] += 1
        if seen["hung1"] >= 2:
            stop.set()

    runner.on_result = on_result
    asyncio.run(runner.run(stop))
    # the hung camera went down after its deadline twice; the others were checked meanwhile
    assert runner.health.get("hung1").state is CameraState.DOWN
    assert runner.last["hung1"].reason is Reason.STREAM_FAILED
    assert all(seen[c] >= 2 for c in "abc"), seen
    assert prober.cancelled["hung1"] == 2
    assert {c.camera_id: c.state for c in sink.changes} == {
        "a": CameraState.UP, "b": CameraState.UP, "c": CameraState.UP, "hung1": CameraState.DOWN}


def test_stop_interrupts_the_wait_between_cycles(tmp_path: Path) -> None:
    cfg = config(tmp_path, ["a"], interval_s=3600, jitter_s=0)
    runner = Runner(cfg, None, PrintSink(), prober=FakeProber(), inventory=None)  # type: ignore[arg-type]
    stop = asyncio.Event()
    runner.on_result = lambda r: stop.set()
    asyncio.run(asyncio.wait_for(runner.run(stop), 10))  # an hour-long interval does not hold it
    assert runner.last["a"].state is CameraState.UP


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    cfg = config(tmp_path, [f"c{i}" for i in range(10)], concurrency=3)
    running = 0
    peak = 0

    class Counting(FakeProber):
        async def probe(self, camera: CameraConfig, credentials: Any = ()) -> ProbeResult:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1
            return await super().probe(camera, credentials)

    runner = Runner(cfg, None, PrintSink(), prober=Counting())  # type: ignore[arg-type]
    results = asyncio.run(runner.check_all())
    assert len(results) == 10 and peak == 3


def test_failing_sink_does_not_stop_checks_and_snapshot_is_valid(tmp_path: Path) -> None:
    class BrokenSink:
        def record(self, change: StateChange) -> None:
            raise OSError("disk full")

    cfg = config(tmp_path, ["a", "b"])
    runner = Runner(cfg, None, BrokenSink(), prober=FakeProber())  # type: ignore[arg-type]
    asyncio.run(runner.check_all())
    snapshot = runner.current_snapshot()
    assert [type(c) for c in snapshot] == [BirthCamera, BirthCamera]
    assert snapshot[0].state is CameraState.UP and snapshot[0].inventory.width == 320
    assert snapshot[0].inventory.address == "10.0.0.1"


def test_credentials_from_secrets_reach_the_prober(tmp_path: Path) -> None:
    from agent.config import Secrets

    got: list[Any] = []

    class Recording(FakeProber):
        async def probe(self, camera: CameraConfig, credentials: Any = ()) -> ProbeResult:
            got.append([c.username for c in credentials])
            return await super().probe(camera, credentials)

    secrets = Secrets(credentials={"x": Credential(username="admin")}, try_order=["x"])
    runner = Runner(config(tmp_path, ["a"]), secrets, PrintSink(), prober=Recording())  # type: ignore[arg-type]
    asyncio.run(runner.check_all())
    assert got == [["admin"]]


def test_snapshot_merges_onvif_inventory_with_measured_figures(tmp_path: Path) -> None:
    from protocol import CameraInventory

    asked: list[tuple[str, int, list[tuple[str, str]]]] = []

    async def reader(cam_id: str, address: str, port: int, source: str,
                     creds: Any) -> CameraInventory | None:
        asked.append((address, port, list(creds)))
        if cam_id == "b":
            return None  # unreadable: the birth still carries what was measured
        return CameraInventory(maker="Acme", model="X1", serial="SN1", firmware="5.1", width=1920,
                               fps=25.0)

    runner = Runner(config(tmp_path, ["a", "b"]), None, PrintSink(), prober=FakeProber(),  # type: ignore[arg-type]
                    inventory=reader)

    async def go() -> int:
        count = await runner.refresh_inventory()
        await runner.check_all()
        return count

    assert asyncio.run(go()) == 1
    assert asked == [("10.0.0.1", 80, []), ("10.0.0.1", 80, [])]
    a, b = runner.current_snapshot()
    assert (a.inventory.maker, a.inventory.serial, a.inventory.firmware) == ("Acme", "SN1", "5.1")
    assert a.inventory.width == 320 and a.inventory.fps == 10.0  # measured beats declared
    assert b.inventory.maker == "" and b.inventory.width == 320
