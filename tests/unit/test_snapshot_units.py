"""Snapshot pieces without a network: JPEG fitting, the message's bounds, the taker's rules
(unknown camera, rate limit, off-thread grabs, credentials order, no secret in logs), and
the aggregator's latest-per-camera store."""

from __future__ import annotations

import base64
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from agent.config import CameraConfig, Credential
from agent.snapshot import MAX_JPEG_BYTES, SnapshotError, SnapshotTaker, fit_jpeg
from aggregator.schema import open_db
from aggregator.store.snapshots import (
    SnapshotRefused,
    SnapshotStore,
    latest_snapshot,
    snapshot_command,
)
from protocol import (
    DEFAULT_MAX_BYTES,
    MAX_SNAPSHOT_CHARS,
    Command,
    CommandKind,
    Snapshot,
    decode,
    decode_site_message,
    encode,
)

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
SECRET = "pw-never-logged-42"


def noise(w: int, h: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_fit_jpeg_scales_to_640_and_keeps_the_aspect() -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    cv2.circle(frame, (640, 360), 200, (0, 200, 255), -1)
    fitted = fit_jpeg(frame)
    assert (fitted.width, fitted.height) == (640, 360)
    decoded = cv2.imdecode(np.frombuffer(fitted.data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)
    assert fitted.quality == 85  # a simple picture fits at the first quality


def test_fit_jpeg_steps_quality_down_then_halves() -> None:
    frame = noise(640, 480)
    full = fit_jpeg(frame, max_bytes=10_000_000)
    stepped = fit_jpeg(frame, max_bytes=len(full.data) * 2 // 3)
    assert stepped.quality < full.quality and len(stepped.data) <= len(full.data) * 2 // 3
    tiny = fit_jpeg(frame, max_bytes=6_000)  # noise at 640x480 never fits 6 KB: the size halves
    assert tiny.width < 640 and len(tiny.data) <= 6_000
    with pytest.raises(SnapshotError) as err:
        fit_jpeg(frame, max_bytes=100)
    assert err.value.reason == "encode_failed"


def test_largest_fitted_noise_frame_fits_one_message() -> None:
    fitted = fit_jpeg(noise(1920, 1080))
    assert len(fitted.data) <= MAX_JPEG_BYTES
    message = Snapshot(site="s", ts=NOW, camera_id="c", cmd_id="x", taken_at=NOW, width=fitted.width,
                       height=fitted.height, data=base64.b64encode(fitted.data).decode())
    assert len(encode(message)) <= DEFAULT_MAX_BYTES


def test_snapshot_model_bounds() -> None:
    base = {"site": "s", "ts": NOW, "camera_id": "c", "cmd_id": "x"}
    with pytest.raises(ValidationError):
        Snapshot(**base, taken_at=NOW, width=1, height=1, data="A" * (MAX_SNAPSHOT_CHARS + 4))
    with pytest.raises(ValidationError, match="either data or an error"):
        Snapshot(**base, taken_at=NOW, width=1, height=1, data="QUJD", error="busy")
    with pytest.raises(ValidationError, match="needs data"):
        Snapshot(**base)
    with pytest.raises(ValidationError):
        Snapshot(**base, taken_at=NOW, width=1, height=1, data="not base64!")
    with pytest.raises(ValidationError):
        Snapshot(**base, error="Not A Code")
    with pytest.raises(ValidationError):
        Snapshot(**base, taken_at=NOW, width=5000, height=1, data="QUJD")
    ok = Snapshot(**base, error="unknown_camera")
    assert decode(Snapshot, encode(ok), now=NOW) == ok
    # the biggest allowed picture still fits the codec's limit
    big = Snapshot(**base, taken_at=NOW, width=640, height=480, data="A" * MAX_SNAPSHOT_CHARS)
    assert len(encode(big)) <= DEFAULT_MAX_BYTES


def test_snapshot_on_a_topic_of_another_site_is_refused() -> None:
    msg = Snapshot(site="other", ts=NOW, camera_id="c", cmd_id="x", error="busy")
    with pytest.raises(Exception, match="payload names"):
        decode_site_message("camwatch/v1/10/1001/mine/snapshot", encode(msg), now=NOW)


class Replies:
    def __init__(self) -> None:
        self.got: list[Snapshot] = []
        self.done = threading.Event()

    def __call__(self, message: Snapshot) -> bool:
        self.got.append(message)
        self.done.set()
        return True

    def wait(self, n: int) -> list[Snapshot]:
        for _ in range(100):
            if len(self.got) >= n:
                return self.got
            self.done.wait(0.1)
            self.done.clear()
        raise AssertionError(f"only {len(self.got)} replies")


def make_taker(grab: object, replies: Replies, clock: list[float], creds: list[Credential] | None = None) -> SnapshotTaker:
    cam = CameraConfig(id="gate", address="127.0.0.1", onvif_port=None, stream_uri="rtsp://127.0.0.1:1/x")
    return SnapshotTaker(
        "bkk-1", cameras=lambda: [cam], credentials=lambda c: creds or [],
        stream_uri=lambda c: c.stream_uri, publish=replies, grabber=grab,  # type: ignore[arg-type]
        min_interval_s=10, clock=lambda: clock[0],
    )  # fmt: skip


def cmd(camera: str | None, n: int = 1) -> Command:
    return Command(site="bkk-1", ts=NOW, cmd_id=f"c{n}", command=CommandKind.SNAPSHOT, camera_id=camera)


def test_taker_grabs_off_the_calling_thread_and_rate_limits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    threads: list[str] = []
    uris: list[str] = []

    def grab(uri: str) -> np.ndarray:
        threads.append(threading.current_thread().name)
        uris.append(uri)
        if SECRET in uri and "first" in uri:
            raise SnapshotError("stream_failed", "stream did not open")
        return noise(320, 240)

    replies, clock = Replies(), [100.0]
    creds = [Credential(username="first", password=SECRET), Credential(username="second", password=SECRET)]  # type: ignore[arg-type]
    taker = make_taker(grab, replies, clock, creds)
    try:
        taker.handle(cmd("gate", 1))
        first = replies.wait(1)[0]
        assert first.error is None and first.cmd_id == "c1" and (first.width, first.height) == (320, 240)
        assert threads and threads[0] != threading.current_thread().name
        assert [u.split("@")[0].split("//")[1].split(":")[0] for u in uris] == ["first", "second"]
        clock[0] = 105.0
        taker.handle(cmd("gate", 2))
        assert replies.wait(2)[1].error == "rate_limited" and len(uris) == 2
        clock[0] = 111.0
        taker.handle(cmd("gate", 3))
        assert replies.wait(3)[2].error is None
        taker.handle(cmd("nope", 4))
        taker.handle(cmd(None, 5))
        errors = [r.error for r in replies.wait(5)[3:]]
        assert errors == ["unknown_camera", "unknown_camera"]
        taker.handle(Command(site="bkk-1", ts=NOW, cmd_id="rb", command=CommandKind.REBIRTH))
    finally:
        taker.close()
    assert len(replies.got) == 5
    assert SECRET not in caplog.text
    assert all(SECRET not in r.model_dump_json() for r in replies.got)


def test_taker_reports_a_failed_grab_with_its_reason() -> None:
    def grab(uri: str) -> np.ndarray:
        raise SnapshotError("no_video", "stream opened but sent no decodable frame")

    replies = Replies()
    taker = make_taker(grab, replies, [0.0])
    try:
        taker.handle(cmd("gate"))
        assert replies.wait(1)[0].error == "no_video"
    finally:
        taker.close()


def test_store_keeps_the_latest_picture_and_the_last_failure(tmp_path: Path) -> None:
    db = open_db(tmp_path / "agg.db")
    store = SnapshotStore(db)
    ok, buf = cv2.imencode(".jpg", noise(32, 24))
    jpeg = buf.tobytes()
    pic = Snapshot(site="s", ts=NOW, camera_id="c", cmd_id="a", taken_at=NOW, width=32, height=24,
                   data=base64.b64encode(jpeg).decode())

    def put(message: Snapshot) -> None:
        store.expect(message.cmd_id, message.site, message.camera_id)
        store.put(message, NOW)

    put(pic)
    put(pic.model_copy(update={"cmd_id": "b"}))
    assert db.execute("SELECT COUNT(*) FROM camera_snapshots").fetchone()[0] == 1  # one row per camera
    put(Snapshot(site="s", ts=NOW, camera_id="c", cmd_id="e", error="busy"))
    rec = latest_snapshot(db, "s", "c")
    assert rec is not None and rec.image == jpeg and rec.cmd_id == "b"
    assert (rec.error, rec.error_cmd_id, rec.taken_at) == ("busy", "e", NOW)
    put(pic.model_copy(update={"cmd_id": "d"}))
    rec = latest_snapshot(db, "s", "c")
    assert rec is not None and rec.error is None and rec.cmd_id == "d"
    with pytest.raises(SnapshotRefused, match="not a JPEG"):
        put(pic.model_copy(update={"cmd_id": "g", "data": base64.b64encode(b"GIF89a....").decode()}))
    assert latest_snapshot(db, "s", "other") is None


def test_store_refuses_answers_nobody_asked_for(tmp_path: Path) -> None:
    store = SnapshotStore(open_db(tmp_path / "agg.db"))
    answer = Snapshot(site="s", ts=NOW, camera_id="c", cmd_id="a", error="busy")
    with pytest.raises(SnapshotRefused) as err:
        store.put(answer, NOW)
    assert err.value.reason == "unsolicited"
    store.expect("a", "s", "other-camera")  # asked about another camera
    with pytest.raises(SnapshotRefused):
        store.put(answer, NOW)
    store.expect("a", "s", "c")
    store.put(answer, NOW)
    with pytest.raises(SnapshotRefused):  # one answer per request
        store.put(answer, NOW)


def test_snapshot_command_names_the_camera() -> None:
    cmd_id, topic, payload = snapshot_command("10", "1001", "bkk-1", "gate")
    assert topic == "camwatch/v1/10/1001/bkk-1/cmd"
    parsed = decode(Command, payload)
    assert (parsed.cmd_id, parsed.command, parsed.camera_id) == (cmd_id, CommandKind.SNAPSHOT, "gate")
