"""Issue 15's part of the dashboard benchmark: the header search's p95 and what the queue's
partial index of open faults buys, measured on the dashboard bench's database.

* ``search_calls``: the header search as the page makes it (``/api/v1/search?q=`` with the
  start of a camera's serial, of its IP address and of a site id);
* ``explain_queue``: after ``ANALYZE``, the query plan (``EXPLAIN QUERY PLAN``) and the median
  time of the queue's first page and its count, with the partial index ``faults_queue`` and
  without it (dropped for the measurement, then created again).
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

__all__ = ["explain_queue", "search_calls", "search_queries"]

_QUEUE_INDEX = ("CREATE INDEX IF NOT EXISTS faults_queue ON faults(opened_at, id, parent_id) "
                "WHERE status IN ('open', 'acknowledged')")  # as migration search_v1 makes it
# A year of a country's closed faults beside the open ones (closed:open), for the second measure.
_HISTORY_RATIO = 9
_ORDER = " ORDER BY opened_at ASC, id ASC LIMIT 50 OFFSET 0"


def _queries(province: str) -> list[tuple[str, str, list[object]]]:
    """The queue's page and count, and a filtered page, as the fault store writes them."""
    from aggregator.faults.store import FaultFilter, FaultStore
    from protocol import CameraState

    where, params = FaultStore._where(FaultFilter(active=True, top_level=True))
    fwhere, fparams = FaultStore._where(FaultFilter(active=True, top_level=True, province=province,
                                                    state=CameraState.DOWN, acknowledged=False))  # fmt: skip
    return [("first page", f"SELECT * FROM faults {where}{_ORDER}", params),
            ("count", f"SELECT COUNT(*) FROM faults {where}", params),
            ("filtered page", f"SELECT * FROM faults {fwhere}{_ORDER}", fparams)]  # fmt: skip
_RUNS = 30


def search_queries(db_path: Path) -> list[str]:
    """Three searches a user types: a serial's start, an IP's start and a site id's start."""
    con = sqlite3.connect(db_path)
    try:
        serial, address = con.execute(
            "SELECT serial, address FROM camera_inventory WHERE serial != '' ORDER BY id DESC LIMIT 1").fetchone()  # fmt: skip
        site = con.execute("SELECT site_id FROM sites ORDER BY id DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()
    out = [str(serial)[: max(4, len(str(serial)) - 2)]]
    if address:
        out.append(".".join(str(address).split(".")[:3]))
    out.append(str(site)[: max(3, len(str(site)) - 1)])
    return out


def search_calls(queries: list[str]) -> list[list[str]]:
    """The search box's calls: one request per query (each a stage of its own)."""
    return [[f"/api/v1/search?q={q}&limit=8"] for q in queries]


def _median_ms(con: sqlite3.Connection, sql: str, params: list[object]) -> float:
    times = []
    for _ in range(_RUNS):
        t = time.perf_counter()
        con.execute(sql, params).fetchall()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _plan(con: sqlite3.Connection, sql: str, params: list[object]) -> str:
    return "; ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def explain_queue(db_path: Path, province: str) -> list[str]:
    """Lines describing the queue's queries with and without the partial index (after ANALYZE):
    on the bench's database, then on an in-memory copy of its faults with ``_HISTORY_RATIO``
    times as many resolved faults beside them (the bench's database is left as it was)."""
    lines = [f"[bench database] {line}" for line in _explain(sqlite3.connect(db_path), province)]
    mem = sqlite3.connect(":memory:")
    src = sqlite3.connect(db_path)
    schema = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'faults'").fetchone()[0]
    for sql, in src.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'faults' AND sql IS NOT NULL"):
        schema += ";\n" + sql
    mem.executescript(schema)
    rows = src.execute("SELECT * FROM faults").fetchall()
    src.close()
    marks = ",".join("?" * len(rows[0]))
    mem.executemany(f"INSERT INTO faults VALUES ({marks})", rows)
    cols = [r[1] for r in mem.execute("PRAGMA table_info(faults)")]
    top = int(mem.execute("SELECT MAX(id) FROM faults").fetchone()[0])
    closed = []
    for n in range(len(rows) * _HISTORY_RATIO):
        r = dict(zip(cols, rows[n % len(rows)], strict=True))
        r.update(id=top + 1 + n, status="resolved", resolution="auto", opened_at="2025-" + str(r["opened_at"])[5:])
        closed.append(tuple(r[c] for c in cols))
    mem.executemany(f"INSERT INTO faults VALUES ({marks})", closed)
    mem.commit()
    lines += [f"[+{len(closed):,} resolved] {line}" for line in _explain(mem, province)]
    return lines


def _explain(con: sqlite3.Connection, province: str) -> list[str]:
    lines = []
    try:
        queries = _queries(province)
        for label in ("with faults_queue", "without faults_queue"):
            if label.startswith("without"):
                con.execute("DROP INDEX IF EXISTS faults_queue")
            else:
                con.execute(_QUEUE_INDEX)
            con.execute("ANALYZE")
            for name, sql, params in queries:
                lines.append(f"{label:22} {name:14} {_median_ms(con, sql, params):8.2f} ms  plan: {_plan(con, sql, params)}")
        con.execute(_QUEUE_INDEX)
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()
    return lines
