"""Fault detection latency under national steady load, beside a baseline from the same run.

Load: 1,000,000 cameras on 15,600 sites over every DOPA district, a steady stream of
committed transitions (``--rate`` per second, default 300: failures with their reasons,
recoveries of failed cameras, and now and then a whole site lost and back), handed to
:meth:`FaultService.on_applied` the way ingest does after each commit (``--batch-ms``).

Measured: detection latency = ``on_applied`` (batch committed) -> alert handed to the
channel (MQTT publish to a real Mosquitto, webhook delivery written to the durable log),
per opened camera fault, p50/p99, with the grouping window at 0 (grouping deliberately adds
``group_window_s`` on top in production). Baseline: handing a pre-built notification to the
same two channels (one MQTT publish + one delivery-log insert), p50/p99, in the same run.
Also printed: the engine alone (no I/O) replaying transitions, in transitions per second.

    .venv/bin/python bench/faults_bench.py [--seconds 20] [--rate 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.faults.dispatcher import Notification  # noqa: E402
from aggregator.faults.model import FaultKind, FaultRules  # noqa: E402
from aggregator.faults.routing import Channel, RouteSpec  # noqa: E402
from aggregator.faults.rules import FaultEngine  # noqa: E402
from aggregator.faults.service import FaultService  # noqa: E402
from aggregator.geography import Geography, load_geography  # noqa: E402
from aggregator.notify.settings import MqttAlertSettings, NotifySettings  # noqa: E402
from aggregator.schema import open_db  # noqa: E402
from aggregator.store.state import ApplyResult, Transition  # noqa: E402
from protocol import AlertAction, CameraState, Reason  # noqa: E402
from tests.rig.http_sink import WebhookSink  # noqa: E402
from tests.rig.mosquitto import Broker  # noqa: E402

CAMERAS = 1_000_000
SITES = 15_600
SECRET = "a-webhook-secret-of-32-characters"
FAIL_REASONS = [Reason.UNREACHABLE, Reason.STREAM_FAILED, Reason.FROZEN, Reason.NO_VIDEO, Reason.BLURRED,
                Reason.OBSTRUCTED, Reason.AUTH_FAILED]  # fmt: skip


class Fleet:
    """Where every camera and site is, and which cameras are failing now."""

    def __init__(self, districts: list[str], seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.site_district = [districts[i % len(districts)] for i in range(SITES)]
        self.failing: set[int] = set()
        self.sites_down: set[int] = set()

    def camera(self, i: int) -> tuple[str, str, str, str]:
        s = i * SITES // CAMERAS
        d = self.site_district[s]
        return f"cam{i:07d}", f"site{s:05d}", d[:2], d

    def batch(self, n: int, at: datetime) -> list[Transition]:
        out = []
        for _ in range(n):
            roll = self.rng.random()
            if roll < 0.002:  # a site lost, or one lost earlier back
                s = self.rng.randrange(SITES)
                d = self.site_district[s]
                back = s in self.sites_down
                (self.sites_down.discard if back else self.sites_down.add)(s)
                new = CameraState.UP if back else CameraState.UNKNOWN
                reason = Reason.NONE if back else Reason.SITE_OFFLINE
                out.append(Transition(f"site{s:05d}", d[:2], d, None, None, new, reason, at, False))
            elif roll < 0.5 and self.failing:  # a failed camera recovers
                i = self.failing.pop()
                cam, site, p, d = self.camera(i)
                out.append(Transition(site, p, d, cam, CameraState.DOWN, CameraState.UP, Reason.NONE, at, False))
            else:
                i = self.rng.randrange(CAMERAS)
                self.failing.add(i)
                cam, site, p, d = self.camera(i)
                state = CameraState.DEGRADED if self.rng.random() < 0.4 else CameraState.DOWN
                reason = self.rng.choice(FAIL_REASONS)
                out.append(Transition(site, p, d, cam, CameraState.UP, state, reason, at, False))
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def run_service(args: argparse.Namespace, workdir: Path, districts: list[str]) -> dict[str, object]:
    broker = Broker(workdir=workdir / "mosquitto").start()
    sink = WebhookSink(SECRET).start()
    path = workdir / "bench.db"
    load_geography(open_db(path))
    committed: dict[str, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()

    def handed(note: Notification, channel: str, at: datetime) -> None:
        if channel != "mqtt" or note.action is not AlertAction.OPENED:
            return
        now = time.perf_counter()
        with lock:
            for alert in note.alerts:
                if alert.camera_id and (t0 := committed.pop(alert.camera_id, None)) is not None:
                    latencies.append(now - t0)

    settings = NotifySettings(group_window_s=0, tick_s=1.0,
                              mqtt=MqttAlertSettings(port=broker.port, client_id="faults-bench"))  # fmt: skip
    svc = FaultService(lambda: open_db(path), settings=settings, on_handoff=handed)
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET), datetime.now(UTC))
    svc.start()
    fleet = Fleet(districts)
    per_batch = max(1, round(args.rate * args.batch_ms / 1000))
    sent = 0
    start = time.perf_counter()
    try:
        next_at = start
        while time.perf_counter() - start < args.seconds:
            batch = fleet.batch(per_batch, datetime.now(UTC))
            t0 = time.perf_counter()
            with lock:
                for tr in batch:
                    if tr.camera_id and tr.new_state is not CameraState.UP:
                        committed[tr.camera_id] = t0
            svc.on_applied(ApplyResult(transitions=batch))
            sent += len(batch)
            next_at += args.batch_ms / 1000
            time.sleep(max(0.0, next_at - time.perf_counter()))
        elapsed = time.perf_counter() - start
        drain = time.perf_counter()
        while svc._queue.qsize() and time.perf_counter() - drain < 30:  # let the worker finish
            time.sleep(0.05)
        time.sleep(1.0)
        opened = svc.store.count(__import__("aggregator.faults.store", fromlist=["FaultFilter"]).FaultFilter())
        return {
            "transitions": sent,
            "rate": sent / elapsed,
            "latencies": latencies,
            "faults": opened,
            "deliveries": len(svc.deliveries.list(limit=1_000_000)),
            "mqtt": svc.mqtt.published if svc.mqtt else 0,
        }
    finally:
        svc.stop()
        sink.stop()
        broker.kill()


def run_baseline(workdir: Path, n: int) -> list[float]:
    """Hand pre-built notifications to the same channels: one MQTT publish + one log insert each."""
    broker = Broker(workdir=workdir / "mosquitto-base").start()
    path = workdir / "base.db"
    load_geography(open_db(path))
    settings = NotifySettings(mqtt=MqttAlertSettings(port=broker.port, client_id="faults-base"))
    svc = FaultService(lambda: open_db(path), settings=settings)
    assert svc.mqtt is not None
    svc.mqtt.start()
    engine = FaultEngine()
    now = datetime.now(UTC)
    notes = []
    for i in range(n):
        tr = Transition("site00001", "10", "1001", f"cam{i}", CameraState.UP, CameraState.DOWN, Reason.FROZEN, now, False)
        fault = engine.process([tr], now)[0].fault
        notes.append(svc.dispatcher._alert(fault, AlertAction.OPENED, now))
    times = []
    try:
        for alert in notes:
            t0 = time.perf_counter()
            svc.mqtt.publish(alert, ["1001"])
            svc.deliveries.enqueue(key=uuid.uuid4().hex, channel="webhook", route_id=1, recipient="http://127.0.0.1:9/",
                                   payload=alert.model_dump(mode="json"), now=now, province="10")  # fmt: skip
            times.append(time.perf_counter() - t0)
    finally:
        svc.stop()
        broker.kill()
    return times


def run_engine_only(districts: list[str], n: int) -> float:
    fleet = Fleet(districts, seed=11)
    at = datetime(2026, 11, 25, tzinfo=UTC)
    batches = [fleet.batch(1000, at + timedelta(seconds=i)) for i in range(n // 1000)]
    engine = FaultEngine(FaultRules())
    t0 = time.perf_counter()
    for i, batch in enumerate(batches):
        engine.process(batch, at + timedelta(seconds=i))
    elapsed = time.perf_counter() - t0
    assert any(f.kind is FaultKind.CAMERA for f in engine.active())
    return n / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=300.0, help="transitions per second")
    parser.add_argument("--batch-ms", type=float, default=100.0, help="ingest commit interval")
    args = parser.parse_args()
    districts = sorted(Geography.from_geothai().districts)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        engine_rate = run_engine_only(districts, 200_000)
        result = run_service(args, workdir, districts)
        base = run_baseline(workdir, 2000)
    lat = [x * 1000 for x in result["latencies"]]  # type: ignore[union-attr]
    base_ms = [x * 1000 for x in base]
    print(f"national load: {CAMERAS:,} cameras, {SITES:,} sites, {len(districts)} districts")
    print(f"offered {result['transitions']:,} transitions at {result['rate']:.0f}/s in {args.batch_ms:.0f} ms batches;"
          f" {result['faults']:,} faults, {result['mqtt']:,} MQTT alerts, {result['deliveries']:,} webhook deliveries")
    print(f"engine alone (no I/O): {engine_rate:,.0f} transitions/s")
    print(f"detection latency (committed -> handed to channel), {len(lat):,} opened camera faults:"
          f" p50 {statistics.median(lat):.2f} ms, p99 {pct(lat, 0.99):.2f} ms")
    print(f"baseline (hand a pre-built alert to MQTT + delivery log), {len(base_ms):,} alerts:"
          f" p50 {statistics.median(base_ms):.3f} ms, p99 {pct(base_ms, 0.99):.3f} ms")
    print(f"ratio detection/baseline: p50 {statistics.median(lat) / statistics.median(base_ms):.1f}x,"
          f" p99 {pct(lat, 0.99) / pct(base_ms, 0.99):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
