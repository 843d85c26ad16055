"""National-scale aggregator benchmark: ingest rate, birth storm, rollup and page latency, memory.

Builds a synthetic country (default 1,000,000 cameras over 15,600 sites in all 77 provinces,
spread over every DOPA district) with 30 days of realistic history, applied through the real
StateStore day by day: ~5% of cameras have an outage a day, ~1% a degraded spell, and a few
sites a WAN outage each day (death, then birth and a replay of the withheld events six hours
later: backfilled history). Then, in a fresh process (so its peak RSS is an aggregator's):

* sustained camera statuses/s applied and committed in batches (the store's write path), and
  beside it the same rows written row-wise (the baseline ``executemany`` is measured against);
* through Mosquitto (if the transport ingest is importable): statuses/s through ingest next to
  the raw broker-to-paho ceiling measured in the same run;
* the time to absorb a birth from every site at once (all agents reconnecting);
* p50/p95 latency of the nation summary, a province 30-day rollup, a 30-day camera
  availability and a filtered camera page, through the HTTP API (TestClient), with a naive
  rollup (integrating every transition) as baseline;
* peak RSS.

Usage: ``python bench/aggregator_bench.py --scale 0.1`` (``--scale 1`` for the national size).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.days import day_of, to_ms  # noqa: E402
from aggregator.geography import Geography, load_geography  # noqa: E402
from aggregator.schema import open_db  # noqa: E402
from aggregator.store.checkpointer import WRITER_BACKSTOP_PAGES, Checkpointer  # noqa: E402
from aggregator.store.flush import INSERT_TRANSITION  # noqa: E402
from aggregator.store.state import STATE_FLUSH_S, Inbound, StateStore  # noqa: E402
from protocol import (  # noqa: E402
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Death,
    Event,
    Events,
    Kind,
    Reason,
    SiteTopic,
)

CAMS_PER_SITE = 64
FULL_SITES = 15_600
DAYS = 30
BATCH_EVENTS = 5000
MAKERS = [("Hikvision", "DS-2CD2143G2", "V5.7.3"), ("Dahua", "IPC-HFW2431S", "2.820.0"), ("Uniview", "IPC2124", "B3220"),
          ("Axis", "P1455-LE", "10.12.1"), ("Hanwha", "XNO-6080R", "2.10")]  # fmt: skip
OUTAGE_SHARE = 0.05
DEGRADED_SHARE = 0.01
WAN_OUTAGE_SITES = 0.002


def rss_mib() -> float:
    """Peak resident set size of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Country:
    """Sites spread over every district (so all 77 provinces) and their cameras."""

    def __init__(self, geo: Geography, n_sites: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        districts = sorted(geo.districts.values(), key=lambda a: a.code)
        self.sites: list[tuple[str, str, str]] = []
        for i in range(n_sites):
            d = districts[i % len(districts)]
            self.sites.append((f"s{i:05d}", d.province, d.code))
        self.event_ids = [0] * n_sites
        self.bd_seq = [0] * n_sites
        self.latest = datetime(2000, 1, 1, tzinfo=UTC)  # the latest event time handed out

    def clock(self, span: timedelta) -> datetime:
        """The start of ``span`` of event times after every time handed out before, so each
        measurement's events are live changes (after each camera's last row), never backfills."""
        start = max(datetime.now(UTC), self.latest + timedelta(milliseconds=1))
        self.latest = start + span
        return start

    def topic(self, i: int, kind: Kind) -> SiteTopic:
        site, province, district = self.sites[i]
        return SiteTopic(province, district, site, kind)

    def birth(self, i: int, at: datetime, states: dict[str, CameraState] | None = None) -> Inbound:
        site = self.sites[i][0]
        self.bd_seq[i] = (self.bd_seq[i] + 1) % 256
        cams = []
        for j in range(CAMS_PER_SITE):
            maker, model, fw = MAKERS[(i + j) % len(MAKERS)]
            cid = f"c{j:02d}"
            state = (states or {}).get(cid, CameraState.UP)
            cams.append(BirthCamera(
                camera_id=cid, state=state, since=at, reason=Reason.NONE if state == CameraState.UP else Reason.UNREACHABLE,
                inventory=CameraInventory(maker=maker, model=model, firmware=fw, serial=f"{site}-{cid}",
                                          address=f"10.{i % 250}.{j}.10", video_source="VideoSource_1")))  # fmt: skip
        msg = Birth(site=site, ts=at, bd_seq=self.bd_seq[i], last_event_id=self.event_ids[i], agent_version="1.0.0",
                    cameras=cams)  # fmt: skip
        return Inbound(self.topic(i, Kind.BIRTH), msg, at)

    def event(self, i: int, cam: int, at: datetime, state: CameraState, historical: bool = False) -> Event:
        self.event_ids[i] += 1
        reason = {CameraState.UP: Reason.NONE, CameraState.DOWN: Reason.UNREACHABLE,
                  CameraState.DEGRADED: Reason.FROZEN}[state]  # fmt: skip
        return Event(id=self.event_ids[i], camera_id=f"c{cam:02d}", at=at, state=state, reason=reason,
                     historical=historical)  # fmt: skip


def events_batches(
    country: Country, timed: list[tuple[datetime, int, Event]], delay: timedelta, size: int = BATCH_EVENTS
) -> list[list[Inbound]]:
    """Group time-sorted events into per-site Events messages, ``size`` statuses per batch."""
    batches: list[list[Inbound]] = []
    for start in range(0, len(timed), size):
        chunk = timed[start:start + size]
        per_site: dict[int, list[Event]] = defaultdict(list)
        for _, i, ev in chunk:
            per_site[i].append(ev)
        received = chunk[-1][0] + delay
        batches.append([
            Inbound(country.topic(i, Kind.EVENTS), Events(site=country.sites[i][0], ts=received, seq=1, events=evs), received)
            for i, evs in per_site.items()
        ])  # fmt: skip
    return batches


def build(path: Path, scale: float, days: int) -> None:
    """Create the database with ``days`` of history ending now."""
    t_start = time.perf_counter()
    db = open_db(path, page_size=int(os.environ.get("BENCH_PAGE_SIZE", "4096")))
    geo = load_geography(db)
    n_sites = max(77, int(FULL_SITES * scale))
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(days=days)
    store = StateStore(db, geo, start=t0, state_flush_s=STATE_FLUSH_S)
    country = Country(geo, n_sites)
    rng = country.rng
    t = time.perf_counter()
    for start in range(0, n_sites, 500):
        store.apply([country.birth(i, t0) for i in range(start, min(n_sites, start + 500))])
    first_birth_s = time.perf_counter() - t
    print(f"build: {n_sites} sites, {n_sites * CAMS_PER_SITE} cameras registered in {first_birth_s:.1f} s", flush=True)
    n_events = 0
    for day in range(days):
        day_start = t0 + timedelta(days=day)
        timed: list[tuple[datetime, int, int, CameraState]] = []
        n_cams = n_sites * CAMS_PER_SITE
        for share, state, longest in ((OUTAGE_SHARE, CameraState.DOWN, 6 * 3600), (DEGRADED_SHARE, CameraState.DEGRADED, 12 * 3600)):
            for cam in rng.sample(range(n_cams), int(n_cams * share)):
                begin = day_start + timedelta(seconds=rng.randint(0, 86_000))
                end = begin + timedelta(seconds=rng.randint(300, longest))
                if end >= now:
                    continue
                timed.append((begin, cam // CAMS_PER_SITE, cam % CAMS_PER_SITE, state))
                timed.append((end, cam // CAMS_PER_SITE, cam % CAMS_PER_SITE, CameraState.UP))
        timed.sort(key=lambda x: x[0])
        wan = set(rng.sample(range(n_sites), max(1, int(n_sites * WAN_OUTAGE_SITES))))
        wan_start = {i: day_start + timedelta(seconds=rng.randint(0, 60_000)) for i in wan}
        live: list[tuple[datetime, int, Event]] = []
        withheld: dict[int, list[Event]] = defaultdict(list)
        for at, i, cam, state in timed:
            if i in wan and wan_start[i] <= at < wan_start[i] + timedelta(hours=6):
                withheld[i].append(country.event(i, cam, at, state, historical=True))
            else:
                live.append((at, i, country.event(i, cam, at, state)))
        batches = events_batches(country, live, timedelta(seconds=2))
        for batch in batches:
            store.apply(batch)
            n_events += sum(len(x.message.events) for x in batch)  # type: ignore[attr-defined]
        # WAN outages: death, then six hours later birth and the withheld events replayed (backfill)
        for i in sorted(wan, key=lambda i: wan_start[i]):
            begin = wan_start[i]
            back = begin + timedelta(hours=6)
            if back >= now:
                continue
            store.apply([Inbound(country.topic(i, Kind.DEATH), Death(site=country.sites[i][0], ts=begin, bd_seq=country.bd_seq[i]), begin)])
            replay = [Inbound(country.topic(i, Kind.EVENTS), Events(site=country.sites[i][0], ts=back, seq=1, events=withheld[i]), back)] if withheld[i] else []
            store.apply([country.birth(i, back), *replay])
            n_events += len(withheld[i])
        print(f"build: day {day + 1}/{days}: {n_events} events so far, {time.perf_counter() - t_start:.0f} s", flush=True)
    store.roll(now)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0]
    print(f"build: done: {rows} transitions, {os.path.getsize(path) / 2**20:.0f} MiB, {time.perf_counter() - t_start:.0f} s",
          flush=True)  # fmt: skip
    (path.parent / "meta").write_text(f"{n_sites} {first_birth_s:.3f}\n")


def sustained(
    store: StateStore, country: Country, n_events: int, *, batch: int = BATCH_EVENTS, per_site: int = 0
) -> float:
    """Apply ``n_events`` live events (batched like ingest) and return statuses/s. Cameras are
    drawn at random over the country (about one event per site message), or ``per_site`` at a
    time from one random site (one message of ``per_site`` events, as an agent reports a cycle)."""
    rng = random.Random(3)
    now = country.clock(timedelta(milliseconds=n_events))
    n_cams = len(country.sites) * CAMS_PER_SITE
    if per_site:
        cams = []
        while len(cams) < n_events:
            i = rng.randrange(len(country.sites))
            cams += [i * CAMS_PER_SITE + j for j in rng.sample(range(CAMS_PER_SITE), per_site)]
    else:
        cams = rng.sample(range(n_cams), min(n_cams, n_events))
    # each batch's messages are built just before it is applied (outside the timing), so this
    # process holds one batch of messages at a time, as ingest does
    spent = 0.0
    for start in range(0, n_events, batch):
        timed = []
        for k in range(start, min(n_events, start + batch)):
            i, j = divmod(cams[k], CAMS_PER_SITE)
            at = now + timedelta(milliseconds=k)
            timed.append((at, i, country.event(i, j, at, rng.choice([CameraState.DOWN, CameraState.DEGRADED]))))
        (items,) = events_batches(country, timed, timedelta(0), batch)
        t = time.perf_counter()
        store.apply(items)
        spent += time.perf_counter() - t
    return n_events / spent


def rowwise_baseline(db: Any, n: int) -> tuple[float, float, float]:
    """Changes/s writing the store's per-change rows (a transition and a state row) with executemany
    in one transaction, row by row in one transaction, and row by row with a commit each."""
    rows = [(1 + k % 1000, 1, 10**12 + k, 0, 2, "unreachable", None, 0, 10**12 + k, day_of(10**12 + k)) for k in range(n)]
    sql = INSERT_TRANSITION
    state_rows = [(2, "unreachable", 10**12 + k, 10**12 + k, 1 + k % 1000) for k in range(n)]
    state_sql = "UPDATE camera_state SET state = ?, reason = ?, since_ms = ?, tail_ms = ? WHERE camera = ?"
    out = []
    for mode in ("executemany", "row-wise"):
        db.execute("BEGIN")
        t = time.perf_counter()
        if mode == "executemany":
            db.conn.executemany(sql, rows)
            db.conn.executemany(state_sql, state_rows)
        else:
            for r, s in zip(rows, state_rows, strict=True):
                db.conn.execute(sql, r)
                db.conn.execute(state_sql, s)
        out.append(n / (time.perf_counter() - t))
        db.execute("ROLLBACK")
    few = n // 10
    saved = db.conn.execute("SELECT state, reason, since_ms, tail_ms, camera FROM camera_state WHERE camera <= 1000").fetchall()
    t = time.perf_counter()
    for r, s in zip(rows[:few], state_rows[:few], strict=True):
        with db.conn:
            db.conn.execute(sql, r)
            db.conn.execute(state_sql, s)
    out.append(few / (time.perf_counter() - t))
    with db.conn:  # put the database back as the store knows it
        db.conn.execute("DELETE FROM transitions WHERE at_ms >= ? AND at_ms < ?", [10**12, 10**12 + n])
        db.conn.executemany(state_sql, saved)
    return out[0], out[1], out[2]


def measure(path: Path, args: argparse.Namespace) -> None:
    n_sites = int((path.parent / "meta").read_text().split()[0])
    first_birth_s = float((path.parent / "meta").read_text().split()[1])
    t = time.perf_counter()
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, state_flush_s=STATE_FLUSH_S)  # as the service runs it
    db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_BACKSTOP_PAGES}")  # with background checkpoints
    Checkpointer(path).start()
    load_s = time.perf_counter() - t
    country = Country(geo, n_sites)
    for site in store.sites.values():
        idx = int(site.site_id[1:])
        country.event_ids[idx] = site.last_event_id
        country.bd_seq[idx] = site.bd_seq or 0
    n_cams = n_sites * CAMS_PER_SITE
    print(f"\n== {n_sites} sites, {n_cams} cameras, {len(geo.provinces)} provinces; state loaded in {load_s:.1f} s, "
          f"RSS {rss_mib():.0f} MiB")  # fmt: skip

    if args.latency_only:
        api_latency(db, geo, store, path, args)
        return
    if args.mqtt_only:
        for per_message in args.mqtt_per_message:
            mqtt_figures(store, country, args, path, per_message)
        return
    if args.write_only:
        for batch, per_site in ((5000, 0), (20000, 0), (5000, 16), (20000, 16)):
            runs = [sustained(store, country, args.events, batch=batch, per_site=per_site) for _ in range(3)]
            print(f"sustained statuses applied+committed, {batch} a batch, "
                  f"{f'{per_site} per site message' if per_site else 'random cameras'}: median {statistics.median(runs):,.0f}/s "
                  f"(runs {', '.join(f'{r:,.0f}' for r in runs)})")  # fmt: skip
        return
    # 1. write path
    rate = sustained(store, country, args.events)
    grouped = sustained(store, country, args.events, per_site=16)
    many, rowwise, autocommit = rowwise_baseline(db, 20_000)
    print(f"sustained statuses applied+committed (batches of {BATCH_EVENTS}, every one a state change): "
          f"{rate:,.0f}/s with random cameras (~1 per site message), {grouped:,.0f}/s 16 per site message "
          "(target >= 100,000)")
    print(f"  write path alone, changes/s: executemany {many:,.0f}; row-wise in one transaction {rowwise:,.0f} "
          f"(ratio {many / rowwise:.2f}); row-wise with a commit each {autocommit:,.0f} (ratio {many / autocommit:.1f})")

    # 2. birth storm: every site reconnects at once (cameras known, states unchanged)
    # (messages are built outside the timing, 1000 sites at a time, as ingest would hand them over)
    now = country.clock(timedelta(milliseconds=1))
    storm_s = 0.0
    for start in range(0, n_sites, 1000):
        births = [country.birth(i, now) for i in range(start, min(n_sites, start + 1000))]
        t = time.perf_counter()
        store.apply(births)
        storm_s += time.perf_counter() - t
    del births
    print(f"birth storm, all {n_sites} sites at once: {storm_s:.1f} s (target <= 15 s); "
          f"first registration of all cameras took {first_birth_s:.1f} s")  # fmt: skip

    # 3. through Mosquitto
    if not args.no_mqtt:
        for per_message in args.mqtt_per_message:
            mqtt_figures(store, country, args, path, per_message)

    api_latency(db, geo, store, path, args)


def api_latency(db: Any, geo: Geography, store: StateStore, path: Path, args: argparse.Namespace) -> None:
    """p50/p95 of the operator queries through the HTTP API, and a naive rollup as baseline."""
    from fastapi.testclient import TestClient

    from aggregator.app import create_app
    from aggregator.auth import create_token
    from aggregator.availability import Window, integrate_timeline
    from aggregator.settings import AggregatorSettings

    pepper = "bench-pepper-0123456789"
    token = create_token(db, "bench", "admin", [], pepper=pepper, geography=geo)[1]
    settings = AggregatorSettings(db_path=path, token_pepper=pepper, rate_limit_per_s=10000, rate_limit_burst=100000)  # type: ignore[arg-type]
    app = create_app(settings, geo, store=store)
    headers = {"Authorization": f"Bearer {token}"}
    cam_row = db.execute("SELECT c.id, s.site_id, c.camera_id FROM transitions t JOIN camera_inventory c ON c.id = t.camera "
                         "JOIN sites s ON s.id = c.site ORDER BY t.id LIMIT 1 OFFSET 5000").fetchone()  # fmt: skip
    queries = {
        "nation summary (now + 24 h)": "/api/v1/nation",
        "province 30-day rollup": "/api/v1/availability?level=province&key=10&window=last_30d",
        "nation 30-day rollup": "/api/v1/availability?level=nation&window=last_30d",
        "camera 30-day availability": f"/api/v1/availability/cameras/{cam_row[1]}/{cam_row[2]}?window=last_30d",
        "filtered camera page": "/api/v1/cameras?province=10&state=down&sort=-since&limit=50",
        "camera page, maker+firmware": "/api/v1/cameras?maker=Dahua&firmware=2.820.0&province=50&limit=100",
    }
    targets = {"nation summary (now + 24 h)": 50, "province 30-day rollup": 50, "nation 30-day rollup": 50,
               "camera 30-day availability": 50, "filtered camera page": 100, "camera page, maker+firmware": 100}  # fmt: skip
    with TestClient(app) as client:
        for name, url in queries.items():
            times = []
            for k in range(args.repeat + 3):
                t = time.perf_counter()
                r = client.get(url, headers=headers)
                dt = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, (url, r.status_code, r.text[:300])
                if k >= 3:
                    times.append(dt)
            print(f"{name:32s} p50 {statistics.median(times):7.1f} ms  p95 {pct(times, 0.95):7.1f} ms  (target p95 <= {targets[name]} ms)")
    # naive baseline: integrate every transition of the province's cameras over 30 days
    w_end = to_ms(datetime.now(UTC))
    w = Window(w_end - 30 * 86_400_000, w_end)
    t = time.perf_counter()
    per_cam: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = db.execute(
        "SELECT camera, at_ms, id, new_state FROM transitions WHERE site IN (SELECT id FROM sites WHERE province = '10')"
    ).fetchall()
    for cam, at, _, state in sorted(rows):
        per_cam[cam].append((at, state))
    for points in per_cam.values():
        integrate_timeline(points, w)
    naive_ms = (time.perf_counter() - t) * 1000
    print(f"  baseline: province 30-day rollup by integrating every transition: {naive_ms:.0f} ms")
    print(f"peak RSS of this (aggregator) process: {rss_mib():.0f} MiB (target <= 1024 MiB at 1M cameras)")


def mqtt_figures(store: StateStore, country: Country, args: argparse.Namespace, path: Path, per_message: int) -> None:
    """Medians of ``--mqtt-runs`` runs of :func:`mqtt_run`, printed with every run."""
    runs = [mqtt_run(store, country, args, path, per_message) for _ in range(args.mqtt_runs)]
    through = statistics.median(r[0] for r in runs)
    raw = statistics.median(r[1] for r in runs)
    statuses, messages, n_sites = runs[0][2:5]
    late = "" if all(r[5] for r in runs) else " (NOT all committed within 300 s in some run)"
    print(f"through Mosquitto + ingest + store, {per_message} events a message: median {through:,.0f} statuses/s{late} "
          f"vs raw broker->paho ceiling {raw:,.0f}/s (ratio {through / raw:.2f}); runs {', '.join(f'{r[0]:,.0f}' for r in runs)}; "
          f"{statuses:,} statuses in {messages:,} messages from {n_sites} sites spread over the country; "
          f"peak RSS so far {rss_mib():.0f} MiB")  # fmt: skip


def mqtt_run(
    store: StateStore, country: Country, args: argparse.Namespace, path: Path, per_message: int
) -> tuple[float, float, int, int, int, bool]:
    """Statuses/s through Mosquitto and ingest into the national store, and the raw
    broker-to-paho ceiling; publishers run in their own processes (as agents do), births are
    applied before the clock starts, so the figure is the events' alone."""
    import threading

    from aggregator.ingest.consumer import Ingest, IngestSettings
    from bench.ingest_bench import Publisher, run_raw
    from protocol import encode
    from tests.rig.mosquitto import Broker

    n_sites = min(len(country.sites), args.mqtt_sites)
    messages_per_site = max(1, args.mqtt_events // (n_sites * per_message))
    now = country.clock(timedelta(milliseconds=messages_per_site * per_message))
    # sites spread over the whole country (their cameras over the whole id space), their
    # messages interleaved as many agents' reports arrive
    chosen = [k * len(country.sites) // n_sites for k in range(n_sites)]
    births = [(str(country.topic(i, Kind.BIRTH)), encode(country.birth(i, now).message)) for i in chosen]
    events: list[tuple[str, bytes]] = []
    for m in range(messages_per_site):
        for i in chosen:
            evs = [country.event(i, (m * per_message + k) % CAMS_PER_SITE, now + timedelta(milliseconds=m * per_message + k),
                                 CameraState.DOWN if (m + k) % 2 else CameraState.UP) for k in range(per_message)]  # fmt: skip
            msg = Events(site=country.sites[i][0], ts=now, seq=(m + 1) % 256, events=evs)
            events.append((str(country.topic(i, Kind.EVENTS)), encode(msg)))
    statuses = n_sites * messages_per_site * per_message
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Broker(workdir=work, persistence=False).start()
        try:
            raw = run_raw(broker.port, events, statuses, work)  # a paho subscriber that only counts
            # through ingest into the store: births first (untimed), then the events
            lock = threading.Lock()
            committed = [0]
            target = [n_sites * CAMS_PER_SITE]
            reached = threading.Event()

            def on_applied(result: Any) -> None:
                with lock:
                    committed[0] += result.statuses
                    if committed[0] >= target[0]:
                        reached.set()

            ingest = Ingest(IngestSettings(url=f"mqtt://127.0.0.1:{broker.port}", username=None,
                                           client_id="bench-ingest", **args.ingest), open_db(path), store,
                            listeners=[on_applied])  # fmt: skip
            ingest.start()
            if not ingest.wait_ready(20):
                raise RuntimeError("ingest did not subscribe within 20 s")
            publisher = Publisher(births, broker.port, work)
            publisher.go()
            publisher.wait()
            if not reached.wait(300):
                raise RuntimeError("the births were not all applied within 300 s")
            publisher = Publisher(events, broker.port, work)
            with lock:
                committed[0] = 0
                target[0] = statuses
                reached.clear()
            t = time.perf_counter()
            publisher.go()
            finished = reached.wait(300)
            through = statuses / (time.perf_counter() - t)
            publisher.wait()
            ingest.stop()
            return through, raw, statuses, len(events), n_sites, finished
        finally:
            broker.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="1.0 = 1,000,000 cameras over 15,600 sites")
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--events", type=int, default=200_000, help="live events for the sustained figure")
    parser.add_argument("--mqtt-sites", type=int, default=2000)
    parser.add_argument("--mqtt-events", type=int, default=400_000)
    parser.add_argument("--mqtt-per-message", type=int, nargs="+", default=[20, 64],
                        help="events per site message through Mosquitto (one run each)")
    parser.add_argument("--mqtt-only", action="store_true", help="only the figures through Mosquitto")
    parser.add_argument("--mqtt-runs", type=int, default=3, help="runs per message size (medians printed)")
    parser.add_argument("--no-mqtt", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="only the API latency figures")
    parser.add_argument("--write-only", action="store_true", help="only the sustained write figures")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=None, help="keep the database here (reused when present)")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-max", type=int, default=None, help="ingest's batch_max (default: the service's)")
    args = parser.parse_args()
    args.ingest = {} if args.batch_max is None else {"batch_max": args.batch_max}
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="camwatch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "aggregator.db"
    if args.build_only:
        build(path, args.scale, args.days)
        return
    if not (workdir / "meta").exists():
        # build in a child process so this one's peak RSS is the aggregator's, not the generator's
        subprocess.run([sys.executable, __file__, "--build-only", "--scale", str(args.scale), "--days", str(args.days),
                        "--dir", str(workdir)], check=True)  # fmt: skip
    measure(path, args)


if __name__ == "__main__":
    main()
