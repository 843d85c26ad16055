"""Transport benchmark: committed events/s through Mosquitto into the store, against the raw ceiling.

For each batch size (events per Events message) and each repeat, on one fresh Mosquitto:

* **end-to-end**: pre-encoded Events messages (after one birth per site) are published at
  QoS 1 as fast as the broker takes them; the clock stops when the aggregator's ingest has
  committed the last event id of every site into the real StateStore (SQLite, WAL) and so
  could acknowledge it. This is decode + validation + session rules + one-transaction
  batches + manual broker acks + per-site application acks.
* **raw ceiling**: the same payloads, same broker, to a bare paho subscriber (QoS 1, automatic
  acks, no decoding): what broker-to-paho delivery alone allows on this machine.

It prints medians of the repeats and the ratio end-to-end / raw. A third figure, the agent
outbox's durable record rate (SQLite FULL sync, one transaction per state change), shows the
edge side's own ceiling.

    .venv/bin/python bench/transport_bench.py [--sites 20] [--events 20000] [--batches 10 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from protocol import Birth, BirthCamera, CameraState, Event, Events, Reason, encode, site_topic  # noqa: E402
from tests.rig.mosquitto import Broker  # noqa: E402

PROVINCE, DISTRICT = "10", "1001"
CAMERAS = 10
DONE_TIMEOUT_S = 300.0


def _payloads(sites: list[str], events: int, batch: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]], dict[str, int]]:
    """Births and Events messages (topic, payload) spreading ``events`` over the sites."""
    now = datetime.now(UTC)
    t0 = now - timedelta(days=1)
    births, msgs, last = [], [], {}
    per_site = events // len(sites)
    for site in sites:
        cams = [f"{site}-c{i}" for i in range(CAMERAS)]
        birth = Birth(site=site, ts=now, bd_seq=1, cameras=[
            BirthCamera(camera_id=c, state=CameraState.UP, since=t0) for c in cams])
        births.append((site_topic(PROVINCE, DISTRICT, site, "birth"), encode(birth)))
        seq = 0
        for start in range(1, per_site + 1, batch):
            ids = range(start, min(start + batch, per_site + 1))
            seq = (seq + 1) % 256
            evs = [
                Event(id=i, camera_id=cams[i % CAMERAS], at=t0 + timedelta(seconds=i),
                      state=CameraState.DOWN if (i // CAMERAS) % 2 == 0 else CameraState.UP,
                      reason=Reason.UNREACHABLE if (i // CAMERAS) % 2 == 0 else Reason.NONE)
                for i in ids
            ]
            msg = Events(site=site, ts=now, seq=seq, events=evs)
            msgs.append((site_topic(PROVINCE, DISTRICT, site, "events"), encode(msg)))
        last[site] = per_site
    # Interleave sites the way a fleet would arrive (site order within a site kept).
    by_site: dict[str, list[tuple[str, bytes]]] = {}
    for topic, payload in msgs:
        by_site.setdefault(topic, []).append((topic, payload))
    interleaved = [m for group in zip(*by_site.values(), strict=False) for m in group]
    return births, interleaved, last


def _publisher(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.monotonic_ns()}")
    client.max_inflight_messages_set(100)
    client.connect(broker.host, broker.port, keepalive=60)
    client.loop_start()
    return client


def _publish_all(client: mqtt.Client, messages: list[tuple[str, bytes]]) -> None:
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(DONE_TIMEOUT_S)


def run_end_to_end(broker: Broker, workdir: Path, sites: list[str], events: int, batch: int) -> float:
    """Committed events/s through ingest into the real StateStore."""
    from aggregator.geography import load_geography
    from aggregator.ingest.consumer import Ingest, IngestSettings
    from aggregator.schema import open_db
    from aggregator.store import registry
    from aggregator.store.state import StateStore

    births, msgs, last = _payloads(sites, events, batch)
    db = open_db(workdir / f"bench-{batch}-{time.monotonic_ns()}.db")
    geo = load_geography(db)
    with db.atomic():
        for site in sites:
            registry.insert_site(db, site, PROVINCE, DISTRICT, now_ms=int(time.time() * 1000))
    store = StateStore(db, geo)
    committed: dict[str, int] = {}
    done = threading.Event()

    def on_applied(result: Any) -> None:
        committed.update(result.committed_event_ids)
        if all(committed.get(s, 0) >= n for s, n in last.items()):
            done.set()

    ingest = Ingest(
        IngestSettings(url=f"mqtt://{broker.host}:{broker.port}", username=None,
                       client_id=f"bench-agg-{time.monotonic_ns()}"),
        db, store, listeners=[on_applied],
    )
    ingest.start()
    pub = _publisher(broker)
    try:
        deadline = time.monotonic() + 30
        while not ingest.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # subscriptions in place
        _publish_all(pub, births)
        deadline = time.monotonic() + 30
        while db.execute("SELECT COUNT(*) FROM sites WHERE online = 1").fetchone()[0] < len(sites):
            if time.monotonic() > deadline:
                raise RuntimeError("births not committed")
            time.sleep(0.05)
        start = time.perf_counter()
        _publish_all(pub, msgs)
        if not done.wait(DONE_TIMEOUT_S):
            raise RuntimeError(f"not every event committed: {committed}")
        elapsed = time.perf_counter() - start
    finally:
        pub.disconnect()
        pub.loop_stop()
        ingest.stop()
    return sum(last.values()) / elapsed


def run_raw(broker: Broker, sites: list[str], events: int, batch: int) -> float:
    """Events/s a bare paho subscriber receives for the same payloads (the delivery ceiling)."""
    _, msgs, last = _payloads(sites, events, batch)
    expected = len(msgs)
    got = {"n": 0}
    done, subscribed = threading.Event(), threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{time.monotonic_ns()}")

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        got["n"] += 1
        if got["n"] >= expected:
            done.set()

    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_connect = lambda c, *a: c.subscribe("camwatch/v1/+/+/+/events", qos=1)
    sub.connect(broker.host, broker.port, keepalive=60)
    sub.loop_start()
    pub = _publisher(broker)
    try:
        if not subscribed.wait(10):
            raise RuntimeError("raw subscriber not subscribed")
        start = time.perf_counter()
        _publish_all(pub, msgs)
        if not done.wait(DONE_TIMEOUT_S):
            raise RuntimeError(f"raw subscriber got {got['n']} of {expected}")
        elapsed = time.perf_counter() - start
    finally:
        pub.disconnect()
        pub.loop_stop()
        sub.disconnect()
        sub.loop_stop()
    return sum(last.values()) / elapsed


def run_outbox(workdir: Path, n: int = 2000) -> float:
    """Durable state changes/s the agent outbox records (one FULL-sync transaction each)."""
    from agent.outbox import Outbox
    from tests.rig.transport import changes

    box = Outbox(workdir / f"outbox-{time.monotonic_ns()}.db")
    made = list(changes([f"c{i}" for i in range(16)], n))
    start = time.perf_counter()
    for change in made:
        box.record(change)
    elapsed = time.perf_counter() - start
    box.close()
    return n / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--events", type=int, default=20000, help="events per run, spread over the sites")
    parser.add_argument("--batches", type=int, nargs="+", default=[10, 100], help="events per message")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for name in ("aggregator.ingest.consumer", "aggregator.ingest.connection"):  # stop/start chatter per run
        logging.getLogger(name).setLevel(logging.CRITICAL)
    sites = [f"bench-{i:03d}" for i in range(args.sites)]
    with tempfile.TemporaryDirectory(prefix="camwatch-transport-bench-") as tmp:
        workdir = Path(tmp)
        broker = Broker(workdir=workdir / "mosquitto", persistence=False).start()
        try:
            print(f"transport bench: {args.sites} sites, {args.events} events per run, "
                  f"{args.repeats} repeats, Mosquitto on 127.0.0.1, QoS 1")
            print(f"{'events/msg':>10} {'msg bytes':>10} {'end-to-end ev/s':>16} {'raw ceiling ev/s':>17} {'ratio':>7}")
            for batch in args.batches:
                size = len(_payloads(sites[:1], batch, batch)[1][0][1])
                e2e = [run_end_to_end(broker, workdir, sites, args.events, batch) for _ in range(args.repeats)]
                raw = [run_raw(broker, sites, args.events, batch) for _ in range(args.repeats)]
                m_e2e, m_raw = statistics.median(e2e), statistics.median(raw)
                print(f"{batch:>10} {size:>10} {m_e2e:>16,.0f} {m_raw:>17,.0f} {m_e2e / m_raw:>7.2f}")
                print(f"{'':>10} {'':>10} runs: {', '.join(f'{v:,.0f}' for v in e2e)} | raw: {', '.join(f'{v:,.0f}' for v in raw)}")
            rates = [run_outbox(workdir) for _ in range(args.repeats)]
            print(f"agent outbox durable records/s (FULL sync): median {statistics.median(rates):,.0f} "
                  f"(runs {', '.join(f'{v:,.0f}' for v in rates)})")
        finally:
            broker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
