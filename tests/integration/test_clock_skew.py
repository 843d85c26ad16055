"""Time at the centre is the centre's (issue 18), through ``python -m aggregator serve`` and a real
Mosquitto: one site whose agent clock runs 2 hours ahead and one 10 minutes behind publish as
agents do (the test sets each site's clock, not the machine's). The centre flags both sites
``clock_skew`` (sites API, hygiene report), stores nothing later than its own now, keeps
availability for the fast site, opens faults at centre times, and once the fast clock is fixed
shows the true current states."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.days import to_ms
from protocol import Birth, BirthCamera, CameraState, Event, Events, Heartbeat, Kind, Reason, encode
from tests.clock import current
from tests.rig.mosquitto import Broker
from tests.rig.served import Served
from tests.rig.site_client import SiteClient, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PROVINCE, DISTRICT = "10", "1001"
FAST, SLOW = "bkk-fast-clock", "bkk-slow-clock"
AHEAD, BEHIND = timedelta(hours=2), timedelta(minutes=-10)


class ShiftedSite:
    """A site publishing as an agent whose clock is ``shift`` off the centre's."""

    def __init__(self, port: int, site: str, shift: timedelta) -> None:
        self.site, self.shift = site, shift
        self.client = SiteClient(port, site, PROVINCE, DISTRICT)
        self.seq = 0
        self.event_id = 0

    def clock(self) -> datetime:
        return current().replace(microsecond=0) + self.shift

    def _next(self) -> int:
        self.seq = (self.seq + 1) % 256
        return self.seq

    def birth(self) -> None:
        ts = self.clock()
        self.client.send(Kind.BIRTH, encode(Birth(site=self.site, ts=ts, bd_seq=1, seq=0, cameras=[
            BirthCamera(camera_id=c, state=CameraState.UP, since=ts - timedelta(minutes=30), reason=Reason.NONE)
            for c in ("c1", "c2", "c3")])))  # fmt: skip

    def events(self, *changes: tuple[str, CameraState]) -> None:
        ts = self.clock()
        evs = []
        for camera, state in changes:
            self.event_id += 1
            evs.append(Event(id=self.event_id, camera_id=camera, at=ts, state=state,
                             reason=Reason.NONE if state is CameraState.UP else Reason.UNREACHABLE))  # fmt: skip
        self.client.send(Kind.EVENTS, encode(Events(site=self.site, ts=ts, seq=self._next(), events=evs)))

    def heartbeat(self) -> None:
        self.client.send(Kind.HEARTBEAT, encode(Heartbeat(site=self.site, ts=self.clock(), seq=self._next(),
                                                          interval_s=60)))  # fmt: skip


@pytest.fixture
def served(tmp_path: Path, mosquitto: Broker, now: datetime) -> Iterator[Served]:
    server = Served(tmp_path, mosquitto)
    server.token("admin")
    server.start()
    yield server
    server.stop()


def _site(http: httpx.Client, site: str) -> dict[str, Any]:
    answer = http.get(f"/api/v1/sites/{site}")
    return answer.json() if answer.status_code == 200 else {}


def _states(http: httpx.Client, site: str) -> dict[str, str]:
    items = http.get("/api/v1/cameras", params={"site_id": site}).json()["items"]
    return {c["camera_id"]: c["state"] for c in items}


def _latest_stored(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as db:
        rows = [db.execute(sql).fetchone()[0] or 0 for sql in (
            "SELECT MAX(at_ms) FROM transitions", "SELECT MAX(since_ms) FROM camera_state",
            "SELECT MAX(last_seen_ms) FROM sites")]  # fmt: skip
    return max(rows)


def test_fast_and_slow_site_clocks(served: Served, mosquitto: Broker) -> None:
    fast, slow = ShiftedSite(mosquitto.port, FAST, AHEAD), ShiftedSite(mosquitto.port, SLOW, BEHIND)
    try:
        assert fast.client.online.wait(60) and slow.client.online.wait(60)
        started = current()
        for site in (fast, slow):
            site.birth()
            site.heartbeat()
            site.events(("c1", CameraState.DOWN))
        with served.http(served.tokens["admin"][1]) as http:
            flagged = {s: wait_until(lambda s=s: _site(http, s).get("clock_skew") and _site(http, s), f"{s} flagged")
                       for s in (FAST, SLOW)}  # fmt: skip
            assert 7100 < flagged[FAST]["clock_offset_s"] < 7300
            assert -700 < flagged[SLOW]["clock_offset_s"] < -500
            assert "NTP" in flagged[FAST]["clock_hint"]
            wait_until(lambda: _states(http, FAST).get("c1") == "down", "the fast site's c1 down")
            wait_until(lambda: _states(http, SLOW).get("c1") == "down", "the slow site's c1 down")
            # nothing stored later than the centre's now
            assert _latest_stored(served.db_path) <= to_ms(current())
            # the fast site's live change counts in the last hour's availability (centre time)
            hour = http.get("/api/v1/availability", params={"level": "site", "key": FAST, "window": "last_hour"}).json()
            assert hour["down_s"] > 0 and hour["up_s"] > 0
            # faults carry centre times
            faults = wait_until(lambda: [f for f in http.get("/api/v1/faults").json() if f["site"] == FAST],
                                "the fast site's fault")  # fmt: skip
            # centre time, not the site's two hours ahead; the offset is measured from a message's
            # transit, so a loaded machine's delivery delay moves the corrected time by seconds
            opened = datetime.fromisoformat(faults[0]["opened_at"])
            assert started - timedelta(seconds=60) <= opened <= current()
            hygiene = http.get("/api/v1/audit/hygiene").json()
            assert {s["site_id"] for s in hygiene["sites"]} == {FAST, SLOW}
            # the fast clock is fixed: its next messages carry true times
            fast.shift = timedelta(0)
            fast.heartbeat()
            fast.events(("c1", CameraState.UP), ("c3", CameraState.DOWN))
            wait_until(lambda: not _site(http, FAST).get("clock_skew"), "the fast site back within tolerance")
            wait_until(lambda: _states(http, FAST) == {"c1": "up", "c2": "up", "c3": "down"},
                       "the true current states after the fix")  # fmt: skip
            assert _site(http, SLOW)["clock_skew"]
            assert _latest_stored(served.db_path) <= to_ms(current())
            assert {s["site_id"] for s in http.get("/api/v1/audit/hygiene").json()["sites"]} == {SLOW}
    finally:
        fast.client.close()
        slow.client.close()
