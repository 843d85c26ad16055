"""What the national picture says about one camera is true (issue 13), on the shipped
``python -m aggregator serve`` reading a real Mosquitto:

* an event for a camera the site's birth never named is quarantined (``unknown_camera``),
  counted, logged once and answered with one rebirth request (rate-limited per site); the
  camera appears once a birth names it;
* a fault whose camera is still degraded cannot be resolved (409 with the state and reason),
  only closed as won't-fix; the camera failing again reopens that same fault with its history;
* ``last_seen`` is one figure in the camera list, the camera page, the site and the feed.

Times come from the server's own clock (its HTTP ``Date``), never from the test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.auth import create_token
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.settings.base import DEFAULT_SECRET
from aggregator.store import registry
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, Reason, encode
from tests.rig.mosquitto import Broker
from tests.rig.ports import free_port
from tests.rig.shipped import operator_env
from tests.rig.site_client import SiteClient, wait_until
from tests.rig.transport import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PROVINCE, DISTRICT, SITE = "10", "1001", "LAB"


@dataclass
class Serve:
    url: str
    db_path: Path
    log: Path
    tokens: dict[str, str]
    process: subprocess.Popen[bytes]

    def api(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def now(self) -> datetime:
        """The server's clock (its Date header, whole seconds)."""
        with httpx.Client(timeout=10.0) as client:
            return parsedate_to_datetime(client.get(f"{self.url}/healthz").headers["date"])


@pytest.fixture
def serve(mosquitto: Broker, tmp_path: Path) -> Iterator[Serve]:
    db_path = tmp_path / "centre.db"
    db = open_db(db_path)
    geography = load_geography(db)
    registry.insert_site(db, SITE, PROVINCE, DISTRICT, now_ms=0)
    tokens = {role: create_token(db, f"{role} 10", role, [PROVINCE], pepper=DEFAULT_SECRET, geography=geography)[1]
              for role in ("technician",)}  # fmt: skip
    tokens["admin"] = create_token(db, "admin", "admin", [], pepper=DEFAULT_SECRET, geography=geography)[1]
    db.conn.commit()
    db.close()
    port = free_port()
    env = operator_env(CAMWATCH_DB_PATH=str(db_path), CAMWATCH_API_PORT=str(port),
                       CAMWATCH_MQTT_URL=f"mqtt://127.0.0.1:{mosquitto.port}")  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    running = Serve(f"http://127.0.0.1:{port}", db_path, log, tokens, proc)
    try:
        wait_until(lambda: _answers(running.url), "serve answering /healthz", timeout=60)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@pytest.fixture
def site(mosquitto: Broker, serve: Serve) -> Iterator[SiteClient]:
    client = SiteClient(mosquitto.port, SITE, PROVINCE, DISTRICT)
    try:
        assert client.online.wait(30), "the aggregator never published its host state"
        yield client
    finally:
        client.close()


def _birth(at: datetime, cameras: list[str], *, last_event_id: int = 0) -> bytes:
    return encode(Birth(site=SITE, ts=at, bd_seq=1, seq=0, last_event_id=last_event_id, cameras=[
        BirthCamera(camera_id=c, state=CameraState.UP, since=at - timedelta(hours=1)) for c in cameras]))  # fmt: skip


def _events(seq: int, *events: tuple[int, str, datetime, CameraState, Reason]) -> bytes:
    return encode(Events(site=SITE, ts=max(e[2] for e in events), seq=seq, events=[
        Event(id=i, camera_id=c, at=at, state=s, reason=r) for i, c, at, s, r in events]))  # fmt: skip


def _query(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = open_db(db_path, migrate=False)
    try:
        return [tuple(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


def _metric(serve: Serve, name: str) -> float:
    with serve.api("admin") as api:
        text = api.get("/metrics").text
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name} "))


def test_an_event_for_a_camera_the_birth_never_named_is_quarantined_and_asks_one_rebirth(
    serve: Serve, site: SiteClient
) -> None:
    t0 = serve.now()
    site.send(Kind.BIRTH, _birth(t0, ["LAB-CAM1"]))
    site.send(Kind.EVENTS, _events(1, (1, "LAB-CAM9", t0 + timedelta(seconds=1), CameraState.DOWN, Reason.UNREACHABLE),
                                      (2, "LAB-CAM1", t0 + timedelta(seconds=1), CameraState.DOWN, Reason.UNREACHABLE)))
    wait_until(lambda: site.acked >= 2, "the first events acknowledged")  # quarantined is handled: acked
    site.send(Kind.EVENTS, _events(2, (3, "LAB-CAM9", t0 + timedelta(seconds=2), CameraState.UP, Reason.NONE)))
    wait_until(lambda: site.acked >= 3, "the second unknown camera's event acknowledged")
    site.send(Kind.EVENTS, _events(3, (4, "LAB-CAM1", t0 + timedelta(seconds=3), CameraState.UP, Reason.NONE)))
    wait_until(lambda: site.acked >= 4, "a valid event after them acknowledged")

    assert _query(serve.db_path, "SELECT camera_id FROM camera_inventory ORDER BY camera_id") == [("LAB-CAM1",)]
    rows = _query(serve.db_path, "SELECT topic, reason, detail FROM quarantine WHERE reason = 'unknown_camera'")
    assert len(rows) == 2 and all(SITE in topic and "LAB-CAM9" in detail for topic, _, detail in rows)
    assert _metric(serve, "camwatch_mqtt_unknown_cameras") == 2
    assert _metric(serve, "camwatch_mqtt_rebirths") == 1  # the second came within the rate window
    assert [c["command"] for c in site.commands] == ["rebirth"]
    assert serve.log.read_text().count("events for cameras not in its last birth (LAB-CAM9)") == 1
    # the valid camera's events of the same message were stored
    assert _query(serve.db_path, "SELECT COUNT(*) FROM transitions WHERE event_id IN (2, 4)") == [(2,)]

    # the agent answers the rebirth with a birth naming the camera: its events are stored now
    t1 = serve.now() + timedelta(seconds=5)
    site.send(Kind.BIRTH, _birth(t1, ["LAB-CAM1", "LAB-CAM9"], last_event_id=4))
    site.send(Kind.EVENTS, _events(1, (5, "LAB-CAM9", t1 + timedelta(seconds=1), CameraState.DOWN, Reason.NO_VIDEO)))
    wait_until(lambda: site.acked >= 5, "the event after the rebirth acknowledged")
    with serve.api("technician") as api:
        camera = api.get(f"/api/v1/cameras/{SITE}/LAB-CAM9").json()
    assert (camera["state"], camera["reason"]) == ("down", "no_video")
    assert _metric(serve, "camwatch_mqtt_unknown_cameras") == 2


def _fault(api: httpx.Client, camera_id: str) -> list[dict[str, Any]]:
    return list(api.get("/api/v1/faults", params={"camera_id": camera_id}).json())


def test_a_degraded_camera_cannot_be_resolved_and_failing_again_reopens_its_fault(
    serve: Serve, site: SiteClient
) -> None:
    t0 = serve.now()
    site.send(Kind.BIRTH, _birth(t0, ["LAB-CAM2"]))
    site.send(Kind.EVENTS, _events(1, (1, "LAB-CAM2", t0 + timedelta(seconds=1), CameraState.DEGRADED, Reason.NO_VIDEO)))
    with serve.api("technician") as api:
        [fault] = wait_until(lambda: _fault(api, "LAB-CAM2"), "a fault on LAB-CAM2")
        resolve = f"/api/v1/faults/{fault['id']}/resolve"
        refused = api.post(resolve, json={"done": "rebooted the camera"})
        assert (refused.status_code, refused.json()["detail"]) == (409, "camera LAB-CAM2 is still degraded (no_video)")
        assert api.get(f"/api/v1/faults/{fault['id']}").json()["status"] == "open"
        closed = api.post(resolve, json={"done": "to be replaced", "wont_fix": True})
        assert closed.status_code == 200 and closed.json()["status"] == "wont_fix"
        closed_at = datetime.fromisoformat(closed.json()["resolved_at"])

        # back up, then failing again: the same fault reopens, with its history
        site.send(Kind.EVENTS, _events(2, (2, "LAB-CAM2", closed_at + timedelta(seconds=1), CameraState.UP, Reason.NONE),
                                          (3, "LAB-CAM2", closed_at + timedelta(seconds=2), CameraState.DOWN,
                                           Reason.UNREACHABLE)))  # fmt: skip
        wait_until(lambda: api.get(f"/api/v1/faults/{fault['id']}").json()["status"] == "open", "the fault reopened")
        assert [f["id"] for f in _fault(api, "LAB-CAM2")] == [fault["id"]]  # no second fault
        detail = api.get(f"/api/v1/faults/{fault['id']}").json()
        assert [h["action"] for h in detail["history"]][-2:] == ["closed", "reopened"]
        assert (detail["reopen_count"], detail["state"], detail["reason"]) == (1, "down", "unreachable")

        # up again: the recovery resolves it and the technician's note is added to it
        site.send(Kind.EVENTS, _events(3, (4, "LAB-CAM2", closed_at + timedelta(seconds=3), CameraState.UP, Reason.NONE)))
        wait_until(lambda: api.get(f"/api/v1/faults/{fault['id']}").json()["status"] == "resolved", "resolved by recovery")
        noted = api.post(resolve, json={"done": "replaced the PoE injector"})
        assert noted.status_code == 200
        assert (noted.json()["resolution"], noted.json()["note"]) == ("technician", "replaced the PoE injector")


def _read_feed(serve: Serve, lines: list[str], stop: threading.Event) -> None:
    with serve.api("technician") as api, api.stream("GET", "/api/v1/feed", timeout=httpx.Timeout(30.0)) as answer:
        for line in answer.iter_lines():
            lines.append(line)
            if stop.is_set():
                return


def _feed_states(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for event, data in zip(lines, lines[1:], strict=False):
        if event == "event: state" and data.startswith("data: "):
            out.append(json.loads(data[len("data: "):]))
    return out


def test_last_seen_is_one_figure_in_the_list_the_camera_page_the_site_and_the_feed(
    serve: Serve, site: SiteClient
) -> None:
    lines: list[str] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_feed, args=(serve, lines, stop), daemon=True)
    reader.start()
    wait_until(lambda: any(line == "event: snapshot" for line in lines), "the feed's first snapshot")
    t0 = serve.now()
    site.send(Kind.BIRTH, _birth(t0 - timedelta(minutes=5), ["LAB-CAM1", "LAB-CAM2"]))
    wait_until(lambda: _feed_states(lines), "the birth on the feed")
    site.send(Kind.EVENTS, _events(1, (1, "LAB-CAM1", t0, CameraState.DOWN, Reason.FROZEN)))
    [change] = wait_until(lambda: [s for s in _feed_states(lines) if s["camera_id"] == "LAB-CAM1" and s["new"] == "down"],
                          "the event on the feed")  # fmt: skip
    stop.set()
    with serve.api("technician") as api:
        listed = {c["camera_id"]: c for c in api.get("/api/v1/cameras", params={"site_id": SITE}).json()["items"]}
        detail = api.get(f"/api/v1/cameras/{SITE}/LAB-CAM1").json()
        place = api.get(f"/api/v1/sites/{SITE}").json()
    figures = {datetime.fromisoformat(v) for v in (change["last_seen"], listed["LAB-CAM1"]["last_seen"],
                                                      listed["LAB-CAM2"]["last_seen"], detail["last_seen"],
                                                      place["last_seen"])}  # fmt: skip
    assert len(figures) == 1, figures
    assert figures.pop() >= t0  # the events' delivery, not the site's first contact
