"""Recorder makers' replies (captured from real devices where published, else written from the
makers' documented shapes: tests/fixtures/recording/README.md) served by a real HTTP server
with digest auth, read through the agent's real clients (httpx, zeep) into recording figures
and verdicts. ``NOW`` is a constant: the recorder's answers are dated around it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from agent.recording.assess import Limits, assess
from agent.recording.base import RecorderReading, RecordingError, RecordingSource
from agent.recording.dahua import DahuaSource
from agent.recording.hikvision import HikvisionSource
from agent.recording.monitor import RecordingMonitor
from agent.recording.onvif_g import OnvifRecordingSource
from agent.recording.settings import RecorderConfig, RecordingConfig
from protocol import Reason, StorageStatus
from tests.rig.canned_http import CannedHttp, Route

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REC = FIXTURES / "recording"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LOGIN = ("monitor", "s3cret-Pass")


def fixture(name: str) -> bytes:
    return (REC / name).read_bytes()


@pytest.fixture
def serve() -> Iterator[list[CannedHttp]]:
    servers: list[CannedHttp] = []
    yield servers
    for server in servers:
        server.stop()


def start(servers: list[CannedHttp], route: Route, login: tuple[str, str] | None = LOGIN) -> CannedHttp:
    server = CannedHttp(route, login).start()
    servers.append(server)
    return server


def recorder(kind: str, server: CannedHttp, **extra: object) -> RecorderConfig:
    return RecorderConfig.model_validate({
        "id": f"{kind}-1", "kind": kind, "address": "127.0.0.1", "port": server.port, "timeout_s": 3,
        "credential": "nvr", **extra,
    })


def read(source: RecordingSource) -> RecorderReading:
    return asyncio.run(source.read(NOW))


def hikvision_route(storage: str) -> Route:
    def route(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path == "/ISAPI/ContentMgmt/Storage":
            return 200, "application/xml", fixture(storage)
        if path == "/ISAPI/ContentMgmt/search" and method == "POST":
            oldest = b"<maxResults>1</maxResults>" in body and b"2000-01-01" in body
            return 200, "application/xml", fixture(
                "hikvision_search_101_oldest.xml" if oldest else "hikvision_search_101_recent.xml")
        return 404, "text/plain", b"not found"
    return route


def test_hikvision_captured_storage_and_channel_times_with_digest(serve: list[CannedHttp]) -> None:
    server = start(serve, hikvision_route("captured/hikvision_acr4_40_storage.xml"))
    config = recorder("hikvision", server, cameras={"gate": {"channel": "101"}}, min_free_bytes=None)
    reading = read(HikvisionSource(config, LOGIN))
    assert reading.storage is not None and reading.storage.status is StorageStatus.OK
    assert reading.storage.total_bytes == 3815447 * 2**20 and reading.storage.free_bytes == 0  # quota mode, full
    gate = reading.channels["gate"]
    assert gate.oldest == datetime(2026, 10, 20, 0, 0, 5, tzinfo=UTC)
    assert gate.newest == datetime(2026, 11, 25, 2, 58, 30, tzinfo=UTC)
    assert server.refused >= 1  # every first request was challenged: digest, not basic
    assert all(b"s3cret" not in body and "s3cret" not in path for _, path, body in server.requests)
    with pytest.raises(RecordingError, match="credentials refused"):
        read(HikvisionSource(config, ("monitor", "wrong")))


def test_hikvision_disk_error_is_a_storage_fault_and_bad_xml_an_error(serve: list[CannedHttp]) -> None:
    server = start(serve, hikvision_route("hikvision_storage_hdd_error.xml"))
    reading = read(HikvisionSource(recorder("hikvision", server), LOGIN))
    assert reading.storage is not None and reading.storage.status is StorageStatus.FAULT
    assert reading.storage.detail == "hdd2: error"  # the empty bay (notexist) is not a fault
    broken = start(serve, hikvision_route("malformed_storage.xml"))
    with pytest.raises(RecordingError, match="not valid XML"):
        read(HikvisionSource(recorder("hikvision", broken), LOGIN))


def dahua_route(finders: list[str]) -> Route:
    state: dict[str, str] = {}

    def route(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        action = query.get("action", "")
        if url.path == "/cgi-bin/storageDevice.cgi" and action == "getDeviceAllInfo":
            return 200, "text/plain", fixture("captured/dahua_sd_storage_device.txt")
        if url.path != "/cgi-bin/mediaFileFind.cgi":
            return 404, "text/plain", b"Error\r\n"
        if action == "factory.create":
            return 200, "text/plain", b"result=308422736\r\n"
        if action == "findFile":
            state["start"] = query["condition.StartTime"]
            return 200, "text/plain", b"OK\r\n"
        if action == "findNextFile":
            name = "dahua_find_next_file_oldest.txt" if state["start"].startswith("2000") else "dahua_find_next_file_recent.txt"
            return 200, "text/plain", fixture(name)
        finders.append(action)
        return 200, "text/plain", b"OK\r\n"
    return route


def test_dahua_captured_sd_card_and_media_file_find(serve: list[CannedHttp]) -> None:
    closed: list[str] = []
    server = start(serve, dahua_route(closed))
    config = recorder("dahua", server, cameras={"gate": {"channel": "1"}}, device_utc_offset_h=7)
    reading = read(DahuaSource(config, LOGIN))
    assert reading.storage is not None and reading.storage.status is StorageStatus.OK
    assert reading.storage.total_bytes == 63989415936 and reading.storage.free_bytes == 63989415936 - 98304
    gate = reading.channels["gate"]
    assert gate.newest == datetime(2026, 11, 25, 2, 58, tzinfo=UTC)  # 09:58 in Bangkok
    assert gate.oldest == datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
    assert closed == ["close", "destroy", "close", "destroy"]  # every finder released on the device


def onvif_route(port_holder: list[int]) -> Route:
    def route(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if b"EndSearch" in body:  # not answered by this device: the agent does without
            return 500, "application/soap+xml", fixture("onvif_fault_no_recording.xml")
        for op, name in (("GetSystemDateAndTime", "../onvif/get_system_date_and_time_utc.xml"),
                         ("GetServices", "onvif_get_services.xml"),
                         ("GetRecordingSummary", "captured/onvif_get_recording_summary.xml"),
                         ("FindRecordings", "captured/onvif_find_recordings.xml"),
                         ("GetRecordingSearchResults", "captured/onvif_get_recording_search_results.xml")):
            if op.encode() in body:
                return 200, "application/soap+xml", fixture(name).replace(b"{port}", str(port_holder[0]).encode())
        if b"GetRecordingInformation" in body:
            if b"RecordMediaProfile000" in body:
                return 200, "application/soap+xml", fixture("onvif_get_recording_information.xml")
            return 500, "application/soap+xml", fixture("onvif_fault_no_recording.xml")
        return 400, "text/plain", b"unexpected"
    return route


def test_onvif_profile_g_search_and_recording_information(serve: list[CannedHttp]) -> None:
    port: list[int] = []
    server = start(serve, onvif_route(port), login=None)
    port.append(server.port)
    config = recorder("onvif", server, cameras={"lobby": {"channel": "IpCamera_1"},  # a source name
                                                "gate": {"channel": "RecordMediaProfile000"},
                                                "yard": {"channel": "RecordMediaProfile009"}})
    reading = read(OnvifRecordingSource(config, LOGIN))
    assert reading.storage is None  # Profile G has no standard disk state
    lobby = reading.channels["lobby"]  # from the captured search results
    assert lobby.newest == datetime(2025, 3, 15, 16, 28, tzinfo=UTC) and lobby.status == "Stopped"
    assert lobby.oldest == datetime(1970, 1, 1, 0, 3, 15, tzinfo=UTC)  # recorded while its clock was unset
    then = datetime(2025, 3, 15, 16, 30, tzinfo=UTC)
    verdict = assess("onvif-1", lobby, None, Limits(900, 30), then)
    assert verdict is not None and verdict.reason is Reason.RETENTION_SHORT and "clock was unset" in verdict.message
    gate = reading.channels["gate"]  # not in the search: asked with GetRecordingInformation
    assert gate.newest == datetime(2026, 11, 25, 2, 59, 41, tzinfo=UTC)
    assert gate.oldest == datetime(2026, 10, 1, 0, 0, 12, tzinfo=UTC) and gate.status == "Recording"
    assert "yard" not in reading.channels  # the device has no such recording: nothing recorded
    ops = [b for _, _, b in server.requests]
    assert any(b"GetRecordingSummary" in b for b in ops) and any(b"UsernameToken" in b for b in ops)
    assert any(b"EndSearch" in b for b in ops)  # the search session is released


def test_monitor_turns_maker_answers_into_verdicts_without_crashing(serve: list[CannedHttp]) -> None:
    good = start(serve, hikvision_route("captured/hikvision_acr4_40_storage.xml"))
    broken = start(serve, hikvision_route("malformed_storage.xml"))
    nvr = recorder("hikvision", good, cameras={"gate": {"channel": "101"}, "lobby": {"channel": "201",
                   "retention_days": 60}}, min_free_bytes=None)
    bad = RecorderConfig.model_validate({**recorder("hikvision", broken).model_dump(), "id": "nvr-2",
                                         "cameras": {"yard": {}}})
    settings = RecordingConfig(recorders=[nvr, bad])
    monitor = RecordingMonitor(settings, [HikvisionSource(nvr, LOGIN), HikvisionSource(bad, LOGIN)], clock=lambda: NOW)
    asyncio.run(monitor.check())
    assert monitor.verdict("gate") is None  # 36 days kept, 90 s old: recorded as required
    lobby = monitor.verdict("lobby")  # the same track 101 answers for 201 here: 60 days required
    assert lobby is not None and lobby.reason is Reason.RETENTION_SHORT
    assert monitor.verdict("yard") is None  # its recorder answered nonsense: unknown, not a fault
    cameras, storage = monitor.figures()
    assert cameras["gate"].retention_kept_days is not None and round(cameras["gate"].retention_kept_days) == 36
    assert storage == {"hikvision-1": storage["hikvision-1"]} and storage["hikvision-1"].status is StorageStatus.OK
