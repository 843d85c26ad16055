"""Readers and live feeds of a served aggregator (issue 18), through ``python -m aggregator serve``:

* an open ``/api/v1/feed`` stream follows its token: after ``revoke-token`` it gets ``closed``
  and ends; a stream of a province the token no longer sees is closed too;
* while another connection holds the database's write lock (the writer waiting in its busy
  loop), ``/api/v1/nation`` and ``/api/v1/availability`` still answer within the client's bound,
  200 or 503 with Retry-After, and every event sent meanwhile is stored once the lock is gone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, Reason, encode
from tests.clock import current
from tests.rig.mosquitto import Broker
from tests.rig.served import Served
from tests.rig.shipped import run_command
from tests.rig.site_client import SiteClient, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SITE, PROVINCE, DISTRICT = "bkk-reads-1", "10", "1001"
# The bound a read must answer within while the write lock is held: below the writer's own
# 10 s busy wait, which is what reads used to sit behind.
READ_BOUND_S = 8.0
HOLD_S = 12.0


@pytest.fixture
def served(tmp_path: Path, mosquitto: Broker, now: datetime) -> Iterator[Served]:
    server = Served(tmp_path, mosquitto, {"CAMWATCH_API__FEED_RECHECK_S": "0.5", "CAMWATCH_API__READ_TIMEOUT_S": "3"})
    server.token("admin")
    server.token("viewer", "viewer")
    server.token("bangkok", "viewer", [PROVINCE])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site(served: Served, mosquitto: Broker) -> Iterator[SiteClient]:
    client = SiteClient(mosquitto.port, SITE, PROVINCE, DISTRICT)
    assert client.online.wait(60), "the aggregator never said it is online"
    at = current().replace(microsecond=0)
    client.send(Kind.BIRTH, encode(Birth(site=SITE, ts=at, bd_seq=1, seq=0, cameras=[
        BirthCamera(camera_id=f"cam-{i}", state=CameraState.UP, since=at - timedelta(hours=1), reason=Reason.NONE)
        for i in range(4)])))  # fmt: skip
    yield client
    client.close()


def _events(client: SiteClient, first_id: int, states: str, seq: int) -> None:
    """Events ``first_id``... setting camera ``cam-<i % 4>`` to ``states[i]`` ("d" down, "u" up)."""
    at = current().replace(microsecond=0)
    client.send(Kind.EVENTS, encode(Events(site=SITE, ts=at, seq=seq, events=[
        Event(id=first_id + i, camera_id=f"cam-{i % 4}", at=at + timedelta(milliseconds=i),
              state=CameraState.DOWN if s == "d" else CameraState.UP, reason=Reason.NONE)
        for i, s in enumerate(states)])))  # fmt: skip


def _read_stream(http: httpx.Client, params: dict[str, str], on_state: Callable[[], None] | None = None,
                 ) -> list[tuple[str, dict[str, Any]]]:
    """Read one feed stream to its end; ``on_state`` is called once, at the first state event."""
    seen: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    with http.stream("GET", "/api/v1/feed", params=params) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line[6:])))
                if kind == "state" and on_state is not None:
                    on_state()
                    on_state = None
    return seen


def test_a_revoked_tokens_feed_is_closed_and_a_narrowed_scope_applies(served: Served, site: SiteClient) -> None:
    viewer_id, viewer = served.tokens["viewer"]

    def revoke() -> None:
        done = run_command("aggregator", "revoke-token", str(viewer_id), env=served.env())
        assert done.returncode == 0, done.stderr

    with served.http(viewer, timeout=30.0) as http:
        sender = threading.Timer(1.0, _events, (site, 1, "dudu", 1))
        sender.start()
        seen = _read_stream(http, {}, revoke)  # ends only when the server closes it
        sender.join()
        assert http.get("/api/v1/me").status_code == 401
    kinds = [k for k, _ in seen]
    assert kinds[0] == "snapshot" and "state" in kinds
    assert kinds[-1] == "closed" and seen[-1][1]["reason"] == "the token was revoked or has expired"

    bangkok_id, bangkok = served.tokens["bangkok"]

    def narrow() -> None:  # an administrator moves the token to Chiang Mai
        with sqlite3.connect(served.db_path, timeout=30) as db:
            db.execute("UPDATE api_tokens SET provinces = '50' WHERE id = ?", [bangkok_id])

    with served.http(bangkok, timeout=30.0) as http:
        sender = threading.Timer(1.0, _events, (site, 5, "uddu", 2))
        sender.start()
        seen = _read_stream(http, {"province": PROVINCE}, narrow)
        sender.join()
    assert seen[-1] == ("closed", {"reason": "the token no longer sees the provinces asked for"})


def test_reads_answer_while_the_write_lock_is_held_and_nothing_is_lost(served: Served, site: SiteClient) -> None:
    with served.http(served.tokens["admin"][1], timeout=READ_BOUND_S) as http:
        wait_until(lambda: http.get(f"/api/v1/sites/{SITE}").status_code == 200, "the site's birth", timeout=60)
        holder = sqlite3.connect(served.db_path, timeout=30, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's long write: the store's writer now waits
        try:
            _events(site, 1, "ddddduud", 1)
            answers = []
            until = time.monotonic() + HOLD_S
            while time.monotonic() < until:
                for path, params in (("/api/v1/nation", {}),
                                     ("/api/v1/availability", {"level": "province", "key": PROVINCE})):  # fmt: skip
                    answer = http.get(path, params=params)  # a ReadTimeout here fails the test
                    answers.append(answer.status_code)
                    assert answer.status_code in (200, 503), answer.text
                    if answer.status_code == 503:
                        assert int(answer.headers["Retry-After"]) >= 1
                time.sleep(0.5)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert answers and 200 in answers
        wait_until(lambda: site.acked >= 8, "the events committed after the lock", timeout=90)
        cameras = {c["camera_id"]: c["state"] for c in http.get("/api/v1/cameras", params={"site_id": SITE}).json()["items"]}
    assert cameras == {"cam-0": "down", "cam-1": "up", "cam-2": "up", "cam-3": "down"}
