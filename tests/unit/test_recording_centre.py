"""The centre's side of recording health (issue 16): heartbeat figures stored when they move,
a camera's recording line in the cameras API, retention compliance per province."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.faults.model import FaultAction, FaultKind
from aggregator.faults.service import FaultService
from aggregator.geography import load_geography
from aggregator.reports.monthly import build_report
from aggregator.reports.render import to_html
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.queries.recording import recorder_group, retention_by_province
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraRecording,
    CameraState,
    Event,
    Events,
    Heartbeat,
    Kind,
    Reason,
    RecorderStorage,
    SiteTopic,
    StorageStatus,
)

PEPPER = "recording-pepper-0123456789"
TOPIC = SiteTopic("10", "1001", "bkk-rec", Kind.HEARTBEAT)


def _beat(now: datetime, seq: int, kept: float, newest: datetime, base: datetime) -> Inbound:
    """A heartbeat sent at ``now``; the recorder's times are fixed around ``base`` (the test's now)."""
    figures = {
        "gate": CameraRecording(recorder="nvr-1", newest=newest, oldest=datetime(2026, 10, 1, tzinfo=newest.tzinfo),
                                retention_required_days=30, retention_kept_days=kept),
        "yard": CameraRecording(recorder="nvr-1", newest=base - timedelta(hours=3), oldest=base - timedelta(days=12),
                                retention_required_days=30, retention_kept_days=12),
        "ghost": CameraRecording(recorder="nvr-1"),  # never born: skipped
    }
    storage = {"nvr-1": RecorderStorage(status=StorageStatus.OK, free_bytes=10**12, total_bytes=4 * 10**12)}
    return Inbound(TOPIC, Heartbeat(site="bkk-rec", ts=now, seq=seq, recording=figures, recorders=storage), now)


def test_figures_are_stored_when_they_move_and_served(tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "camwatch.db"
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, start=now - timedelta(days=1))
    born = now - timedelta(hours=4)
    store.apply([Inbound(SiteTopic("10", "1001", "bkk-rec", Kind.BIRTH), Birth(
        site="bkk-rec", ts=born, bd_seq=0,
        cameras=[BirthCamera(camera_id=c, state=CameraState.UP, since=born) for c in ("gate", "yard")]), born)])
    store.apply([_beat(now - timedelta(minutes=2), 1, 35.0, now - timedelta(minutes=3), now)])
    first = db.execute("SELECT camera, updated_ms FROM camera_recording ORDER BY camera").fetchall()
    assert len(first) == 2  # the unborn camera is not stored
    # Same figures a minute later (newest within the same minute): nothing rewritten.
    store.apply([_beat(now - timedelta(minutes=1), 2, 35.02, now - timedelta(minutes=3, seconds=-20), now)])
    assert db.execute("SELECT camera, updated_ms FROM camera_recording ORDER BY camera").fetchall() == first
    stopped = store.apply([Inbound(SiteTopic("10", "1001", "bkk-rec", Kind.EVENTS), Events(
        site="bkk-rec", ts=now, seq=3, events=[Event(id=1, camera_id="yard", at=now - timedelta(minutes=1),
                                                     state=CameraState.DEGRADED, reason=Reason.NOT_RECORDING)]), now)])

    assert recorder_group(db, "bkk-rec", "gate") == ("nvr-1", ["gate", "yard"])
    assert recorder_group(db, "bkk-rec", "ghost") is None
    [bangkok] = retention_by_province(db, ["10"])
    assert (bangkok.cameras, bangkok.compliant, bangkok.short, bangkok.not_recording) == (2, 1, 1, 1)
    assert bangkok.share == 0.5 and retention_by_province(db, ["50"]) == []
    report = build_report(db, now.strftime("%Y-%m"), now=now, with_audit=False)
    assert report.recording is not None and report.recording["total"]["share"] == 0.5
    html = to_html(report, "en")
    assert 'id="recording"' in html and "Bangkok" in html.split('id="recording"')[1] and "50.0%" in html
    assert "การเก็บภาพย้อนหลัง" in to_html(report, "th")
    assert build_report(db, now.strftime("%Y-%m"), "50", now=now, with_audit=False).recording is None

    _, token = create_token(db, "admin", "admin", [], pepper=PEPPER, geography=geo)
    settings = AggregatorSettings(db_path=path, token_pepper=SecretStr(PEPPER), mqtt_password=SecretStr("x"))
    app = create_app(settings, geo, store=store)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        gate = client.get("/api/v1/cameras/bkk-rec/gate", headers=auth).json()
        assert gate["recording"]["recorder"] == "nvr-1" and gate["recording"]["compliant"] is True
        assert gate["recording"]["kept_days"] == 35.0 and gate["recording"]["storage"]["status"] == "ok"
        listed = client.get("/api/v1/cameras?site_id=bkk-rec", headers=auth).json()["items"]
        by_id = {c["camera_id"]: c for c in listed}
        assert by_id["yard"]["reason"] == "not_recording" and by_id["yard"]["recording"]["compliant"] is False
        assert by_id["yard"]["recording"]["storage"] is None  # lists carry the line, not the storage

    # The fault service learns from the stored figures which cameras nvr-1 records: both stopping
    # within a minute of each other is one recorder fault with the two camera faults under it.
    both = store.apply([Inbound(SiteTopic("10", "1001", "bkk-rec", Kind.EVENTS), Events(
        site="bkk-rec", ts=now, seq=4, events=[Event(id=2, camera_id="gate", at=now, state=CameraState.DEGRADED,
                                                     reason=Reason.NOT_RECORDING)]), now)])
    faults = FaultService(lambda: open_db(path), clock=lambda: now)
    try:
        changes = faults.feed([*stopped.transitions, *both.transitions], now)
    finally:
        faults.stop()
    [recorder] = [c.fault for c in changes if c.fault.kind is FaultKind.RECORDER]
    assert recorder.site == "bkk-rec" and recorder.affected == 2 and recorder.reason is Reason.NOT_RECORDING
    assert {c.fault.camera_id for c in changes if c.action is FaultAction.HELD} == {"gate", "yard"}
    db.close()
