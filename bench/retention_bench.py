"""History retention at national scale: the carry step, the day deletions, and the write path
with and without a history floor, beside baselines measured in the same run.

Database: a copy of the national bench database that bench/aggregator_bench.py builds and keeps
in ``--dir`` (1M cameras on 15,600 sites, 30 days of transitions); the copy is written, the
original is not. The bench history is shorter than the shortest window the service accepts
(``MIN_KEEP_DAYS``), so the floor is put ``--floor-after`` days into it directly.

Printed, medians where repeated:

* the write path (the store's ``apply``, 16-event site messages) before any floor, then with a
  floor set and the carry rows written (every event is compared with the floor): ratio;
* the carry steps (every camera's carry row, tails moved; one per month the floor crosses) and
  the peak RSS they add, beside the baseline of finding each camera's newest row before the floor with one SQL ``GROUP BY``;
* deleting the days before the floor, one transaction each: median and maximum.

    .venv/bin/python bench/retention_bench.py --dir /tmp/w1 [--floor-after 16] [--events 200000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aggregator_bench import CAMS_PER_SITE, Country, sustained  # noqa: E402

from aggregator.geography import load_geography  # noqa: E402
from aggregator.schema import open_db  # noqa: E402
from aggregator.store import retention  # noqa: E402
from aggregator.store.state import STATE_FLUSH_S, StateStore  # noqa: E402


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _writes(store: StateStore, country: Country, n: int, runs: int) -> float:
    return statistics.median(sustained(store, country, n, per_site=16) for _ in range(runs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, type=Path, help="bench/aggregator_bench.py --dir (aggregator.db, meta)")
    p.add_argument("--floor-after", type=int, default=16, help="days into the history where the floor goes")
    p.add_argument("--events", type=int, default=200_000, help="statuses per write-path run")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    source, copy = args.dir / "aggregator.db", args.dir / "retention-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    for suffix in ("", "-wal"):  # the WAL too: what the last writer committed may still be in it
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
    n_sites = int((args.dir / "meta").read_text().split()[0])
    db = open_db(copy)
    geo = load_geography(db)
    store = StateStore(db, geo, state_flush_s=STATE_FLUSH_S)
    country = Country(geo, n_sites)
    for site in store.sites.values():
        country.event_ids[int(site.site_id[1:])] = site.last_event_id
    print(f"== {n_sites} sites, {n_sites * CAMS_PER_SITE} cameras; copy of {source}")

    before = _writes(store, country, args.events, args.runs)
    print(f"write path, no floor:     median {before:,.0f} statuses/s")

    first = int(db.execute("SELECT MIN(day) FROM transitions").fetchone()[0])
    floor = first + args.floor_after
    t = time.perf_counter()
    rows = db.execute("SELECT camera, MAX(at_ms), new_state, reason FROM transitions WHERE day < ? GROUP BY camera",
                      [floor]).fetchall()  # fmt: skip
    group_by_s = time.perf_counter() - t
    found = len(rows)
    del rows
    retention.floor_day = lambda checkpoint_ms, keep_days: floor  # the bench history is shorter than any keep
    rss = _rss_mib()
    steps: list[tuple[float, int]] = []  # the first kept day moves a month per step
    while True:
        t = time.perf_counter()
        report = store.prune_history(retention.MIN_KEEP_DAYS, max_days=0)
        if not report.carried:
            break
        steps.append((time.perf_counter() - t, report.carried))
    carry_s = sum(s for s, _ in steps)
    print(f"carry steps (one per month crossed): {len(steps)}, "
          f"{' + '.join(f'{n:,} rows in {s:.1f} s' for s, n in steps)}; peak RSS {rss:.0f} -> {_rss_mib():.0f} MiB; "
          f"baseline, newest row before the floor of {found:,} cameras by one GROUP BY: {group_by_s:.1f} s "
          f"(ratio {carry_s / group_by_s:.1f})")  # fmt: skip

    after = _writes(store, country, args.events, args.runs)
    print(f"write path, floor set:    median {after:,.0f} statuses/s (ratio to no floor {after / before:.2f})")
    times, deleted = [], 0
    while True:
        t = time.perf_counter()
        step = store.prune_history(retention.MIN_KEEP_DAYS, max_days=1)
        if not step.days_deleted:
            break
        times.append(time.perf_counter() - t)
        deleted += step.transitions_deleted + step.camera_days_deleted
    print(f"deleting {len(times)} days ({deleted:,} rows), one transaction each: "
          f"median {statistics.median(times):.2f} s, max {max(times):.2f} s")

    db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
