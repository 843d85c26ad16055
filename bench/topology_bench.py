"""Topology benchmark (issue 17): agent to national commit through one provincial bridge against
the direct path, in the same run, and the time an agent takes to fail over.

A rendered topology (``topology render``: province 50, national broker a; real Mosquitto, TLS, the
rendered bridge with ``cleansession false``) and the national ingest (the real consumer and
StateStore, SQLite WAL) subscribed on national a. For each path, alternately:

* **bridge**: sites publish on province 50's broker; the bridge carries them to national a;
* **direct**: the same payloads published on national a itself.

Per path it prints the median of the repeats of

* **statuses/s**: pre-encoded Events messages (after one birth per site) published at QoS 1 as
  fast as the broker takes them; the clock stops when ingest has committed the last event id of
  every site (it could acknowledge it);
* **latency p50/p99**: one-event messages at a paced rate well below capacity; for each event,
  from its publish call to the batch commit that contains it;

and the ratio bridge / direct. Then **failover**: one real agent (outbox + publisher, broker list
province 50 then national a) connected through province 50; its broker is killed (-9) and a state
change recorded at once; the time until that event is committed nationally through national a,
with ``--failover-after`` as the agent's ``broker.failover_after_s`` (the shipped default is 30 s).

    .venv/bin/python bench/topology_bench.py [--sites 20] [--events 20000] [--batch 20] [--repeats 3]
                                             [--latency-events 1000] [--failover-after 5]
"""

from __future__ import annotations

import argparse
import logging
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from protocol import (  # noqa: E402
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    encode,
    site_topic,
)
from tests.rig.topology import HOST, Topology, render_topology  # noqa: E402

PROVINCE, DISTRICT = "50", "5001"
CAMERAS = 10
DONE_TIMEOUT_S = 300.0
BENCH_USER, BENCH_PASSWORD = "bench-publisher", "bench-publisher-password"


class National:
    """The national ingest on national a, with commit times per (site, event id)."""

    def __init__(self, topo: Topology, workdir: Path, sites: list[str]) -> None:
        from aggregator.geography import load_geography
        from aggregator.ingest.consumer import Ingest, IngestSettings
        from aggregator.schema import open_db
        from aggregator.store import registry
        from aggregator.store.state import StateStore

        self.db = open_db(workdir / f"national-{time.monotonic_ns()}.db")
        geography = load_geography(self.db)
        with self.db.atomic():
            for site in sites:
                registry.insert_site(self.db, site, PROVINCE, DISTRICT, now_ms=int(time.time() * 1000))
        self.store = StateStore(self.db, geography)
        self.committed: dict[str, int] = {}
        self.waiters: list[tuple[Callable[[dict[str, int]], bool], threading.Event]] = []
        self.commit_times: list[tuple[float, dict[str, int]]] = []
        self.ingest = Ingest(IngestSettings(
            url=f"mqtts://{HOST}:{topo.port('national-a')}", username="aggregator",
            password=SecretStr(topo.secret("aggregator")), cafile=topo.ca.cafile,
            client_id=f"bench-national-{time.monotonic_ns()}", require_enrolled=False, reorder_window_s=0.5,
        ), self.db, self.store, listeners=[self._applied])  # fmt: skip
        self.ingest.start()
        deadline = time.monotonic() + 30
        while not self.ingest.connected:
            if time.monotonic() > deadline:
                raise RuntimeError("national ingest not connected")
            time.sleep(0.05)
        time.sleep(0.3)  # subscriptions in place

    def _applied(self, result: Any) -> None:
        now = time.perf_counter()
        if result.committed_event_ids:
            self.committed.update(result.committed_event_ids)
            self.commit_times.append((now, dict(result.committed_event_ids)))
        for check, event in self.waiters:
            if check(self.committed):
                event.set()

    def wait(self, check: Callable[[dict[str, int]], bool], what: str) -> None:
        event = threading.Event()
        self.waiters.append((check, event))
        if not check(self.committed) and not event.wait(DONE_TIMEOUT_S):
            raise RuntimeError(f"timed out: {what}")

    def stop(self) -> None:
        self.ingest.stop()


def _client(topo: Topology, broker: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.monotonic_ns()}")
    client.username_pw_set(BENCH_USER, BENCH_PASSWORD)
    client.tls_set_context(ssl.create_default_context(cafile=str(topo.ca.cafile)))
    client.max_inflight_messages_set(100)
    client.connect(HOST, topo.port(broker), keepalive=60)
    client.loop_start()
    return client


def _births(sites: list[str], now: datetime) -> list[tuple[str, bytes]]:
    t0 = now - timedelta(days=1)
    return [(site_topic(PROVINCE, DISTRICT, s, Kind.BIRTH), encode(Birth(site=s, ts=now, bd_seq=1, cameras=[
        BirthCamera(camera_id=f"{s}-c{i}", state=CameraState.UP, since=t0) for i in range(CAMERAS)]))) for s in sites]  # fmt: skip


def _events(site: str, first: int, count: int, seq: int, now: datetime) -> tuple[str, bytes]:
    t0 = now - timedelta(hours=12)
    evs = [Event(id=i, camera_id=f"{site}-c{i % CAMERAS}", at=t0 + timedelta(milliseconds=10 * i),
                 state=CameraState.DOWN if (i // CAMERAS) % 2 == 0 else CameraState.UP,
                 reason=Reason.UNREACHABLE if (i // CAMERAS) % 2 == 0 else Reason.NONE)
           for i in range(first, first + count)]  # fmt: skip
    return site_topic(PROVINCE, DISTRICT, site, Kind.EVENTS), encode(Events(site=site, ts=now, seq=seq % 256, events=evs))


def run_path(topo: Topology, workdir: Path, broker: str, sites: list[str], events: int, batch: int,
             latency_events: int) -> tuple[float, list[float]]:  # fmt: skip
    """(statuses/s, latencies in ms) of one path: publishing on ``broker``, committed nationally."""
    national = National(topo, workdir, sites)
    pub = _client(topo, broker)
    try:
        now = datetime.now(UTC)
        for info in [pub.publish(t, p, qos=1) for t, p in _births(sites, now)]:
            info.wait_for_publish(DONE_TIMEOUT_S)
        deadline = time.monotonic() + 60
        while national.db.execute("SELECT COUNT(*) FROM sites WHERE online = 1").fetchone()[0] < len(sites):
            if time.monotonic() > deadline:
                raise RuntimeError("births not committed")
            time.sleep(0.05)
        per_site = events // len(sites)
        messages = []
        for n, first in enumerate(range(1, per_site + 1, batch)):
            for site in sites:
                messages.append(_events(site, first, min(batch, per_site + 1 - first), n + 1, now))
        start = time.perf_counter()
        for info in [pub.publish(t, p, qos=1) for t, p in messages]:
            info.wait_for_publish(DONE_TIMEOUT_S)
        national.wait(lambda c: all(c.get(s, 0) >= per_site for s in sites), "every event committed")
        rate = per_site * len(sites) / (time.perf_counter() - start)
        # Latency: one event a message, paced (about 500 a second over all sites).
        sent: dict[tuple[str, int], float] = {}
        seq = len(messages) // len(sites) + 1
        for k in range(latency_events // len(sites)):
            for site in sites:
                event_id = per_site + 1 + k
                topic, payload = _events(site, event_id, 1, seq + k, now)
                sent[(site, event_id)] = time.perf_counter()
                pub.publish(topic, payload, qos=1)
            time.sleep(len(sites) / 500)
        last = per_site + latency_events // len(sites)
        national.wait(lambda c: all(c.get(s, 0) >= last for s in sites), "every paced event committed")
        latencies = []
        for (site, event_id), at in sent.items():
            done = next(t for t, ids in national.commit_times if ids.get(site, 0) >= event_id and t >= at)
            latencies.append((done - at) * 1000)
        return rate, latencies
    finally:
        pub.disconnect()
        pub.loop_stop()
        national.stop()


def run_failover(topo: Topology, workdir: Path, site: str, password: str, failover_after_s: float) -> float:
    """Seconds from the agent's broker killed (-9) to its next event committed via the fallback."""
    from agent.outbox import Outbox
    from agent.publisher import Publisher, PublisherSettings
    from tests.rig.transport import Change

    national = National(topo, workdir, [site])
    outbox = Outbox(workdir / f"{site}-{time.monotonic_ns()}.outbox")
    state = [BirthCamera(camera_id="cam", state=CameraState.UP, since=datetime.now(UTC) - timedelta(days=1))]
    settings = PublisherSettings(
        site=site, province=PROVINCE, district=DISTRICT, host=HOST, port=topo.port(f"province-{PROVINCE}"),
        username=site, password=password, ca_file=str(topo.ca.cafile), jitter_s=0, keepalive_s=10, heartbeat_interval_s=5,
        fallbacks=((HOST, topo.port("national-a")),), failover_after_s=failover_after_s,
        return_check_s=3600, probe_timeout_s=5,
    )  # fmt: skip
    publisher = Publisher(settings, outbox, snapshot=lambda: state)
    publisher.start()
    try:
        outbox.record(Change("cam", CameraState.DOWN, Reason.UNREACHABLE, datetime.now(UTC)))
        national.wait(lambda c: c.get(site, 0) >= 1, "the first event through province 50")
        topo.brokers[f"province-{PROVINCE}"].kill()
        killed = time.perf_counter()
        outbox.record(Change("cam", CameraState.UP, Reason.NONE, datetime.now(UTC)))
        national.wait(lambda c: c.get(site, 0) >= 2, "the event after the kill, through national a")
        return time.perf_counter() - killed
    finally:
        publisher.stop()
        outbox.close()
        national.stop()
        topo.brokers[f"province-{PROVINCE}"].start()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--events", type=int, default=20000, help="events per throughput run, over the sites")
    parser.add_argument("--batch", type=int, default=20, help="events per message")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-events", type=int, default=1000)
    parser.add_argument("--failover-after", type=float, default=5.0, help="the agent's broker.failover_after_s")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sites = [f"bench-{i:03d}" for i in range(args.sites)]
    agent_site, agent_password = "bench-agent-001", "bench-agent-password"
    with tempfile.TemporaryDirectory(prefix="camwatch-topology-bench-") as tmp:
        workdir = Path(tmp)
        topo = render_topology(workdir, [PROVINCE], ["a"], sites={agent_site: (PROVINCE, DISTRICT, agent_password)})
        acl = [f"topic write camwatch/v1/{PROVINCE}/#"]
        try:
            topo.start()
            for broker in (f"province-{PROVINCE}", "national-a"):
                topo.add_account(broker, BENCH_USER, BENCH_PASSWORD, acl)
            time.sleep(0.5)  # SIGHUP reread
            print(f"topology bench: {args.sites} sites, {args.events} events per run ({args.batch} a message), "
                  f"{args.repeats} repeats, TLS, QoS 1; one provincial bridge (cleansession false) vs direct")
            results: dict[str, list[tuple[float, list[float]]]] = {"bridge": [], "direct": []}
            for _ in range(args.repeats):
                for path, broker in (("bridge", f"province-{PROVINCE}"), ("direct", "national-a")):
                    results[path].append(run_path(topo, workdir, broker, sites, args.events, args.batch,
                                                  args.latency_events))  # fmt: skip
            print(f"{'path':>8} {'statuses/s':>11} {'p50 ms':>8} {'p99 ms':>8}   runs")
            summary = {}
            for path, runs in results.items():
                rate = statistics.median(r for r, _ in runs)
                lat = [v for _, ls in runs for v in ls]
                summary[path] = (rate, _pct(lat, 0.5), _pct(lat, 0.99))
                print(f"{path:>8} {rate:>11,.0f} {summary[path][1]:>8.1f} {summary[path][2]:>8.1f}   "
                      f"{', '.join(f'{r:,.0f}' for r, _ in runs)}")
            (br, b50, b99), (dr, d50, d99) = summary["bridge"], summary["direct"]
            print(f"{'ratio':>8} {br / dr:>11.2f} {b50 / d50:>8.2f} {b99 / d99:>8.2f}   (bridge / direct)")
            times = [run_failover(topo, workdir, agent_site, agent_password, args.failover_after)
                     for _ in range(args.repeats)]  # fmt: skip
            print(f"failover (provincial broker killed -> next event committed via national a), failover_after_s "
                  f"{args.failover_after:g}: median {statistics.median(times):.2f} s (runs "
                  f"{', '.join(f'{t:.2f}' for t in times)}); overhead beyond the timeout "
                  f"{statistics.median(times) - args.failover_after:.2f} s")
        finally:
            topo.stop()
            for broker in topo.brokers.values():
                broker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
