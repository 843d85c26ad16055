"""Dashboard benchmark: p50/p95 load time of the nation, a province and a camera page, and of
the fault queue (first page, and a filtered page) with ``--queue`` open faults (50,000 default).

A page load is what the browser does for it: the HTML shell, then the API calls the page's
ES module makes (issued concurrently, as its ``Promise.all`` does), against a real
``camwatch-aggregator serve`` over HTTP on a database of a synthetic country with 30 days of
history (built by the aggregator benchmark's generator, ``bench/aggregator_bench.py``:
1,000,000 cameras over 15,600 sites at ``--scale 1``). Static modules are left out: a
browser caches them (the shell busts the cache only on a new release).

Baseline in the same run: the ``/healthz`` round trip (one request, no token, no query), so
the ratio says how many "empty round trips" a page costs on this machine.

The queue's faults are added to the database once (ids from ``QUEUE_FIRST_ID``, spread over
every province, a minute apart), as open camera faults the fault service reads like any other.

Usage: ``python bench/dashboard_bench.py --scale 1 --dir var/bench-1m`` (the database is
reused when present); ``--scale 0.05`` for a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.aggregator_bench import build  # noqa: E402  (the core's country generator)
from bench.audit_pages import (  # noqa: E402  (issue 14)
    AUDIT_PAGES,
    audit_page_calls,
    cold_table_s,
    pack_audit_times,
    seed_register,
)
from bench.queue_search_bench import explain_queue, search_calls, search_queries  # noqa: E402  (issue 15)

# One request of the benchmark; a page that takes longer is broken, not slow.
REQUEST_TIMEOUT_S = 60.0


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]


def page_calls(kind: str, province: str, district: str, site: str, camera: str) -> list[list[str]]:
    """The API calls of one page, in stages (a stage runs concurrently), as the JS makes them."""
    windows = ("last_24h", "last_7d", "last_30d")
    if kind in AUDIT_PAGES:  # the audit pages (issue 14): bench/audit_pages.py
        return audit_page_calls(kind)
    if kind == "nation":
        return [["/api/v1/nation", "/api/v1/provinces", "/api/v1/faults?active=true&limit=1&top_level=true",
                 *(f"/api/v1/availability?level=nation&window={w}" for w in windows)]]  # fmt: skip
    if kind == "province":
        return [[f"/api/v1/provinces/{province}", *(f"/api/v1/availability?level=province&key={province}&window={w}"
                                                    for w in windows)],
                [f"/api/v1/districts?province={province}"]]  # fmt: skip
    queue = "/api/v1/faults?active=true&top_level=true&limit=50&offset=0&sort=opened_at"
    if kind == "queue":  # pages/faults.js: the provinces for its filter, then the first page
        return [["/api/v1/provinces"], [queue]]
    if kind == "queue filtered":  # a province, a state, nobody on it yet, searched
        return [["/api/v1/provinces"], [f"{queue}&province={province}&state=down&acknowledged=false&q=cam-1"]]
    return [[f"/api/v1/cameras/{site}/{camera}"],
            [f"/api/v1/reports/camera-days/{site}/{camera}?days=30",
             f"/api/v1/faults?site={site}&camera_id={camera}&limit=20&sort=-opened_at",
             f"/api/v1/provinces/{province}", f"/api/v1/districts/{district}"]]  # fmt: skip


async def load_page(client: httpx.AsyncClient, stages: list[list[str]]) -> float:
    """Seconds to fetch the shell and every stage of API calls."""
    t = time.perf_counter()
    (await client.get("/")).raise_for_status()
    for stage in stages:
        answers = await asyncio.gather(*(client.get(path) for path in stage))
        for a in answers:
            a.raise_for_status()
    return time.perf_counter() - t


# A server just started on a synthetic country first marks every silent site's cameras unknown
# (one long write) and opens their faults; pages are measured once that has settled.
SETTLE_TIMEOUT_S = 1800.0
SETTLED_BELOW_S = 5.0


async def settle(url: str, token: str) -> float:
    """Wait until two nation summaries in a row answer quickly; return the seconds waited."""
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    fast = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=SETTLE_TIMEOUT_S) as client:
        while fast < 2 and time.perf_counter() - t0 < SETTLE_TIMEOUT_S:
            t = time.perf_counter()
            (await client.get("/api/v1/nation")).raise_for_status()
            fast = fast + 1 if time.perf_counter() - t < SETTLED_BELOW_S else 0
    return time.perf_counter() - t0


PAGES = ("nation", "province", "camera", "queue", "queue filtered")
PAGES = PAGES + AUDIT_PAGES  # issue 14: timed beside the nation page in the same run
QUEUE_FIRST_ID = 10_000_000  # the queue's seeded faults: above any id the service gives


def seed_queue(db_path: Path, count: int) -> int:
    """Add ``count`` open camera faults over every province (once); return how many are there."""
    from aggregator.schema import open_db
    from tests.rig.faults import open_fault_rows

    db = open_db(db_path)
    try:
        have = int(db.execute("SELECT COUNT(*) FROM faults WHERE id >= ?", [QUEUE_FIRST_ID]).fetchone()[0])
        if have < count:
            provinces = tuple(str(r[0]) for r in db.execute("SELECT DISTINCT province FROM sites ORDER BY 1"))
            rows = open_fault_rows(count - have, datetime(2026, 1, 1, tzinfo=UTC), provinces=provinces,
                                   first_id=QUEUE_FIRST_ID + have)  # fmt: skip
            with db.conn:
                db["faults"].insert_all(rows, batch_size=5000)  # type: ignore[union-attr]
        return int(db.execute("SELECT COUNT(*) FROM faults WHERE status IN ('open', 'acknowledged')").fetchone()[0])
    finally:
        db.close()


async def measure(url: str, token: str, repeat: int, target: tuple[str, str, str, str]) -> dict[str, list[float]]:
    """Time ``repeat`` loads of each page and of the baseline, interleaved."""
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, list[float]] = {"healthz (baseline)": [], **{kind: [] for kind in PAGES}}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        for kind in PAGES:  # warm-up: first loads fill SQLite's page cache
            await load_page(client, page_calls(kind, *target))
        for _ in range(repeat):
            t = time.perf_counter()
            (await client.get("/healthz")).raise_for_status()
            out["healthz (baseline)"].append(time.perf_counter() - t)
            for kind in PAGES:
                out[kind].append(await load_page(client, page_calls(kind, *target)))
    return out


async def measure_search(url: str, token: str, repeat: int, queries: list[str]) -> list[float]:
    """Time ``repeat`` rounds of the header search's queries (issue 15)."""
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=REQUEST_TIMEOUT_S) as client:  # fmt: skip
        out: list[float] = []
        for n in range(repeat + 1):  # the first round warms up
            t = time.perf_counter()
            for stage in search_calls(queries):  # no shell: the search runs on a loaded page
                for path in stage:
                    (await client.get(path)).raise_for_status()
            if n:
                out.append(time.perf_counter() - t)
        return out


# What each page shows once its data is drawn (the browser measurement waits for it).
READY = {"nation": "#province-table tbody tr", "province": "#districts-table tbody tr a",
         "camera": "#day-bars .bar"}  # fmt: skip


def browser_loads(url: str, token: str, repeat: int, target: tuple[str, str, str, str]) -> dict[str, list[float]]:
    """Seconds from navigation to the page's data drawn, in headless Chromium (modules cached)."""
    from playwright.sync_api import sync_playwright

    province, _district, site, camera = target
    hashes = {"nation": "#/nation", "province": f"#/province/{province}", "camera": f"#/camera/{site}/{camera}"}
    out: dict[str, list[float]] = {f"{k} (Chromium)": [] for k in hashes}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip
        try:
            ctx = browser.new_context()
            ctx.add_init_script(f"sessionStorage.setItem('camwatch.token', {token!r});")
            page = ctx.new_page()
            page.set_default_timeout(REQUEST_TIMEOUT_S * 1000)
            for i in range(repeat + 1):  # the first round warms the module cache
                for kind, hash_ in hashes.items():
                    page.goto("about:blank")
                    t = time.perf_counter()
                    page.goto(f"{url}/{hash_}")
                    page.wait_for_selector(READY[kind])
                    if i:
                        out[f"{kind} (Chromium)"].append(time.perf_counter() - t)
        finally:
            browser.close()
    return out


# ----- the committee pack (issue 14): nation's pack as HTML and PDF, beside the nation page -----
RESOLVED_FIRST_ID = 20_000_000  # the pack's seeded resolved faults: above the queue's ids
PACK_TIMEOUT_S = 600.0  # one national pack (two monthly reports, 30 daily rollups, a Chromium print)


def seed_resolved(db_path: Path, count: int) -> int:
    """Add ``count`` camera faults resolved over the last 30 days, with parts and cost (once):
    what the pack's time-to-repair and spend sections read. Returns how many are there."""
    from datetime import timedelta

    from aggregator.schema import open_db
    from aggregator.timetext import iso

    db = open_db(db_path)
    try:
        have = int(db.execute("SELECT COUNT(*) FROM faults WHERE id >= ?", [RESOLVED_FIRST_ID]).fetchone()[0])
        if have < count:
            provinces = [str(r[0]) for r in db.execute("SELECT DISTINCT province FROM sites ORDER BY 1")]
            end = datetime.now(UTC)
            rows = []
            for n in range(have, count):
                province = provinces[n % len(provinces)]
                opened = end - timedelta(minutes=43 * n % (30 * 24 * 60) + 600)
                resolved = opened + timedelta(minutes=30 + (n * 97) % (72 * 60))
                rows.append({
                    "id": RESOLVED_FIRST_ID + n, "kind": "camera", "status": "resolved", "province": province,
                    "district": f"{province}01", "site": f"r-{province}-{n // 16}", "camera_id": f"cam-r{n}",
                    "state": "down", "reason": "unreachable", "opened_at": iso(opened), "first_opened_at": iso(opened),
                    "resolved_at": iso(min(resolved, end)), "resolved_by": "bench", "resolution": "technician",
                    "agency": "", "note": "", "parts": ("PSU", "lens, PSU", "", "cable")[n % 4],
                    "cost": (None, 850.0, 1200.5, 300.0)[n % 4], "reopen_count": 0, "escalation_level": 0,
                    "historical": 0, "affected": 1,
                })  # fmt: skip
            with db.conn:
                db["faults"].insert_all(rows, batch_size=5000)  # type: ignore[union-attr]
        return int(db.execute("SELECT COUNT(*) FROM faults WHERE id >= ?", [RESOLVED_FIRST_ID]).fetchone()[0])
    finally:
        db.close()


async def pack_times(url: str, token: str, repeat: int) -> dict[str, list[float]]:
    """Seconds to make the nation's committee pack of this month through the API, HTML and PDF."""
    from aggregator.days import BANGKOK

    month = datetime.now(UTC).astimezone(BANGKOK).strftime("%Y-%m")
    out: dict[str, list[float]] = {"pack nation (HTML)": [], "pack nation (PDF)": []}
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=PACK_TIMEOUT_S) as client:  # fmt: skip
        for _ in range(repeat):
            for name, fmt in (("pack nation (HTML)", "html"), ("pack nation (PDF)", "pdf")):
                t = time.perf_counter()
                answer = await client.get("/api/v1/reports/pack", params={"month": month, "format": fmt})
                answer.raise_for_status()
                out[name].append(time.perf_counter() - t)
    return out


def _target(db_path: Path) -> tuple[str, str, str, str]:
    """A camera in the province with the most cameras (the heaviest province page)."""
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        province = con.execute(
            "SELECT s.province FROM cameras c JOIN sites s ON s.id = c.site GROUP BY s.province "
            "ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]  # fmt: skip
        district, site, camera = con.execute(
            "SELECT s.district, s.site_id, c.camera_id FROM cameras c JOIN sites s ON s.id = c.site "
            "WHERE s.province = ? ORDER BY c.id LIMIT 1", [province]).fetchone()  # fmt: skip
        return str(province), str(district), str(site), str(camera)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 cameras over 15,600 sites")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=None, help="keep the database here (reused when present)")
    parser.add_argument("--queue", type=int, default=50_000, help="open faults in the fault queue")
    parser.add_argument("--declared", type=int, default=400_000, help="declared cameras in the audit register (issue 14)")
    parser.add_argument("--browser", type=int, default=0, metavar="N",
                        help="also time N real page loads in headless Chromium (data drawn)")  # fmt: skip
    parser.add_argument("--pack", type=int, default=3, metavar="N",
                        help="time N national committee packs (HTML and PDF); 0 leaves them out")  # fmt: skip
    parser.add_argument("--resolved", type=int, default=20_000, help="faults resolved this month (the pack's MTTR)")
    args = parser.parse_args()
    workdir = args.dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"camwatch-dashboard-bench-{args.scale:g}"
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "aggregator.db"
    if not db_path.exists():
        build(db_path, args.scale, args.days)
    import sqlite3

    con = sqlite3.connect(db_path)
    cameras = int(con.execute("SELECT COUNT(*) FROM camera_inventory").fetchone()[0])
    con.close()
    target = _target(db_path)
    open_faults = seed_queue(db_path, args.queue)
    queue_plans = explain_queue(db_path, target[0])  # issue 15: the partial index of open faults
    searches = search_queries(db_path)  # issue 15: the header search
    resolved_faults = seed_resolved(db_path, args.resolved) if args.pack else 0
    declared = seed_register(db_path, args.declared)  # issue 14: the audit pages' register
    # A live country: every site heard from just now with an hourly heartbeat, as running agents
    # would be. Without this the server's first act is to sweep 15,600 synthetic sites as silent
    # (one long write turning 1M cameras unknown, then their faults), which is not a page load.
    con = sqlite3.connect(db_path)
    with con:
        con.execute("UPDATE sites SET last_seen_ms = ?, heartbeat_interval_s = 3600", [int(time.time() * 1000)])
    con.close()

    from deploy.demo.services import aggregator_env, mint_token
    from tests.rig.ports import free_port

    port = free_port()
    env = aggregator_env(workdir, 1, port)  # no broker: the server runs with --no-ingest
    env.update(CAMWATCH_RATE_LIMIT_PER_S="10000", CAMWATCH_RATE_LIMIT_BURST="100000")
    token = mint_token(db_path, "admin", "bench", env["CAMWATCH_TOKEN_PEPPER"])
    log = (workdir / "serve.log").open("ab")
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--no-ingest"], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        from deploy.demo.services import wait_http

        wait_http(f"http://127.0.0.1:{port}/healthz", 600.0)
        print(f"server up in {time.perf_counter() - t:.1f} s on {cameras:,} cameras, {open_faults:,} open faults; "
              f"target province "
              f"{target[0]}, camera {target[2]}/{target[3]}", flush=True)  # fmt: skip
        waited = asyncio.run(settle(f"http://127.0.0.1:{port}", token))
        print(f"server settled after {waited:.0f} s (silent-site sweep, faults)", flush=True)
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}", token, args.repeat, target))
        figures["search (3 queries)"] = asyncio.run(measure_search(f"http://127.0.0.1:{port}", token, args.repeat, searches))
        if args.browser:
            figures.update(browser_loads(f"http://127.0.0.1:{port}", token, args.browser, target))
        if args.pack:
            figures.update(asyncio.run(pack_times(f"http://127.0.0.1:{port}", token, args.pack)))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    base = statistics.median(figures["healthz (baseline)"])
    print(f"\n{'page (HTML + API calls)':28} {'p50 ms':>9} {'p95 ms':>9} {'p50 / baseline':>15}")
    for name, values in figures.items():
        p50, p95 = statistics.median(values) * 1000, pct(values, 95) * 1000
        print(f"{name:28} {p50:9.1f} {p95:9.1f} {statistics.median(values) / base:15.1f}")
    print(f"\n{cameras:,} cameras, {open_faults:,} open faults, {args.repeat} loads per page, one client, "
          "server: camwatch-aggregator serve")
    print(f"\nsearches: {', '.join(searches)} (one after another, as typed)")
    print("queue queries after ANALYZE (median of 30, sqlite3 in this process):")
    for line in queue_plans:
        print(f"  {line}")
    if args.pack:
        nation = statistics.median(figures["nation"])
        for name in ("pack nation (HTML)", "pack nation (PDF)"):
            print(f"{name}: p50 {statistics.median(figures[name]):.2f} s = "
                  f"{statistics.median(figures[name]) / nation:.0f} x the nation page "
                  f"({args.pack} packs, {resolved_faults:,} resolved faults seeded)")  # fmt: skip
    nation95 = pct(figures["nation"], 95)  # issue 14: each audit page beside the nation page, same run
    print(f"\naudit pages at {declared:,} declared cameras (p95, and p95 / nation page p95 {nation95 * 1000:.1f} ms):")
    for name in AUDIT_PAGES:
        print(f"  {name:26} p95 {pct(figures[name], 95) * 1000:9.1f} ms  ratio {pct(figures[name], 95) / nation95:5.2f}")
    print(f"  completeness table computed afresh (first load after an audit change): {cold_table_s(db_path) * 1000:.0f} ms")
    sections = pack_audit_times(db_path)  # the nation's pack: its audit-reading sections, same data, same run
    before = statistics.median(sections["audit section, lines counted (before)"])
    print(f"\nnation's pack, sections reading the audit ({declared:,} declared cameras; p50 of 5, in process):")
    for name, values in sections.items():
        print(f"  {name:40} p50 {statistics.median(values) * 1000:9.1f} ms  "
              f"ratio to before {statistics.median(values) / before:6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
