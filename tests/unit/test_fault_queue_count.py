"""The queue's total stays exact when it is counted from the partial index of open faults
(issue 15): FaultStore.count equals a plain COUNT(*) (and a count in Python) on seeded open,
acknowledged, child, resolved and won't-fix faults, for the queue's filters and the others."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.faults.model import FaultKind, FaultStatus
from aggregator.faults.store import FaultFilter, FaultStore
from aggregator.schema import open_db
from protocol import CameraState
from tests.rig.faults import open_fault_rows

OPENED = datetime(2026, 6, 1, tzinfo=UTC)
PROVINCES = ("10", "11", "50")


def _rows() -> list[dict[str, Any]]:
    rows = open_fault_rows(600, OPENED, provinces=PROVINCES)
    for n, r in enumerate(rows):
        if n % 4 == 0:
            r.update(status="acknowledged", acknowledged_at=r["opened_at"], acknowledged_by="Somchai")
        if n % 7 == 0:
            r.update(parent_id=1 + (n + 1) % 50)  # a child of a site fault: not in the top-level queue
        if n % 11 == 0:
            r.update(kind="site", camera_id=None)
    old = open_fault_rows(2400, datetime(2025, 6, 1, tzinfo=UTC), provinces=PROVINCES, first_id=1000)
    for n, r in enumerate(old):
        r.update(status="wont_fix" if n % 9 == 0 else "resolved", resolution="auto", resolved_at=r["opened_at"])
        if n % 5 == 0:
            r.update(acknowledged_at=r["opened_at"], acknowledged_by="Somchai")
        if n % 6 == 0:
            r.update(parent_id=1000 + n // 6)
    return rows + old


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> FaultStore:
    db = open_db(Path(tmp_path_factory.mktemp("count")) / "faults.db")
    with db.conn:
        db["faults"].insert_all(_rows(), batch_size=1000)  # type: ignore[union-attr]
    db.execute("ANALYZE")  # the planner sees the history beside the queue, as in production
    return FaultStore(db)


FILTERS = {
    "queue": FaultFilter(active=True, top_level=True),
    "queue, two provinces": FaultFilter(provinces=["10", "50"], active=True, top_level=True),
    "queue, one province": FaultFilter(provinces=["11"], active=True, top_level=True, province="11"),
    "queue, district": FaultFilter(active=True, top_level=True, district="5001"),
    "queue, down, nobody": FaultFilter(active=True, top_level=True, state=CameraState.DOWN, acknowledged=False),
    "queue, taken on": FaultFilter(active=True, top_level=True, acknowledged_by="Somchai"),
    "queue, site faults": FaultFilter(active=True, top_level=True, kind=FaultKind.SITE),
    "queue, search": FaultFilter(active=True, top_level=True, q="cam-1"),
    "queue, opened since": FaultFilter(active=True, top_level=True, opened_from=datetime(2026, 6, 1, 5, tzinfo=UTC)),
    "active with children": FaultFilter(active=True),
    "acknowledged": FaultFilter(status=FaultStatus.ACKNOWLEDGED, top_level=True),
    "closed": FaultFilter(active=False, top_level=True),
    "everything": FaultFilter(),
    "nothing in scope": FaultFilter(provinces=[], active=True, top_level=True),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_count_equals_a_plain_count(store: FaultStore, name: str) -> None:
    flt = FILTERS[name]
    where, params = FaultStore._where(flt)
    plain = int(store.db.execute(f"SELECT COUNT(*) FROM faults {where}", params).fetchone()[0])
    assert store.count(flt) == plain == len(store.find(FaultFilter(**{**_fields(flt), "limit": -1})))


def test_the_queue_counts_from_the_partial_index_and_the_check_can_fail(store: FaultStore) -> None:
    sql, params = store.count_sql(FILTERS["queue"])
    plan = " ".join(str(r[3]) for r in store.db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "faults_queue" in plan, plan
    counts = {name: store.count(flt) for name, flt in FILTERS.items()}
    rows = _rows()
    top_open = [r for r in rows if r["status"] in ("open", "acknowledged") and r.get("parent_id") is None]
    assert counts["queue"] == len(top_open) and 0 < counts["queue"] < counts["active with children"]
    assert counts["queue, two provinces"] == sum(r["province"] in ("10", "50") for r in top_open)
    assert counts["nothing in scope"] == 0 and counts["everything"] == len(rows)


def _fields(flt: FaultFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in FaultFilter.__dataclass_fields__}
