"""A simulated national fleet for the demo: real agent publishing code, simulated checks.

Each simulated site is one real :class:`agent.outbox.Outbox` plus one real
:class:`agent.publisher.Publisher` (birth, will, events, heartbeats, acks over MQTT), so the
aggregator sees exactly what real agents send. Only the checks are simulated: cameras fail
and recover at random (each province has its own failure rate, so the national map has
colour), a few cameras flap, and :meth:`Fleet.power_cut` kills one site's process outright
so the broker publishes its will (a real death, not a clean disconnect).

Run one site on its own (what :meth:`Fleet.power_cut` kills)::

    python -m deploy.demo.fleet site --site S --province 10 --district 1001 --port 1883 --outbox /tmp/o.db
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.outbox import Outbox
from agent.publisher import Publisher, PublisherSettings
from agent.sun import is_dark
from protocol import BirthCamera, CameraInventory, CameraState, Reason, SiteInfo
from tests.rig.signals import SignalFlag

__all__ = ["Fleet", "SimChange", "SimSite", "plan_fleet"]

logger = logging.getLogger(__name__)

DOWN_REASONS = (Reason.UNREACHABLE, Reason.STREAM_FAILED, Reason.AUTH_FAILED)
DEGRADED_REASONS = (Reason.NO_VIDEO, Reason.FROZEN, Reason.BLURRED, Reason.OBSTRUCTED)
# issue 16 (i16b): past faults that began after dark are often night-only (IR dead or black).
NIGHT_REASONS = (Reason.NIGHT_NO_IR, Reason.NIGHT_BLACK)
THAILAND = (13.75, 100.5)  # dusk in Bangkok, for the whole simulated fleet
MAKERS = (("Hikvision", "DS-2CD2143G2-I"), ("Dahua", "IPC-HFW2431S"), ("Uniview", "IPC2124LB"), ("Axis", "P1455-LE"))
# Mean seconds a fault lasts in the demo: short, so an operator watching sees recoveries.
MEAN_REPAIR_S = 90.0
# Heartbeat and keepalive of simulated sites: short so a silent or dead site shows quickly.
HEARTBEAT_S = 15.0
KEEPALIVE_S = 10


@dataclass(frozen=True, slots=True)
class SimChange:
    """A state change shaped like the agent's StateChange (what Outbox.record reads)."""

    camera_id: str
    state: CameraState
    reason: Reason
    at: datetime
    details: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    previous: CameraState = CameraState.UP


@dataclass(frozen=True, slots=True)
class SimSite:
    """One simulated site: where it is and its cameras."""

    site_id: str
    province: str
    district: str
    name: str
    cameras: tuple[str, ...]
    failure_rate: float  # per camera per second


def plan_fleet(
    districts: Sequence[tuple[str, str]], sites: int, cameras: tuple[int, int], seed: int = 7
) -> list[SimSite]:
    """Spread ``sites`` over the provinces of ``districts`` ((province, district) pairs):
    every province gets a site before any gets a second one."""
    rng = random.Random(seed)
    by_province: dict[str, list[str]] = {}
    for province, district in districts:
        by_province.setdefault(province, []).append(district)
    provinces = sorted(by_province)
    # Steady-state share of failed cameras = rate * repair time: 0.5 % to 15 % by province.
    rates = {p: rng.uniform(0.005, 0.15) / MEAN_REPAIR_S for p in provinces}
    out: list[SimSite] = []
    for i in range(sites):
        province = provinces[i % len(provinces)]
        district = rng.choice(by_province[province])
        n = rng.randint(*cameras)
        site_id = f"demo-{province}-{i // len(provinces) + 1:02d}"
        cams = tuple(f"{site_id}-cam{j:02d}" for j in range(n))
        out.append(SimSite(site_id, province, district, f"Demo site {site_id}", cams, rates[province]))
    return out


class SimulatedSite:
    """One site's outbox + publisher in this process, and its cameras' simulated states."""

    def __init__(self, site: SimSite, host: str, port: int, workdir: Path, rng: random.Random, *,
                 jitter_s: float = 5.0, heartbeat_s: float = HEARTBEAT_S, history_days: int = 0) -> None:  # fmt: skip
        self.site = site
        self.rng = rng
        self.outbox = Outbox(workdir / f"{site.site_id}.outbox.sqlite3")
        self.lock = threading.Lock()
        self.states: dict[str, BirthCamera] = {}
        self.repair_at: dict[str, float] = {}
        now = datetime.now(UTC)
        share = site.failure_rate * MEAN_REPAIR_S
        for i, cam in enumerate(site.cameras):
            maker, model = MAKERS[(hash(cam) >> 3) % len(MAKERS)]
            inventory = CameraInventory(
                maker=maker, model=model, firmware="5.7.3", serial=cam.upper().replace("-", ""),
                address=f"10.{int(site.province)}.{i // 200}.{i % 200 + 20}", width=1920, height=1080, fps=25.0,
                codec="H264",
            )  # fmt: skip
            state, reason = CameraState.UP, Reason.NONE
            if rng.random() < share:
                state, reason = self._fault()
                self.repair_at[cam] = time.monotonic() + rng.expovariate(1 / MEAN_REPAIR_S)
            self.states[cam] = BirthCamera(
                camera_id=cam, name=f"Camera {i + 1}", inventory=inventory, state=state, reason=reason,
                since=now - timedelta(days=30 if state is CameraState.UP else 0, seconds=rng.uniform(0, 3600)),
            )  # fmt: skip
        if history_days:
            self._history(history_days, now)
        settings = PublisherSettings(
            site=site.site_id, province=site.province, district=site.district, host=host, port=port, tls=False,
            heartbeat_interval_s=heartbeat_s, keepalive_s=KEEPALIVE_S, jitter_s=jitter_s, reconnect_max_s=10,
        )  # fmt: skip
        self.publisher = Publisher(settings, self.outbox, snapshot=self.snapshot,
                                   site_info=SiteInfo(name=site.name, agency="Demo agency"))

    def _history(self, days: int, now: datetime) -> None:
        """Record past outages (before each camera's current state) in the outbox: they reach the
        centre after the birth as replayed history, so 24 h / 7 d / 30 d figures and the daily
        bars have something to show. Worse provinces had more and longer outages."""
        share = self.site.failure_rate * MEAN_REPAIR_S  # 0.005 .. 0.15
        start = now - timedelta(days=days)
        for cam, birth in self.states.items():
            t = start
            # an up camera's history runs to now (backfilled inside its current run); a failed one's
            # ends before its current failure began
            end = now - timedelta(minutes=10) if birth.state is CameraState.UP else birth.since - timedelta(minutes=1)
            changes: list[SimChange] = []
            while True:
                t += timedelta(days=self.rng.expovariate(share * 20 / days))  # ~share*20 outages a month
                back = t + timedelta(hours=self.rng.expovariate(1 / (1 + 20 * share)))
                if back >= end:
                    break
                state, reason = self._fault()
                if state is CameraState.DEGRADED and is_dark(t, *THAILAND) and self.rng.random() < 0.5:
                    reason = self.rng.choice(NIGHT_REASONS)  # issue 16: cameras that fail after dark
                changes.append(SimChange(cam, state, reason, t, {"simulated": True}, CameraState.UP))
                changes.append(SimChange(cam, CameraState.UP, Reason.NONE, back, {"simulated": True}, state))
                t = back
            for change in changes:
                self.outbox.record(change)

    def _fault(self) -> tuple[CameraState, Reason]:
        if self.rng.random() < 0.6:
            return CameraState.DOWN, self.rng.choice(DOWN_REASONS)
        return CameraState.DEGRADED, self.rng.choice(DEGRADED_REASONS)

    def snapshot(self) -> list[BirthCamera]:
        """The site's current camera states (births and heartbeats)."""
        with self.lock:
            return list(self.states.values())

    def set(self, cam: str, state: CameraState, reason: Reason) -> None:
        """Record a simulated confirmed change in the real outbox and wake the publisher."""
        at = datetime.now(UTC)
        with self.lock:
            previous = self.states[cam]
            if previous.state is state and previous.reason is reason:
                return
            self.states[cam] = previous.model_copy(update={"state": state, "reason": reason, "since": at})
        self.outbox.record(SimChange(cam, state, reason, at, {"simulated": True}, previous.state))
        self.publisher.notify()

    def tick(self, dt: float, flapping: set[str]) -> int:
        """Advance the simulation by ``dt`` seconds; return how many changes it made."""
        changes = 0
        now = time.monotonic()
        for cam in self.site.cameras:
            current = self.states[cam].state
            if cam in flapping:
                if self.rng.random() < dt / 8.0:  # flips about every 8 s
                    up = current is not CameraState.UP
                    self.set(cam, CameraState.UP if up else CameraState.DOWN, Reason.NONE if up else Reason.UNREACHABLE)
                    changes += 1
            elif current is CameraState.UP:
                if self.rng.random() < self.site.failure_rate * dt:
                    self.set(cam, *self._fault())
                    self.repair_at[cam] = now + self.rng.expovariate(1 / MEAN_REPAIR_S)
                    changes += 1
            elif now >= self.repair_at.get(cam, 0.0):
                self.set(cam, CameraState.UP, Reason.NONE)
                changes += 1
        return changes

    def start(self) -> None:
        """Connect (after the publisher's jitter) and start publishing."""
        self.publisher.start()

    def stop(self) -> None:
        """Disconnect cleanly and close the outbox."""
        self.publisher.stop()
        self.outbox.close()


class Fleet:
    """Every simulated site, one ticking thread, and the power-cut site's own process."""

    def __init__(self, sites: Sequence[SimSite], host: str, port: int, workdir: Path, *,
                 seed: int = 11, tick_s: float = 1.0, flapping: int = 6, history_days: int = 30) -> None:  # fmt: skip
        self.host, self.port, self.workdir = host, port, workdir
        self.rng = random.Random(seed)
        self.tick_s = tick_s
        self.sites = [SimulatedSite(s, host, port, workdir, random.Random(seed + i), history_days=history_days)
                      for i, s in enumerate(sites)]  # fmt: skip
        everything = [c for s in sites for c in s.cameras]
        self.flapping = set(self.rng.sample(everything, min(flapping, len(everything))))
        self.changes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet", daemon=True)
        self._cut: subprocess.Popen[bytes] | None = None

    @property
    def cameras(self) -> int:
        """How many simulated cameras there are."""
        return sum(len(s.site.cameras) for s in self.sites)

    def start(self) -> None:
        """Connect every site and start the simulation."""
        for s in self.sites:
            s.start()
        self._thread.start()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.tick_s):
            now = time.monotonic()
            dt, last = now - last, now
            for s in self.sites:
                try:
                    self.changes += s.tick(dt, self.flapping)
                except Exception:  # a broken site must not stop the others
                    logger.exception("%s: simulation tick failed", s.site.site_id)

    def power_cut(self, site: SimSite, *, restore_after_s: float | None = None) -> None:
        """Run ``site`` in its own process, then SIGKILL it (the broker publishes its will);
        start it again after ``restore_after_s`` (None: stays dark)."""
        def run() -> None:
            self._cut = self._spawn(site)
            if self._stop.wait(45.0):
                return
            logger.warning("%s: power cut (agent process killed)", site.site_id)
            self._cut.kill()
            self._cut.wait()
            if restore_after_s is None or self._stop.wait(restore_after_s):
                return
            logger.warning("%s: power restored", site.site_id)
            self._cut = self._spawn(site)

        threading.Thread(target=run, name="power-cut", daemon=True).start()

    def _spawn(self, site: SimSite) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "deploy.demo.fleet", "site", "--site", site.site_id, "--province", site.province,
             "--district", site.district, "--port", str(self.port), "--host", self.host,
             "--cameras", str(len(site.cameras)), "--outbox", str(self.workdir / f"{site.site_id}.outbox.sqlite3")],
            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the simulation, disconnect every site, end the power-cut process."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        if self._cut is not None and self._cut.poll() is None:
            self._cut.terminate()
            try:
                self._cut.wait(10)
            except subprocess.TimeoutExpired:
                self._cut.kill()
        for s in self.sites:
            s.stop()


def _site_main(argv: Sequence[str]) -> int:
    """One simulated site as its own process (the one a power cut kills)."""
    p = argparse.ArgumentParser(prog="python -m deploy.demo.fleet site")
    p.add_argument("--site", required=True)
    p.add_argument("--province", required=True)
    p.add_argument("--district", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cameras", type=int, default=8)
    p.add_argument("--outbox", type=Path, required=True)
    args = p.parse_args(argv)
    spec = SimSite(args.site, args.province, args.district, f"Demo site {args.site}",
                   tuple(f"{args.site}-cam{j:02d}" for j in range(args.cameras)), 0.05 / MEAN_REPAIR_S)  # fmt: skip
    site = SimulatedSite(spec, args.host, args.port, args.outbox.parent, random.Random(5))
    stop = SignalFlag()  # never a threading.Event in a handler: it can deadlock
    signal.signal(signal.SIGTERM, stop.set)
    site.start()
    last = time.monotonic()
    while not stop.wait(1.0):
        now = time.monotonic()
        site.tick(now - last, set())
        last = now
    site.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "site":
        sys.exit(_site_main(sys.argv[2:]))
    sys.exit("usage: python -m deploy.demo.fleet site --site ... (see the module docstring)")
