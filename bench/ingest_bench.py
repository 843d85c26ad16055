"""Ingest CPU per status through a real Mosquitto: raw ceiling, ingest with a counting store, ingest with a real store.

Many sites publish pre-encoded Events messages (every event a state change) from a publisher
in its own process, as agents do. Measured in the same run, medians of ``--runs`` rounds:

* raw: a paho subscriber that only counts (QoS 1, automatic acks): the broker-to-paho ceiling;
* stub: the real :class:`aggregator.ingest.consumer.Ingest` (decode, validation, sessions, commit
  cycle, broker acks after the "commit", application acks) into a store whose ``apply``
  only counts, which isolates the cost of ingest itself;
* store: the same into a real :class:`aggregator.store.state.StateStore` on a small registry
  (only the bench's sites, births first), so the store is cheap and ingest dominates;
* cycle: the writer's cycle alone (decode, validation, sessions, commit into the counting
  store, acks) on deliveries built in memory, with paho replaced by a client that does
  nothing: ingest's own CPU per status without the broker, the publisher or the GIL
  shared with paho's thread (the steadiest figure on a busy machine);
* poison: the same cycle with ``--poison`` (1%) of extra messages that must be quarantined
  (deep nesting, broken JSON, truncated messages) mixed into the stream, beside the clean
  cycle of the same run (ratio).

Each figure is statuses/s from the first publish to the last status handed to ``apply``,
with its ratio to the raw ceiling, and the process's CPU per status (writer and paho
threads apart). ``--profile stub`` (or ``store``) adds one cProfile run of the writer thread
and of paho's network thread, by CPU time. ``--gc-freeze`` calls :func:`gc.freeze` once the
births are applied (what a service can do once its state is loaded), to show what the
collector's full passes cost ingest.

    .venv/bin/python bench/ingest_bench.py [--sites 500] [--per-message 20] [--statuses 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pickle
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from aggregator.geography import load_geography  # noqa: E402
from aggregator.ingest.consumer import Ingest, IngestSettings, _Delivery  # noqa: E402
from aggregator.schema import open_db  # noqa: E402
from aggregator.store import registry  # noqa: E402
from aggregator.store.state import ApplyResult, Inbound, StateStore  # noqa: E402
from protocol import (  # noqa: E402
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    encode,
    site_topic,
)
from tests.rig.mosquitto import Broker  # noqa: E402

PROVINCE, DISTRICT = "10", "1001"  # a real district of the bundled geography
CAMS_PER_SITE = 64
# Generous: a run that has not finished by then is reported, not waited for.
_RUN_TIMEOUT_S = 300.0
_CONNECT_TIMEOUT_S = 20.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def site_name(i: int) -> str:
    return f"s{i:05d}"


def payloads(n_sites: int, per_message: int, statuses: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]], int]:
    """(births, events messages, statuses in the events): every event flips its camera."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    per_site = max(1, statuses // (n_sites * per_message))
    births: list[tuple[str, bytes]] = []
    events: list[tuple[str, bytes]] = []
    state = {(i, c): CameraState.UP for i in range(n_sites) for c in range(CAMS_PER_SITE)}
    for i in range(n_sites):
        site = site_name(i)
        cams = [BirthCamera(camera_id=f"c{c:02d}", state=CameraState.UP, since=now,
                            inventory=CameraInventory(maker="Hikvision", model="DS-2CD2143G2", serial=f"{site}-c{c:02d}"))
                for c in range(CAMS_PER_SITE)]  # fmt: skip
        birth = Birth(site=site, ts=now, bd_seq=1, last_event_id=0, agent_version="1.0.0", cameras=cams)
        births.append((site_topic(PROVINCE, DISTRICT, site, Kind.BIRTH), encode(birth)))
    for m in range(per_site):  # round-robin over sites, as a live fleet interleaves them
        for i in range(n_sites):
            evs = []
            for k in range(per_message):
                n = m * per_message + k
                cam = n % CAMS_PER_SITE
                new = CameraState.DOWN if state[i, cam] is CameraState.UP else CameraState.UP
                state[i, cam] = new
                evs.append(Event(id=n + 1, camera_id=f"c{cam:02d}", at=now + timedelta(milliseconds=n), state=new,
                                 reason=Reason.NONE if new is CameraState.UP else Reason.UNREACHABLE))  # fmt: skip
            msg = Events(site=site_name(i), ts=now + timedelta(seconds=m), seq=(m + 1) % 256, events=evs)
            events.append((site_topic(PROVINCE, DISTRICT, site_name(i), Kind.EVENTS), encode(msg)))
    return births, events, n_sites * per_site * per_message


def publish_child(path: str, port: int) -> None:
    """Child process: connect, say ready, wait for 'go' on stdin, publish every payload at QoS 1."""
    with open(path, "rb") as f:
        items: list[tuple[str, bytes]] = pickle.load(f)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.monotonic_ns()}")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    print("ready", flush=True)
    sys.stdin.readline()
    infos = [pub.publish(topic, payload, qos=1) for topic, payload in items]
    for info in infos:
        info.wait_for_publish(_RUN_TIMEOUT_S)
    pub.loop_stop()
    pub.disconnect()


class Publisher:
    """A publisher process loaded with ``items``, connected and waiting for :meth:`go`."""

    def __init__(self, items: list[tuple[str, bytes]], port: int, workdir: Path) -> None:
        path = workdir / f"payloads-{time.monotonic_ns()}.pickle"
        path.write_bytes(pickle.dumps(items))
        self.process = subprocess.Popen([sys.executable, __file__, "--publish-from", str(path), "--port", str(port)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the publisher process did not connect")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def wait(self) -> None:
        if self.process.wait(_RUN_TIMEOUT_S) != 0:
            raise RuntimeError(f"the publisher process failed (exit {self.process.returncode})")


class CountingStore:
    """A store whose apply only counts statuses (bench only: isolates ingest's own cost)."""

    def __init__(self) -> None:
        self.statuses = 0

    def apply(self, items: Sequence[Inbound]) -> ApplyResult:
        n = 0
        for item in items:
            msg = item.message
            n += len(msg.events) if isinstance(msg, Events) else len(getattr(msg, "cameras", ()))
        self.statuses += n
        return ApplyResult(messages=len(items), statuses=n)


class Progress:
    """Statuses applied so far (a listener of ingest), and an event when a target is reached."""

    def __init__(self) -> None:
        self.statuses = 0
        self.target = 0
        self.reached = threading.Event()

    def expect(self, target: int) -> None:
        self.target = target
        self.reached.clear()
        if self.statuses >= target:
            self.reached.set()

    def on_applied(self, result: ApplyResult) -> None:
        self.statuses += result.statuses
        if self.statuses >= self.target:
            self.reached.set()


def run_raw(port: int, events: list[tuple[str, bytes]], statuses: int, workdir: Path) -> float:
    """Statuses/s to a paho subscriber that only counts messages."""
    got = threading.Event()
    count = [0]

    def on_message(*_: Any) -> None:
        count[0] += 1
        if count[0] == len(events):
            got.set()

    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{time.monotonic_ns()}")
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    sub.subscribe("camwatch/v1/+/+/+/events", qos=1)
    if not subscribed.wait(_CONNECT_TIMEOUT_S):
        raise RuntimeError("raw subscriber not subscribed")
    pub = Publisher(events, port, workdir)
    t = time.perf_counter()
    pub.go()
    finished = got.wait(_RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - t
    pub.wait()
    sub.loop_stop()
    sub.disconnect()
    if not finished:
        raise RuntimeError(f"raw: {count[0]} of {len(events)} messages within {_RUN_TIMEOUT_S:.0f} s")
    return statuses / elapsed


def thread_cpu_s(native_id: int | None) -> float:
    """User+system CPU seconds of one thread of this process (Linux /proc)."""
    if native_id is None:
        return 0.0
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the thread has ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _profiled(target: Callable[[], None], profile: cProfile.Profile) -> Callable[[], None]:
    return lambda: profile.runcall(target)


def run_ingest(
    port: int,
    births: list[tuple[str, bytes]],
    events: list[tuple[str, bytes]],
    statuses: int,
    workdir: Path,
    *,
    real_store: bool,
    settings: dict[str, Any],
    cpu_us: list[tuple[float, ...]],
    profiles: list[cProfile.Profile] | None = None,
    gc_freeze: bool = False,
) -> float:
    """Statuses/s through a fresh Ingest (births applied first, untimed)."""
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    db_path = run_dir / "centre.db"
    db = open_db(db_path)
    geography = load_geography(db)  # the districts the sites reference
    with db.atomic():
        for i in range(len(births)):
            registry.insert_site(db, site_name(i), PROVINCE, DISTRICT, now_ms=int(time.time() * 1000))
    store: Any = StateStore(db, geography) if real_store else CountingStore()
    progress = Progress()
    ingest = Ingest(
        IngestSettings(url=f"mqtt://127.0.0.1:{port}", username=None, client_id=f"bench-ingest-{time.monotonic_ns()}",
                       session_expiry_s=0, **settings),  # fmt: skip
        open_db(db_path),
        store,
        listeners=[progress.on_applied],
    )
    if profiles is not None:
        # CPU time of each thread, not wall time: waiting for the GIL or a message costs nothing here
        writer, network = cProfile.Profile(time.thread_time), cProfile.Profile(time.thread_time)
        profiles += [writer, network]
        ingest._writer = threading.Thread(target=_profiled(ingest._run, writer), name="ingest-writer", daemon=True)
        client = ingest._client
        client._thread_main = _profiled(client._thread_main, network)  # type: ignore[method-assign]
    ingest.start()
    try:
        if not ingest.wait_ready(_CONNECT_TIMEOUT_S):
            raise RuntimeError("ingest did not subscribe")
        progress.expect(len(births) * CAMS_PER_SITE)
        birth_pub = Publisher(births, port, workdir)
        birth_pub.go()
        birth_pub.wait()
        if not progress.reached.wait(_RUN_TIMEOUT_S):
            raise RuntimeError("births were not applied")
        if gc_freeze:
            gc.freeze()
        progress.expect(progress.statuses + statuses)
        pub = Publisher(events, port, workdir)
        threads = (ingest._writer.native_id, ingest._client._thread.native_id if ingest._client._thread else None)
        cpu0 = (process_cpu_s(), *map(thread_cpu_s, threads))
        t = time.perf_counter()
        pub.go()
        finished = progress.reached.wait(_RUN_TIMEOUT_S)
        elapsed = time.perf_counter() - t
        cpu1 = (process_cpu_s(), *map(thread_cpu_s, threads))
        cpu_us.append(tuple((b - a) / statuses * 1e6 for a, b in zip(cpu0, cpu1, strict=True)))
        pub.wait()
        if not finished:
            raise RuntimeError(f"ingest: not every status applied within {_RUN_TIMEOUT_S:.0f} s: {ingest.stats()}")
        stats = ingest.stats()
        if stats["quarantined"] or stats["dropped"]:
            raise RuntimeError(f"ingest refused bench input: {stats}")
        return statuses / elapsed
    finally:
        ingest.stop()
        gc.unfreeze()


class _NullClient:
    """Stands in for paho in the cycle figure (bench only): acks and publishes go nowhere."""

    def ack(self, mid: int, qos: int) -> None:
        pass

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        pass

    def is_connected(self) -> bool:
        return False


POISON_PAYLOADS = (b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000, b"{not json", b"\xff\xfe{")


def with_poison(events: list[tuple[str, bytes]], share: float) -> tuple[list[tuple[str, bytes]], int]:
    """``events`` with one bad message after every 1/share of them, on the same site's topic."""
    every = max(1, round(1 / share))
    out: list[tuple[str, bytes]] = []
    bad = 0
    for n, (topic, payload) in enumerate(events, 1):
        out.append((topic, payload))
        if n % every == 0:
            kind = bad % (len(POISON_PAYLOADS) + 1)
            out.append((topic, POISON_PAYLOADS[kind] if kind < len(POISON_PAYLOADS) else payload[: len(payload) // 2]))
            bad += 1
    return out, bad


def run_cycle(
    births: list[tuple[str, bytes]], events: list[tuple[str, bytes]], statuses: int, workdir: Path,
    cpu_us: list[tuple[float, ...]], batch: int, gc_freeze: bool, poison: float = 0.0,
) -> float:  # fmt: skip
    """Statuses/s of the writer's cycle alone, on deliveries already in memory."""
    bad = 0
    if poison:
        events, bad = with_poison(events, poison)
    db_path = Path(tempfile.mkdtemp(dir=workdir)) / "centre.db"
    db = open_db(db_path)
    load_geography(db)
    with db.atomic():
        for i in range(len(births)):
            registry.insert_site(db, site_name(i), PROVINCE, DISTRICT, now_ms=int(time.time() * 1000))
    ingest = Ingest(IngestSettings(url="mqtt://127.0.0.1:1", username=None), db, CountingStore())
    ingest._client = _NullClient()  # type: ignore[assignment]

    def deliveries(items: list[tuple[str, bytes]]) -> list[_Delivery]:
        return [_Delivery(topic, payload, mid, 1, 0, datetime.now(UTC)) for mid, (topic, payload) in enumerate(items, 1)]

    for start in range(0, len(births), batch):
        ingest._cycle(deliveries(births[start:start + batch]))
    todo = deliveries(events)
    if gc_freeze:
        gc.freeze()
    cpu, t = time.thread_time(), time.perf_counter()
    for start in range(0, len(todo), batch):
        ingest._cycle(todo[start:start + batch])
    elapsed, cpu = time.perf_counter() - t, time.thread_time() - cpu
    gc.unfreeze()
    if ingest.stats()["committed"] != len(births) + len(events) - bad or ingest.quarantine.added != bad:
        raise RuntimeError(f"cycle: not every good message committed and every bad one quarantined: {ingest._counters}")
    cpu_us.append((cpu / statuses * 1e6, cpu / statuses * 1e6, 0.0))
    return statuses / elapsed


def print_profiles(profiles: list[cProfile.Profile], statuses: int, top: int) -> None:
    for name, profile in zip(("writer thread", "paho network thread"), profiles, strict=True):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        total = stats.total_tt  # type: ignore[attr-defined]
        print(f"\n--- profile, {name}: {total:.2f} s CPU, {total / statuses * 1e6:.1f} us per status ---")
        stats.sort_stats("tottime").print_stats(top)
        print("\n".join(out.getvalue().splitlines()[6:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--per-message", type=int, default=20, help="events per Events message (agents batch up to 64)")
    parser.add_argument("--statuses", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("raw", "stub", "store", "cycle", "poison"), action="append",
                        help="measure only these (repeatable)")
    parser.add_argument("--poison", type=float, default=0.01, help="share of bad messages mixed in by 'poison'")
    parser.add_argument("--profile", choices=("stub", "store"), help="one extra cProfile run of this kind")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--batch-max", type=int, default=None, help="IngestSettings.batch_max")
    parser.add_argument("--batch-wait", type=float, default=None, help="IngestSettings.batch_wait_s")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once the births are applied")
    parser.add_argument("--publish-from", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish_from:
        publish_child(args.publish_from, args.port)
        return
    settings: dict[str, Any] = {}
    if args.batch_max is not None:
        settings["batch_max"] = args.batch_max
    if args.batch_wait is not None:
        settings["batch_wait_s"] = args.batch_wait
    births, events, statuses = payloads(args.sites, args.per_message, args.statuses)
    kinds = args.only or ["raw", "stub", "store", "cycle", "poison"]
    if "poison" in kinds and "cycle" not in kinds:
        kinds.insert(kinds.index("poison"), "cycle")  # its baseline, measured in the same run
    print(f"{statuses:,} statuses in {len(events):,} Events messages ({args.per_message} per message) from "
          f"{args.sites} sites; births first (untimed); settings {settings or 'default'}; {args.runs} runs"
          f"{'; gc.freeze() after the births' if args.gc_freeze else ''}", flush=True)  # fmt: skip
    figures: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[tuple[float, ...]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="camwatch-ingest-bench-") as tmp:
        workdir = Path(tmp)
        broker = Broker(workdir=workdir / "broker", persistence=False).start()
        try:
            for r in range(args.runs):
                for kind in kinds:
                    if kind == "raw":
                        figure = run_raw(broker.port, events, statuses, workdir)
                    elif kind in ("cycle", "poison"):
                        figure = run_cycle(births, events, statuses, workdir, cpu[kind], settings.get("batch_max", 1000),
                                           args.gc_freeze, poison=args.poison if kind == "poison" else 0.0)  # fmt: skip
                    else:
                        figure = run_ingest(broker.port, births, events, statuses, workdir, real_store=kind == "store",
                                            settings=settings, cpu_us=cpu[kind], gc_freeze=args.gc_freeze)  # fmt: skip
                    figures[kind].append(figure)
                    print(f"run {r + 1}: {kind:5s} {figure:>10,.0f} statuses/s", flush=True)
            raw = statistics.median(figures["raw"]) if "raw" in figures else None
            print()
            for kind, values in figures.items():
                med = statistics.median(values)
                ratio = f" (ratio to raw {med / raw:.2f})" if raw and kind not in ("raw", "cycle", "poison") else ""
                if kind == "poison":
                    ratio = f" (ratio to the clean cycle {med / statistics.median(figures['cycle']):.2f})"
                label = {"raw": "raw broker->paho ceiling", "stub": "ingest, counting store", "store": "ingest, real small store",
                         "cycle": "writer cycle alone (no MQTT)",
                         "poison": f"cycle, {args.poison:.0%} poison mixed in"}[kind]  # fmt: skip
                print(f"{label:28s} median {med:>10,.0f} statuses/s{ratio}")
                if cpu[kind]:
                    process, writer, network = (statistics.median(c[j] for c in cpu[kind]) for j in range(3))
                    if kind in ("cycle", "poison"):
                        versus = ""
                        if kind == "poison":  # CPU is the steadier figure on a shared machine
                            clean = statistics.median(c[1] for c in cpu["cycle"])
                            versus = f"; {writer / clean:.2f} x the clean cycle's"
                        print(f"{'':28s} CPU per status: {writer:.2f} us ({writer * args.per_message:.0f} us per message{versus})")
                    else:
                        print(f"{'':28s} CPU per status: process {process:.2f} us (writer thread {writer:.2f}, "
                              f"paho network thread {network:.2f})")  # fmt: skip
            if args.profile:
                profiles: list[cProfile.Profile] = []
                figure = run_ingest(broker.port, births, events, statuses, workdir, real_store=args.profile == "store",
                                    settings=settings, cpu_us=[], profiles=profiles)  # fmt: skip
                print(f"\nprofiled run ({args.profile}): {figure:,.0f} statuses/s (slowed by the profiler)")
                print_profiles(profiles, statuses, args.top)
        finally:
            broker.kill()


if __name__ == "__main__":
    main()
