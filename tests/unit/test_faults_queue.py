"""The fault queue holds a country (issue 15): server-side filters, search, sort (oldest first by
default) and paging on GET /api/v1/faults, with the real total in X-Total-Count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aggregator.faults.service import FaultService
from tests.rig.callers import header_app, who
from tests.rig.faults import T0, SimClock, open_fault_rows, service

COUNT = 5000


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("queue")
    svc: FaultService = service(tmp, SimClock())
    rows = open_fault_rows(COUNT, T0)
    rows[7]["acknowledged_at"], rows[7]["acknowledged_by"], rows[7]["status"] = rows[7]["opened_at"], "somchai", "acknowledged"
    rows[8]["agency"] = "กรมทางหลวง"
    with svc.db.conn:
        svc.db["faults"].insert_all(rows)  # type: ignore[union-attr]
    with TestClient(header_app(tmp / "camwatch.db", fault_service=svc)) as c:
        yield c


def test_five_thousand_open_faults_oldest_first_with_the_real_total(client: TestClient) -> None:
    first = client.get("/api/v1/faults", params={"active": "true", "top_level": "true", "limit": 50},
                       headers=who("viewer"))  # fmt: skip
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == str(COUNT)
    ids = [f["id"] for f in first.json()]
    assert ids == list(range(1, 51))  # the oldest first
    last = client.get("/api/v1/faults", params={"active": "true", "limit": 50, "offset": COUNT - 50},
                      headers=who("viewer")).json()  # fmt: skip
    assert [f["id"] for f in last] == list(range(COUNT - 49, COUNT + 1))  # paging reaches the newest
    newest = client.get("/api/v1/faults", params={"sort": "-opened_at", "limit": 1}, headers=who("viewer")).json()
    assert newest[0]["id"] == COUNT


def test_filters_and_search_count_what_they_match(client: TestClient) -> None:
    def total(**params: str) -> int:
        answer = client.get("/api/v1/faults", params={**params, "limit": 5}, headers=who("viewer", name="somchai"))
        assert answer.status_code == 200, answer.text
        return int(answer.headers["X-Total-Count"])

    assert total(province="10") == total(province="50") == COUNT // 2
    assert total(district="5001") == COUNT // 2
    assert total(state="degraded") == len(range(0, COUNT, 3))
    assert total(kind="site") == 0
    assert total(acknowledged="true") == total(mine="true") == total(assigned="somchai") == 1
    assert total(acknowledged="false") == COUNT - 1
    assert total(q="cam-4999") == 1 and total(q="#42") == 1 and total(q="q-10-312") == 4
    assert total(q="กรมทาง") == 1
    assert total(q="%") == 0 and total(q="_") == 0  # LIKE's wildcards are searched as text
    scoped = client.get("/api/v1/faults", params={"limit": 3}, headers=who("technician", "50"))
    assert scoped.headers["X-Total-Count"] == str(COUNT // 2) and {f["province"] for f in scoped.json()} == {"50"}
    assert client.get("/api/v1/faults", params={"sort": "province"}, headers=who("viewer")).status_code == 422
