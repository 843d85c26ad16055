"""LINE alerts (issue 15) against a local server that checks and answers as the LINE Messaging API:
a camera fault reaches each LINE route once, in Thai, with its link and snapshot; a 429 pauses the
channel for its Retry-After and is retried under the same retry key; a bad token or body is named
without the token ever showing in the log, the delivery log or the routes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from sqlite_utils import Database

from aggregator.auth import create_token
from aggregator.days import to_ms
from aggregator.faults.routing import Channel, RouteSpec
from aggregator.faults.service import FaultService
from aggregator.geography import load_geography
from aggregator.notify.deliveries import Delivery
from aggregator.notify.images import IMAGE_PATH, linked_image
from aggregator.notify.line import LineSender, push_body, retry_key
from aggregator.notify.settings import LineSettings, NotifySettings
from aggregator.notify.webhook import DeliveryError
from aggregator.schema import open_db
from aggregator.store import registry
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, Reason, encode
from tests.clock import child_environ, current
from tests.rig.faults import SimClock, cam, service
from tests.rig.line_api import LineApi
from tests.rig.mosquitto import Broker
from tests.rig.ports import free_port, wait_for_port
from tests.rig.site_client import SiteClient, wait_until
from tests.rig.transport import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
TOKEN = "line-channel-access-token-never-shown-0123456789"
GROUP = "C" + "0123456789abcdef" * 2
USER = "U" + "fedcba9876543210" * 2
PICTURE = b"\xff\xd8\xff\xe0 a small jpeg \xff\xd9"


@pytest.fixture
def line() -> Iterator[LineApi]:
    api = LineApi(TOKEN).start()
    yield api
    api.stop()


def _service(tmp_path: Path, clock: SimClock, line: LineApi, token: str = TOKEN) -> FaultService:
    settings = NotifySettings(
        group_window_s=0, rate_limit=1000, base_url="https://camwatch.example.go.th",
        line=LineSettings(base_url=line.url, channel_access_token=token, connect_timeout_s=2, read_timeout_s=5,
                          backoff_base_s=2, backoff_max_s=60, image_link_ttl_s=3600),
    )  # fmt: skip
    return service(tmp_path, clock, settings=settings)


def _picture(db: Database, site: str, camera: str, at_ms: int) -> None:
    """The camera's last snapshot, as ingest stores an agent's answer."""
    db.execute("INSERT INTO camera_snapshots (site_id, camera_id, cmd_id, taken_at_ms, received_at_ms, image)"
               " VALUES (?, ?, 'snap-1', ?, ?, ?)", [site, camera, at_ms, at_ms, PICTURE])  # fmt: skip


def _worker(svc: FaultService):  # type: ignore[no-untyped-def]
    [worker] = [w for w in svc.workers if w.channel == "line"]
    return worker


def test_a_camera_fault_reaches_each_line_route_once_in_thai_with_its_snapshot(tmp_path: Path, line: LineApi) -> None:
    clock = SimClock()
    svc = _service(tmp_path, clock, line)
    try:
        _picture(svc.db, "s1", "cam-7", to_ms(clock.now))
        svc.db.conn.commit()
        svc.routes.add(RouteSpec(channel=Channel.LINE, target=GROUP, province="10", images=True), clock.now)
        svc.routes.add(RouteSpec(channel=Channel.LINE, target=USER), clock.now)
        svc.routes.add(RouteSpec(channel=Channel.LINE, target="U" + "1" * 32, province="50"), clock.now)
        svc.feed([cam(clock.now, "cam-7", CameraState.DOWN, Reason.UNREACHABLE)], clock.now)
        svc.step(clock.now)
        worker = _worker(svc)
        assert worker.run_once(clock.now) == 2
        assert worker.run_once(clock.advance(30)) == 0  # once per route
        pushes = line.accepted
        assert len(line.pushes) == len(pushes) == 2
        by_to = {p.body["to"]: p for p in pushes}
        assert set(by_to) == {GROUP, USER}
        for push in pushes:
            assert push.authorization == f"Bearer {TOKEN}"
            [text] = push.texts
            assert "กล้องขัดข้อง" in text and "กล้องไม่ตอบสนองทางเครือข่าย" in text  # what, why, in Thai
            assert "จังหวัดกรุงเทพมหานคร" in text and "s1" in text  # where
            assert "https://camwatch.example.go.th/#/camera/s1/cam-7" in text  # the link to the fault's camera
        assert by_to[USER].images == []  # that route does not carry images
        [image] = by_to[GROUP].images
        assert image.startswith("https://camwatch.example.go.th" + IMAGE_PATH) and image.endswith(".jpg")
        token = image.rsplit("/", 1)[1].removesuffix(".jpg")
        found = linked_image(svc.db, token, clock.now)
        assert found is not None and found.image == PICTURE
        assert linked_image(svc.db, token, clock.now + timedelta(hours=2)) is None  # the link expired
        assert linked_image(svc.db, "x" * 22, clock.now) is None
        logged = svc.deliveries.list(channel="line")
        assert {r["status"] for r in logged} == {"sent"} and len(logged) == 2
        assert TOKEN not in json.dumps(logged)
    finally:
        svc.stop()


def test_429_pauses_the_channel_for_its_retry_after_then_retries_under_the_same_key(
    tmp_path: Path, line: LineApi
) -> None:
    clock = SimClock()
    svc = _service(tmp_path, clock, line)
    try:
        svc.routes.add(RouteSpec(channel=Channel.LINE, target=GROUP), clock.now)
        svc.routes.add(RouteSpec(channel=Channel.LINE, target=USER), clock.now)
        svc.feed([cam(clock.now, "cam-1", CameraState.DOWN, Reason.NO_VIDEO)], clock.now)
        svc.step(clock.now)
        line.throttle(1, "120")
        worker = _worker(svc)
        start = clock.now
        assert worker.run_once(start) == 1  # refused; the other push is not tried against the limit
        assert [p.status for p in line.pushes] == [429]
        first = svc.deliveries.list(channel="line", status="pending")
        assert {r["last_error"] for r in first} >= {"LINE HTTP 429: The API rate limit has been exceeded. Try again later."}
        refused = [r for r in first if r["attempts"] == 1]
        assert refused[0]["next_attempt_at"].startswith((start + timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%S"))
        assert worker.run_once(clock.advance(60)) == 0  # still inside the Retry-After: nothing sent
        assert worker.run_once(clock.advance(61)) == 2
        assert [p.status for p in line.pushes] == [429, 200, 200]
        keys = [p.retry_key for p in line.pushes]
        assert keys[0] in keys[1:]  # the retry carried the refused push's key
        assert {retry_key(r["idempotency_key"]) for r in svc.deliveries.list(channel="line")} == set(keys[1:])
        # an HTTP-date Retry-After is honoured too
        line.throttle(1, format_datetime(clock.now + timedelta(seconds=90), usegmt=True))
        svc.feed([cam(clock.now, "cam-2", CameraState.DOWN, Reason.NO_VIDEO)], clock.now)
        svc.step(clock.now)
        assert worker.run_once(clock.now) == 1
        assert worker.paused_until == clock.now + timedelta(seconds=90)
    finally:
        svc.stop()


def test_an_accepted_push_retried_after_a_lost_answer_is_not_shown_twice(line: LineApi) -> None:
    clock = SimClock()
    sender = LineSender(LineSettings(base_url=line.url, channel_access_token=TOKEN))
    delivery = Delivery(1, "note-1-3", "line", 3, GROUP, push_body(GROUP, "ทดสอบ"), 0, clock.now)
    try:
        sender.send(delivery, clock.now)
        sender.send(delivery, clock.now)  # LINE answers 409 "already accepted": that is success
    finally:
        sender.close()
    assert [p.status for p in line.pushes] == [200, 409]


def test_a_wrong_token_and_a_bad_body_are_named_without_the_token(
    tmp_path: Path, line: LineApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = SimClock()
    wrong = "a-wrong-token-that-must-not-leak-987654321"
    svc = _service(tmp_path, clock, line, token=wrong)
    try:
        svc.routes.add(RouteSpec(channel=Channel.LINE, target=GROUP), clock.now)
        svc.feed([cam(clock.now, "cam-1", CameraState.DOWN, Reason.UNREACHABLE)], clock.now)
        svc.step(clock.now)
        assert _worker(svc).run_once(clock.now) == 1
        [row] = svc.deliveries.list(channel="line")
        assert row["status"] == "pending"  # a token can be rotated: retried with back-off
        assert row["last_error"].startswith("LINE HTTP 401: Authentication failed")
        assert [p.status for p in line.pushes] == [401]
        assert wrong not in json.dumps(row) and wrong not in caplog.text
        assert wrong not in json.dumps([r.as_dict() for r in svc.routes.routes()])
    finally:
        svc.stop()
    sender = LineSender(LineSettings(base_url=line.url, channel_access_token=TOKEN))
    too_long = {"to": GROUP, "messages": [{"type": "text", "text": "ก" * 5001}]}
    try:
        with pytest.raises(DeliveryError) as refused:
            sender.send(Delivery(2, "k2", "line", 1, GROUP, too_long, 0, clock.now), clock.now)
        clipped = push_body(GROUP, "ก" * 6000, ["http://not-https.example/x.jpg", "https://ok.example/" + "x" * 2000])
        sender.send(Delivery(3, "k3", "line", 1, GROUP, clipped, 0, clock.now), clock.now)
    finally:
        sender.close()
    assert refused.value.permanent and "messages[0].text Length must be between 1 and 5000" in str(refused.value)
    assert TOKEN not in str(refused.value) and TOKEN not in caplog.text
    assert line.pushes[-1].status == 200 and len(line.pushes[-1].texts[0]) == 5000
    assert line.pushes[-1].images == []  # neither an http:// nor an over-long link is sent


def test_line_routes_name_a_line_id_and_carry_no_secret() -> None:
    with pytest.raises(ValueError, match="LINE target"):
        RouteSpec(channel=Channel.LINE, target="tech@example.org")
    with pytest.raises(ValueError, match="no secret"):
        RouteSpec(channel=Channel.LINE, target=GROUP, secret="a-webhook-secret-of-32-characters")
    with pytest.raises(ValueError, match="only a LINE route"):
        RouteSpec(channel=Channel.EMAIL, target="tech@example.org", images=True)
    with pytest.raises(ValueError, match="channel_access_token"):
        LineSettings(base_url="https://api.line.me")


def test_serve_configured_by_line_variables_pushes_a_camera_fault_once(tmp_path: Path, mosquitto: Broker,
                                                                        line: LineApi, now: datetime) -> None:  # fmt: skip
    db_path, pepper = tmp_path / "centre.db", "a-pepper-for-the-line-test-0123"
    db = open_db(db_path)
    geography = load_geography(db)
    start = now.replace(microsecond=0)
    registry.insert_site(db, "bkk-line", "10", "1001", now_ms=to_ms(start))
    _picture(db, "bkk-line", "cam-1", to_ms(start))
    db.conn.commit()
    admin = create_token(db, "admin", "admin", [], pepper=pepper, geography=geography)[1]
    db.close()
    api_port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env = {**base, "PYTHONPATH": str(ROOT), "LINE_TOKEN": TOKEN,
        "CAMWATCH_ENVIRONMENT": "test", "CAMWATCH_DB_PATH": str(db_path), "CAMWATCH_API_PORT": str(api_port),
        "CAMWATCH_MQTT_URL": f"mqtt://127.0.0.1:{mosquitto.port}", "CAMWATCH_MQTT_PASSWORD": pepper + "-broker",
        "CAMWATCH_TOKEN_PEPPER": pepper, "CAMWATCH_NOTIFY__GROUP_WINDOW_S": "0",
        "CAMWATCH_NOTIFY__BASE_URL": "https://camwatch.example.go.th",
        "CAMWATCH_LINE__BASE_URL": line.url, "CAMWATCH_LINE__CHANNEL_ACCESS_TOKEN": "env:LINE_TOKEN",
        "CAMWATCH_LINE__CONNECT_TIMEOUT_S": "2", "CAMWATCH_LINE__READ_TIMEOUT_S": "5",
    }  # fmt: skip
    env = child_environ(env)  # serve keeps the test's pinned clock (tests/rig/pinned.py)
    off = {k: v for k, v in env.items() if k != "CAMWATCH_LINE__CHANNEL_ACCESS_TOKEN"}
    refused = subprocess.run([sys.executable, "-m", "aggregator", "serve"], env=off, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 78 and "channel_access_token" in refused.stderr, refused.stderr
    log = tmp_path / "serve.log"
    out = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.rig.pinned", "aggregator", "serve"], env=env, cwd=ROOT, stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    site = SiteClient(mosquitto.port, "bkk-line", "10", "1001")
    try:
        wait_for_port(api_port, timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=httpx.Timeout(10.0, connect=5.0),
                          headers={"Authorization": f"Bearer {admin}"}) as http:  # fmt: skip
            for target, images in ((GROUP, True), (USER, False)):
                route = http.post("/api/v1/alert-routes", json={"channel": "line", "target": target, "images": images})
                assert route.status_code == 201, route.text
            assert site.online.wait(30), "aggregator never published its host state"
            at = current().replace(microsecond=0)  # a live alert: the time of sending on the pinned clock
            site.send(Kind.BIRTH, encode(Birth(site="bkk-line", ts=at, bd_seq=1, seq=0, cameras=[
                BirthCamera(camera_id="cam-1", state=CameraState.UP, since=at - timedelta(hours=1),
                            reason=Reason.NONE)])))
            site.send(Kind.EVENTS, encode(Events(site="bkk-line", ts=at, seq=1, events=[
                Event(id=1, camera_id="cam-1", at=at, state=CameraState.DOWN, reason=Reason.UNREACHABLE)])))
            wait_until(lambda: len(line.accepted) >= 2, "a LINE push per route", timeout=60)

            def both_sent() -> list[dict[str, object]] | None:
                rows: list[dict[str, object]] = http.get("/api/v1/deliveries", params={"channel": "line"}).json()
                return rows if [r["status"] for r in rows] == ["sent", "sent"] else None

            logged = wait_until(both_sent, "both pushes sent in the delivery log")
            answers = json.dumps(logged) + http.get("/api/v1/alert-routes").text
            [image] = [url for p in line.accepted for url in p.images]
            picture = http.get(image.removeprefix("https://camwatch.example.go.th"), headers={"Authorization": ""})
    finally:
        site.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        out.close()
    pushes = line.accepted
    assert len(line.pushes) == len(pushes) == 2  # once per route
    assert {p.body["to"] for p in pushes} == {GROUP, USER}
    assert all("กล้องขัดข้อง" in p.texts[0] and "cam-1" in p.texts[0] for p in pushes)
    assert all(p.authorization == f"Bearer {TOKEN}" for p in pushes)
    assert picture.status_code == 200 and picture.content == PICTURE  # LINE's fetch needs no camwatch token
    assert logged is not None and len(logged) == 2 and TOKEN not in answers
    assert TOKEN not in log.read_text() and pepper not in log.read_text()
