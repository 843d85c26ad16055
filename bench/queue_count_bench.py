"""The fault queue's total (``X-Total-Count``) with a year of history (issue 15): 50,000 open
faults beside 450,000 resolved ones, after ``ANALYZE``, the plain ``COUNT(*)`` the store used to
run against :meth:`FaultStore.count` now, each as the queue asks it (national, one province,
a filtered page), medians of the same run, with the query plans.

    PYTHONPATH=$PWD python bench/queue_count_bench.py [--open 50000] [--resolved 450000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

__all__ = ["main"]

_RUNS = 30


def seed(db_path: Path, open_count: int, resolved: int) -> None:
    """``open_count`` open camera faults over every province, and ``resolved`` closed ones a year older."""
    from aggregator.geography import load_geography
    from aggregator.schema import open_db
    from tests.rig.faults import open_fault_rows

    db = open_db(db_path)
    provinces = tuple(sorted(load_geography(db).provinces))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = open_fault_rows(open_count, start, provinces=provinces, first_id=1)
    for n, r in enumerate(rows):
        if n % 5 == 0:
            r.update(status="acknowledged", acknowledged_at=r["opened_at"], acknowledged_by="Somchai")
    with db.conn:
        db["faults"].insert_all(rows, batch_size=5000)  # type: ignore[union-attr]
    old = open_fault_rows(resolved, datetime(2025, 1, 1, tzinfo=UTC), provinces=provinces, first_id=open_count + 1)
    for r in old:
        r.update(status="resolved", resolution="auto", resolved_at=r["opened_at"])
    with db.conn:
        db["faults"].insert_all(old, batch_size=5000)  # type: ignore[union-attr]
    db.execute("ANALYZE")
    db.conn.commit()
    db.close()


def _median_ms(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(_RUNS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=50_000)
    parser.add_argument("--resolved", type=int, default=450_000)
    args = parser.parse_args()
    from sqlite_utils import Database

    from aggregator.faults.store import FaultFilter, FaultStore
    from protocol import CameraState

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "faults.db"
        t = time.perf_counter()
        seed(path, args.open, args.resolved)
        print(f"seeded {args.open:,} open + {args.resolved:,} resolved faults in {time.perf_counter() - t:.1f} s")
        db = Database(path)
        store = FaultStore(db)
        cases = {
            "national queue": FaultFilter(active=True, top_level=True),
            "one province": FaultFilter(provinces=["10"], active=True, top_level=True),
            "filtered": FaultFilter(active=True, top_level=True, province="50", state=CameraState.DOWN, acknowledged=False),
            "national, down": FaultFilter(active=True, top_level=True, state=CameraState.DOWN, acknowledged=False),
            "all statuses": FaultFilter(top_level=True),
        }
        print(f"{'query':16} {'plain COUNT ms':>15} {'count() ms':>11} {'ratio':>7}  exact")
        for name, flt in cases.items():
            where, params = FaultStore._where(flt)
            plain_sql = f"SELECT COUNT(*) FROM faults {where}"
            plain = _median_ms(partial(db.execute, plain_sql, params))
            new = _median_ms(partial(store.count, flt))
            same = int(db.execute(plain_sql, params).fetchone()[0]) == store.count(flt)
            print(f"{name:16} {plain:15.2f} {new:11.2f} {plain / new:6.1f}x  {same}")
            print(f"{'':16} plan before: {'; '.join(r[3] for r in db.execute(f'EXPLAIN QUERY PLAN {plain_sql}', params))}")
            sql, sparams = store.count_sql(flt)
            print(f"{'':16} plan after:  {'; '.join(r[3] for r in db.execute(f'EXPLAIN QUERY PLAN {sql}', sparams))}")
        db.close()


if __name__ == "__main__":
    main()
