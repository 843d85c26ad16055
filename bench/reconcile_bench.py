"""Benchmark: import a 400,000-row provincial register and reconcile it against 400,000 discovered cameras.

Synthetic but shaped like the real fleet: cameras in clusters of ~10 around sites placed
inside their own province (on the aggregator's province outlines), 70 % of register rows with a serial, some with a MAC, all with a private IP
(repeating between sites); of the discovered cameras 80 % are declared ones (some replaced,
some moved), the rest unregistered; 10 % of declared cameras are never seen.

Baselines measured in the same run, on the same data:
* import: a plain ``csv.reader`` pass over the same file (the cost of reading it at all);
* reconcile: a plain dict join on serial (the cheapest possible matching, serial only), and a
  naive all-pairs position match on a subset, extrapolated to the full size (O(n^2)).

Run: ``.venv/bin/python bench/reconcile_bench.py [--rows 400000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geothai  # noqa: E402

import aggregator.audit.register as register_module  # noqa: E402
import aggregator.audit.store as audit_store  # noqa: E402
from aggregator.audit.province_check import load_outlines  # noqa: E402
from aggregator.audit.reconcile import reconcile  # noqa: E402
from aggregator.audit.register import import_register  # noqa: E402
from aggregator.audit.spatial import haversine_m  # noqa: E402
from aggregator.audit.store import load_declared, load_discovered, run_reconcile  # noqa: E402
from aggregator.geography import load_geography  # noqa: E402
from aggregator.schema import open_db  # noqa: E402

HEADER = ["register_id", "province", "district", "agency", "location", "latitude", "longitude",
          "maker", "model", "ip", "mac", "serial", "installed", "status"]
M_DEG = 1 / 111_195.0


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def make_fleet(rows: int, seed: int = 8) -> tuple[list[list[str]], list[tuple], list[tuple]]:
    """Return (register rows, site rows, camera rows) for the synthetic fleet."""
    rng = random.Random(seed)
    districts = [d for p in geothai.provinces() for d in geothai.districts(p.code)]
    register: list[list[str]] = []
    sites: list[tuple] = []
    cameras: list[tuple] = []
    n_sites = max(1, rows // 10)
    site_pos = []
    outlines = load_outlines()
    assert outlines is not None, "the province map is part of the aggregator package"
    for s in range(n_sites):
        d = districts[s % len(districts)]
        # A site somewhere inside its own province (the importer refuses other provinces).
        rings = outlines.rings[d.province_code]
        while True:
            _, (x0, y0, x1, y1) = rings[rng.randrange(len(rings))]
            lat, lon = rng.uniform(y0, y1), rng.uniform(x0, x1)
            if outlines.containing(lat, lon) == d.province_code:
                break
        site_pos.append((d, lat, lon))
        sites.append((s + 1, f"site-{s:06d}", d.province_code, d.code, f"Site {s}", lat, lon, "", 0, 0, 0))
    cam_id = 0
    for i in range(rows):
        s = i % n_sites
        d, slat, slon = site_pos[s]
        lat = slat + rng.uniform(-80, 80) * M_DEG
        lon = slon + rng.uniform(-80, 80) * M_DEG
        serial = f"SN{i:08d}" if rng.random() < 0.7 else ""
        mac = f"02:00:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
        ip = f"192.168.{(i // 250) % 250}.{i % 250 + 1}"
        register.append([f"R{i}", d.province_code, d.code, "agency", f"place {i}", f"{lat:.6f}",
                         f"{lon:.6f}", "Hikvision", "DS-2CD", ip, mac if rng.random() < 0.2 else "",
                         serial, "2019-05-01", "ใช้งานได้" if rng.random() < 0.8 else "ชำรุด"])
        roll = rng.random()
        if roll < 0.10:
            continue  # a ghost: never seen
        seen_serial = serial or f"X{i:08d}"
        if roll < 0.13:
            seen_serial = f"NEW{i:08d}"  # replaced at the same place
        site_row = s + 1
        if roll > 0.98:  # moved to another site, kilometres away
            moved_to = (s + 7) % n_sites
            site_row, lat, lon = moved_to + 1, site_pos[moved_to][1], site_pos[moved_to][2]
        cam_id += 1
        state = 0 if rng.random() < 0.85 else 2
        cameras.append((cam_id, site_row, f"cam{i}", seen_serial, mac, ip, lat, lon, state))
    for j in range(rows - len(cameras)):  # unregistered cameras fill up to the same count
        s = rng.randrange(n_sites)
        d, slat, slon = site_pos[s]
        cam_id += 1
        cameras.append((cam_id, s + 1, f"extra{j}", f"U{j:08d}", "", f"10.9.{j % 250}.{j // 250 % 250}",
                        slat + rng.uniform(-80, 80) * M_DEG, slon, 0))
    return register, sites, cameras


def load_fleet(db, sites: list[tuple], cameras: list[tuple]) -> None:
    with db.conn:
        db.conn.executemany(
            "INSERT INTO sites (id, site_id, province, district, name, lat, lon, agency, "
            "last_event_id, heartbeat_interval_s, online) VALUES (?,?,?,?,?,?,?,?,?,?,?)", sites)
        db.conn.executemany(
            "INSERT INTO cameras (id, site, camera_id, serial, mac, address, lat, lon, state, "
            "first_seen_ms, last_seen_ms, since_ms, tail_ms) VALUES (?,?,?,?,?,?,?,?,?,0,0,0,0)", cameras)


def naive_position_pairs(declared: list, discovered: list, radius: float) -> int:
    pairs = 0
    for d in declared:
        for s in discovered:
            if s.lat is not None and haversine_m(d.lat, d.lon, s.lat, s.lon) <= radius:
                pairs += 1
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-subset", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        register, sites, cameras = make_fleet(args.rows)
        path = work / "register.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(register)
        db = open_db(work / "bench.sqlite3")
        load_geography(db)
        load_fleet(db, sites, cameras)
        print(f"fleet: {len(register)} register rows ({path.stat().st_size / 1e6:.1f} MB), "
              f"{len(sites)} sites, {len(cameras)} discovered cameras; built in "
              f"{time.perf_counter() - t:.1f} s")

        def read_csv() -> int:
            with path.open(encoding="utf-8", newline="") as handle:
                return sum(1 for _ in csv.reader(handle))

        # How long an import holds the database's write lock: its merge phase only.
        merge_times: list[float] = []
        real_merge = register_module._merge

        def timed_merge(*a: object, **kw: object) -> object:
            t = time.perf_counter()
            try:
                return real_merge(*a, **kw)  # type: ignore[arg-type]
            finally:
                merge_times.append(time.perf_counter() - t)

        register_module._merge = timed_merge  # type: ignore[assignment]
        base_read, _ = median_time(read_csv, args.repeat)
        t = time.perf_counter()
        first = import_register(db, path)
        first_s = time.perf_counter() - t
        again_s, again = median_time(lambda: import_register(db, path), args.repeat)
        print(f"baseline csv.reader pass:       {base_read:8.2f} s (median of {args.repeat})")
        print(f"import (first, {first.inserted} inserted): {first_s:8.2f} s  "
              f"= {first_s / base_read:.1f}x the csv.reader pass, {len(register) / first_s:,.0f} rows/s")
        print(f"re-import (all unchanged):      {again_s:8.2f} s (median of {args.repeat}) "
              f"= {again_s / base_read:.1f}x; unchanged={again.unchanged} rejected={again.rejected}")  # type: ignore[attr-defined]

        print(f"write lock held (merge phase):  {merge_times[0]:8.2f} s first import, "
              f"{statistics.median(merge_times[1:]):.2f} s re-import (median)")
        declared, discovered = load_declared(db), load_discovered(db)

        def dict_join() -> int:
            index = {s.serial: s for s in discovered if s.serial}
            return sum(1 for d in declared if d.serial and d.serial in index)

        base_join, joined = median_time(dict_join, args.repeat)
        match_s, matches = median_time(lambda: reconcile(declared, discovered), args.repeat)
        save_times: list[float] = []
        real_save = audit_store.save_matches

        def timed_save(*a: object, **kw: object) -> object:
            t = time.perf_counter()
            try:
                return real_save(*a, **kw)  # type: ignore[arg-type]
            finally:
                save_times.append(time.perf_counter() - t)

        audit_store.save_matches = timed_save  # type: ignore[assignment]
        full_s, run = median_time(lambda: run_reconcile(db), max(1, args.repeat - 1))
        n = args.naive_subset
        t = time.perf_counter()
        naive_position_pairs(declared[:n], discovered[:n], 30.0)
        naive_s = time.perf_counter() - t
        naive_full = naive_s * (len(declared) / n) * (len(discovered) / n)
        print(f"baseline dict join on serial:   {base_join:8.2f} s (median; {joined} pairs, serial only)")
        print(f"reconcile (pure, all 5 rules):  {match_s:8.2f} s (median) = {match_s / base_join:.1f}x "
              f"the serial dict join; {len(matches)} lines")  # type: ignore[arg-type]
        print(f"reconcile incl. load + save:    {full_s:8.2f} s (median); classes {run[1]}")  # type: ignore[index]
        print(f"saving lines (20k per commit):  {statistics.median(save_times):8.2f} s (median; "
              "the write lock is held for one chunk at a time)")
        print(f"naive O(n^2) position match:    {naive_s:8.2f} s for {n}x{n}, extrapolated "
              f"{naive_full:,.0f} s for the full size = {naive_full / match_s:,.0f}x the grid index")
        print(f"total import + reconcile:       {first_s + full_s:8.2f} s")


if __name__ == "__main__":
    main()
