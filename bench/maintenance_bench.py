"""Maintenance windows in the monthly report and in "cameras per state now", at national scale,
beside baselines measured in the same run.

Database: an existing national bench database (``--db``; bench/aggregator_bench.py builds one:
1M cameras on 15,600 sites over every DOPA district, a month of transitions), opened
read-only. The windows go into a TEMP table of the connection, which shadows the (empty)
stored one, so the file is never written and nobody else's figures change.

Measured, medians of ``--runs``:

* the report's per-site totals for the month: without windows (baseline: what the report
  read before windows counted), and with a weekly district window across Bangkok midnight, a
  30-hour one-off district window and a 4-hour one-off site window; beside it the availability
  API's nation rollup over the same month with the same windows;
* cameras per state now: the baseline reads the per-district counts (the API's SQL path);
  added on top, the cost with no active window (the common case: one read of the windows
  table) and with active windows (a district, a site, and a camera id, which in the bench
  database names one camera at every site: 15,600 cameras).

    .venv/bin/python bench/maintenance_bench.py --db /tmp/dbench-1/aggregator.db [--runs 7]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlite_utils import Database  # noqa: E402

from aggregator.availability import Window, month_window  # noqa: E402
from aggregator.days import BANGKOK, day_of, from_ms  # noqa: E402
from aggregator.store.maintenance import load_windows  # noqa: E402
from aggregator.store.maintenance_now import DbCameras, active_cover, adjust_counts, stored_counts  # noqa: E402
from aggregator.store.rollups import Level, checkpoint_ms, rollup_totals  # noqa: E402
from aggregator.store.site_totals import planned_site_totals, raw_site_totals  # noqa: E402

_COLUMNS = ("target_kind TEXT, target_id TEXT, starts_at TEXT, ends_at TEXT, weekday INTEGER, start_time TEXT, "
            "duration_min INTEGER, note TEXT, created_by TEXT, created_at TEXT")  # fmt: skip


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache once
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _set_windows(db: Database, rows: list[tuple[object, ...]]) -> None:
    db.execute("DELETE FROM temp.maintenance_windows")
    db.conn.executemany(
        "INSERT INTO temp.maintenance_windows(target_kind, target_id, starts_at, ends_at, weekday, start_time, "
        "duration_min, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 'bench', '')", rows)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True, type=Path, help="national bench database (opened read-only)")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True, check_same_thread=False)
    db = Database(conn)
    db.execute(f"CREATE TEMP TABLE maintenance_windows (id INTEGER PRIMARY KEY, {_COLUMNS})")
    sites, cameras = (db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("sites", "camera_inventory"))
    end = checkpoint_ms(db)  # the last rolled midnight: the month's report as the writer left it
    last = from_ms(end - 1).astimezone(BANGKOK)
    month = last.strftime("%Y-%m")
    full = month_window(month)
    window = Window(full.start_ms, min(full.end_ms, end))
    d0 = from_ms(window.start_ms).astimezone(BANGKOK)
    site_id, camera_id = db.execute(
        "SELECT s.site_id, c.camera_id FROM camera_inventory c JOIN sites s ON s.id = c.site "
        "WHERE s.district = '5001' LIMIT 1").fetchone()  # fmt: skip
    print(f"database: {sites:,} sites, {cameras:,} cameras; report month {month} "
          f"({(window.end_ms - window.start_ms) / 86_400_000:.1f} days, {len(range(day_of(window.start_ms), day_of(window.end_ms)))} whole)")  # fmt: skip
    print(f"runs: {args.runs} (medians)\n")

    one_off_start = d0 + timedelta(days=9, hours=9)
    month_windows = [
        ("district", "1001", None, None, 6, "22:00", 240),  # every Sunday 22:00-02:00 Bangkok
        ("district", "5001", one_off_start.isoformat(), (one_off_start + timedelta(hours=30)).isoformat(), None, None, None),
        ("site", site_id, (d0 + timedelta(days=14, hours=13)).isoformat(), (d0 + timedelta(days=14, hours=17)).isoformat(),
         None, None, None),
    ]  # fmt: skip
    _set_windows(db, [])
    base = _median_ms(lambda: raw_site_totals(db, window), args.runs)
    none = _median_ms(lambda: planned_site_totals(db, window), args.runs)
    _set_windows(db, month_windows)
    assert len(load_windows(db)) == 3
    planned = _median_ms(lambda: planned_site_totals(db, window), args.runs)
    with_w = planned_site_totals(db, window)
    raw = raw_site_totals(db, window)
    moved = sum(t.maint_ms for t in with_w.values()) - sum(t.maint_ms for t in raw.values())
    summed = sum((t.maint_ms for t in with_w.values()), 0)
    try:
        api = f"{_median_ms(lambda: rollup_totals(db, Level.NATION, None, window), args.runs):9.1f} ms"
        api += f"   (sites summed == API: {summed == rollup_totals(db, Level.NATION, None, window).maint_ms})"
    except sqlite3.OperationalError as err:  # a database built before a later schema migration
        api = f"not measured ({err}: rebuild the bench database)"
    print("report: per-site totals of the month (every site of the nation)")
    print(f"  baseline, reported states only        {base:9.1f} ms")
    print(f"  no window stored                      {none:9.1f} ms   x{none / base:.2f}")
    print(f"  3 windows (weekly, 30 h, site 4 h)    {planned:9.1f} ms   x{planned / base:.2f}   "
          f"({moved / 3_600_000:,.0f} camera-hours moved to maintenance)")  # fmt: skip
    print(f"  API nation rollup, same windows       {api}\n")

    counts = stored_counts(db)
    at = datetime(last.year, last.month, last.day, 12, tzinfo=BANGKOK)
    baseline = _median_ms(lambda: stored_counts(db), args.runs)
    _set_windows(db, [])
    idle = _median_ms(lambda: adjust_counts(counts, active_cover(load_windows(db), at), DbCameras(db)), args.runs)
    active = [
        ("district", "1002", (at - timedelta(hours=1)).isoformat(), (at + timedelta(hours=1)).isoformat(), None, None, None),
        ("site", site_id, (at - timedelta(hours=1)).isoformat(), (at + timedelta(hours=1)).isoformat(), None, None, None),
    ]  # fmt: skip
    _set_windows(db, active)
    two = _median_ms(lambda: adjust_counts(counts, active_cover(load_windows(db), at), DbCameras(db)), args.runs)
    shared = sum(1 for _ in DbCameras(db).named(camera_id))
    _set_windows(db, [*active, ("camera", camera_id, (at - timedelta(hours=1)).isoformat(),
                                (at + timedelta(hours=1)).isoformat(), None, None, None)])  # fmt: skip
    three = _median_ms(lambda: adjust_counts(counts, active_cover(load_windows(db), at), DbCameras(db)), args.runs)
    print("cameras per state now (per-district counts)")
    print(f"  baseline, counts read (SQL path)      {baseline:9.1f} ms")
    print(f"  added, no active window               {idle:9.3f} ms   x{idle / baseline:.4f} of the baseline")
    print(f"  added, district + site active         {two:9.3f} ms   x{two / baseline:.4f}")
    print(f"  added, + camera id on {shared:,} cameras   {three:9.1f} ms   x{three / baseline:.4f}")


if __name__ == "__main__":
    main()
