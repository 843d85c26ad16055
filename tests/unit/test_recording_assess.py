"""Recording verdicts (agent/recording/assess.py), segment scans, smartctl JSON, the
``recording:`` settings, and the heartbeat figures that carry them (issue 16)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import ConfigError, parse_config
from agent.recording.assess import Limits, assess
from agent.recording.base import ChannelRecording, StorageReading
from agent.recording.dahua import parse_storage as dahua_storage
from agent.recording.directory import DirectorySource, scan_segments
from agent.recording.http import device_time
from agent.recording.monitor import RecordingMonitor
from agent.recording.smart import parse_smart
from protocol import RECORDING_REASONS, Heartbeat, Reason, StorageStatus, decode, encode

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LIMITS = Limits(not_recording_after_s=900, retention_days=30, gap_after_s=1800, min_free_bytes=2**30)
FRESH = ChannelRecording(newest=NOW - timedelta(seconds=60), oldest=NOW - timedelta(days=31), largest_gap_s=120)
DISK = StorageReading(StorageStatus.OK, free_bytes=500 * 2**30, total_bytes=4000 * 2**30)


def reason(channel: ChannelRecording | None, storage: StorageReading | None = DISK,
           limits: Limits = LIMITS) -> Reason | None:
    found = assess("nvr-1", channel, storage, limits, NOW)
    return None if found is None else found.reason


def test_each_reason_and_its_order() -> None:
    assert reason(FRESH) is None
    assert reason(FRESH, StorageReading(StorageStatus.FAULT, detail="hdd2: error")) is Reason.STORAGE_FAULT
    assert reason(FRESH, StorageReading(StorageStatus.OK, free_bytes=2**29)) is Reason.STORAGE_FULL
    assert reason(FRESH, StorageReading(StorageStatus.OK, free_bytes=0),
                  Limits(900, 30, min_free_bytes=None)) is None  # an overwriting NVR: full is normal
    stale = ChannelRecording(newest=NOW - timedelta(seconds=901), oldest=FRESH.oldest)
    assert reason(stale) is Reason.NOT_RECORDING and reason(None) is Reason.NOT_RECORDING
    holed = ChannelRecording(newest=FRESH.newest, oldest=FRESH.oldest, largest_gap_s=3600)
    assert reason(holed) is Reason.RECORDING_GAP
    assert reason(holed, limits=Limits(900, 30, gap_after_s=None)) is None
    short = ChannelRecording(newest=FRESH.newest, oldest=NOW - timedelta(days=29, hours=23))
    assert reason(short) is Reason.RETENTION_SHORT
    # A failed disk explains a stop; a stop explains a short retention.
    assert reason(stale, StorageReading(StorageStatus.FAULT)) is Reason.STORAGE_FAULT
    old_and_short = ChannelRecording(newest=NOW - timedelta(hours=2), oldest=NOW - timedelta(days=3))
    assert reason(old_and_short) is Reason.NOT_RECORDING
    found = assess("nvr-1", short, DISK, LIMITS, NOW)
    assert found is not None and "keeps 29.9 days" in found.message and "30 required" in found.message
    assert {Reason.NOT_RECORDING, Reason.RECORDING_GAP, Reason.RETENTION_SHORT, Reason.STORAGE_FAULT,
            Reason.STORAGE_FULL} == RECORDING_REASONS


def test_segment_scan_newest_oldest_and_recent_gap(tmp_path: Path) -> None:
    base = NOW.timestamp()
    stamps = [base - 40 * 86400, base - 7200, base - 3600 * 1.5, base - 600, base - 30]
    for i, stamp in enumerate(stamps):
        path = tmp_path / "gate" / f"seg{i:03d}.ts"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (stamp, stamp))
    found = scan_segments([str(p) for p in sorted((tmp_path / "gate").iterdir())], NOW)
    assert found is not None
    assert found.newest == NOW - timedelta(seconds=30) and found.oldest == NOW - timedelta(days=40)
    assert found.largest_gap_s == pytest.approx(3600 * 1.5 - 600)  # the 40-day-old one is outside the day
    assert scan_segments([], NOW) is None and scan_segments([str(tmp_path / "gone.ts")], NOW) is None


def test_directory_source_reads_disk_and_default_glob(tmp_path: Path) -> None:
    config = parse_config({
        "site": {"site_id": "s1", "province": "10", "district": "1001"},
        "cameras": [{"id": "gate", "address": "127.0.0.1", "onvif_port": 80},
                    {"id": "yard", "address": "127.0.0.2", "onvif_port": 80}],
        "recording": {"recorders": [{"id": "box", "kind": "directory", "path": str(tmp_path),
                                     "cameras": {"gate": {}, "yard": {"channel": "other/*.mp4"}}}]},
    })
    (tmp_path / "gate" / "2026-11-25").mkdir(parents=True)
    segment = tmp_path / "gate" / "2026-11-25" / "03.00.mp4"
    segment.write_bytes(b"x")
    stamp = NOW.timestamp() - 10
    os.utime(segment, (stamp, stamp))
    reading = asyncio.run(DirectorySource(config.recording.recorders[0]).read(NOW))
    assert set(reading.channels) == {"gate"} and reading.channels["gate"].newest == NOW - timedelta(seconds=10)
    assert reading.storage is not None and reading.storage.total_bytes and reading.storage.free_bytes is not None


def test_recording_settings_refuse_mistakes() -> None:
    base = {"site": {"site_id": "s1", "province": "10", "district": "1001"},
            "cameras": [{"id": "gate", "address": "127.0.0.1", "onvif_port": 80}]}
    for recording, words in (
        ({"recorders": [{"id": "r", "kind": "directory", "cameras": {"gate": {}}}]}, "needs a path"),
        ({"recorders": [{"id": "r", "kind": "hikvision", "cameras": {"gate": {}}}]}, "needs an address"),
        ({"recorders": [{"id": "r", "kind": "onvif", "address": "x", "cameras": {"gate": {}}}]}, "recording token"),
        ({"recorders": [{"id": "r", "kind": "dahua", "address": "x", "cameras": {"nope": {}}}]}, "not in cameras"),
        ({"recorders": [{"id": "r", "kind": "dahua", "address": "x", "password": "pw"}]}, "unknown key"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_config({**base, "recording": recording})
    assert parse_config(base).recording.retention_days == 30  # the Thai agencies' usual rule


def test_smartctl_json_and_maker_details() -> None:
    failed = json.dumps({"device": {"name": "/dev/sda"}, "smart_status": {"passed": False}})
    assert parse_smart(failed) == (False, "/dev/sda: SMART overall-health FAILED")
    assert parse_smart(json.dumps({"smart_status": {"passed": True}}))[0] is True
    assert parse_smart("<html>")[0] is None and parse_smart("[]")[0] is None
    assert dahua_storage("list.info=0\r\n").status is StorageStatus.FAULT
    raid = "list.info[0].Name=/dev/md0\r\nlist.info[0].State=Degraded\r\nlist.info[0].Detail[0].IsError=false\r\n"
    assert dahua_storage(raid).detail == "/dev/md0: Degraded"
    assert device_time("2026-11-25 09:58:00", 7) == datetime(2026, 11, 25, 2, 58, tzinfo=UTC)
    assert device_time("2026-11-25T02:58:00Z", 7) == datetime(2026, 11, 25, 2, 58, tzinfo=UTC)
    assert device_time("yesterday", None) is None


def test_heartbeat_carries_the_figures_and_old_readers_still_decode() -> None:
    config = parse_config({
        "site": {"site_id": "s1", "province": "10", "district": "1001"},
        "cameras": [{"id": "gate", "address": "127.0.0.1", "onvif_port": 80}],
        "recording": {"recorders": [{"id": "box", "kind": "directory", "path": "/nonexistent",
                                     "cameras": {"gate": {"retention_days": 90}}}]},
    })
    monitor = RecordingMonitor(config.recording, [], clock=lambda: NOW)
    from agent.recording.base import RecorderReading

    monitor.readings["box"] = RecorderReading(storage=DISK, channels={"gate": FRESH})
    cameras, storage = monitor.figures()
    beat = Heartbeat(site="s1", ts=NOW, seq=1, recording=cameras, recorders=storage)
    back = decode(Heartbeat, encode(beat), now=NOW)
    assert back.recording["gate"].retention_required_days == 90 and back.recording["gate"].recorder == "box"
    assert back.recording["gate"].retention_kept_days == pytest.approx(31, abs=0.01)
    assert back.recorders["box"].status is StorageStatus.OK
    old = decode(Heartbeat, b'{"v":"1.0","site":"s1","ts":"2026-11-25T03:00:00Z","seq":2}', now=NOW)
    assert old.recording == {} and old.recorders == {}


def test_full_disk_check_is_off_by_default_for_overwriting_recorders() -> None:
    from agent.recording.settings import RecorderConfig

    assert RecorderConfig(id="n", kind="hikvision", address="x").min_free_bytes is None
    assert RecorderConfig(id="n", kind="dahua", address="x", min_free_bytes=5).min_free_bytes == 5
    assert RecorderConfig(id="d", kind="directory", path=Path("/r")).min_free_bytes == 0


def test_heartbeat_leaves_the_figures_out_rather_than_go_over_the_size_limit(tmp_path: Path, now: datetime) -> None:
    from agent.outbox import Outbox
    from agent.publisher import Publisher, PublisherSettings
    from protocol import CameraRecording, RecorderStorage

    sent: list[bytes] = []
    settings = PublisherSettings(site="s1", province="10", district="1001", host="127.0.0.1", port=1, tls=False,
                                 max_payload_bytes=4000)
    pub = Publisher(settings, Outbox(tmp_path / "outbox.sqlite3"), snapshot=list)
    pub._publish = lambda kind, payload, session, upto=0: sent.append(payload) or True  # type: ignore[method-assign]
    for n in (3, 40):
        figures = {f"cam{i}": CameraRecording(recorder="nvr-1", newest=NOW, retention_required_days=30,
                                              retention_kept_days=31.0) for i in range(n)}
        pub.recording_figures = lambda f=figures: (f, {"nvr-1": RecorderStorage()})  # type: ignore[misc]
        pub._heartbeat(0)
    small, big = (decode(Heartbeat, p, now=now) for p in sent)
    assert len(small.recording) == 3 and small.recorders["nvr-1"].status is StorageStatus.OK
    assert big.recording == {} and big.recorders == {} and len(sent[1]) <= 4000  # proof of life still goes
