"""Hikvision NVRs and cameras over ISAPI: disk state and per-channel recorded times.

``GET /ISAPI/ContentMgmt/Storage`` lists the disks (``hddList/hdd``: ``status``,
``capacity`` and ``freeSpace`` in MiB, ``property`` RW/RO); an empty bay says ``notexist``
and is skipped. Per channel, ``POST /ISAPI/ContentMgmt/search`` with a CMSearchDescription
for the track (101 = channel 1 main stream): from 2000 with one result gives the oldest
segment; the last day, paged, gives the newest. A disk in ``error``/``smartfailed``/
``unformatted``/``abnormal`` is a storage fault; no usable disk at all is one too.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from lxml import etree

from protocol import StorageStatus

from .base import ChannelRecording, RecorderReading, RecordingError, StorageReading
from .http import children, device_time, make_client, parse_xml, request_text, text_of
from .settings import RecorderConfig

__all__ = ["HikvisionSource", "parse_search", "parse_storage", "search_body"]

STORAGE_PATH = "/ISAPI/ContentMgmt/Storage"
SEARCH_PATH = "/ISAPI/ContentMgmt/search"
_FINE = {"ok", "idle", "sleeping", "sleep", "normal"}
_ABSENT = {"notexist", "not_exist", "nonexist"}
_PAGE = 50
_MAX_PAGES = 10  # 500 segments a day per channel is far beyond a continuous recording's count
MIB = 2**20


def parse_storage(root: etree._Element) -> StorageReading:
    """Storage state from a ``storage`` document (hdd and nas lists)."""
    free = total = 0
    bad: list[str] = []
    usable = 0
    for disk in [*children(root, "hdd"), *children(root, "nas")]:
        name = text_of(disk, "hddName") or text_of(disk, "id") or "disk"
        status = text_of(disk, "status").lower()
        if status in _ABSENT:
            continue
        if status not in _FINE:
            bad.append(f"{name}: {status or 'no status'}")
            continue
        usable += 1
        try:
            total += int(float(text_of(disk, "capacity") or 0)) * MIB
            free += int(float(text_of(disk, "freeSpace") or 0)) * MIB
        except ValueError:
            bad.append(f"{name}: unreadable capacity")
    if bad:
        return StorageReading(StorageStatus.FAULT, free, total, "; ".join(bad)[:200])
    if usable == 0:
        return StorageReading(StorageStatus.FAULT, None, None, "no disk installed")
    return StorageReading(StorageStatus.OK, free, total, "")


def search_body(track: str, start: datetime, end: datetime, first: int, count: int) -> str:
    """A CMSearchDescription for one track's recordings in [start, end]."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<CMSearchDescription version="1.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        f"<searchID>{uuid.uuid4()}</searchID><trackList><trackID>{int(track)}</trackID></trackList>"
        f"<timeSpanList><timeSpan><startTime>{start.strftime(fmt)}</startTime>"
        f"<endTime>{end.strftime(fmt)}</endTime></timeSpan></timeSpanList>"
        f"<maxResults>{count}</maxResults><searchResultPostion>{first}</searchResultPostion>"
        "<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>"
        "</CMSearchDescription>"
    )


def parse_search(root: etree._Element, offset_h: float | None) -> tuple[list[tuple[datetime, datetime]], bool]:
    """(segments as (start, end), more to fetch) from a CMSearchResult."""
    spans: list[tuple[datetime, datetime]] = []
    for item in children(root, "searchMatchItem"):
        start = device_time(text_of(item, "startTime"), offset_h)
        end = device_time(text_of(item, "endTime"), offset_h)
        if start is not None and end is not None:
            spans.append((start, end))
    status = (text_of(root, "responseStatusStrg") or text_of(root, "responseStatusStrp")).upper()
    return spans, status == "MORE"


class HikvisionSource:
    """RecordingSource over Hikvision ISAPI (digest auth, explicit timeouts)."""

    def __init__(self, config: RecorderConfig, login: tuple[str, str] | None) -> None:
        self._config = config
        self._login = login

    @property
    def recorder_id(self) -> str:
        """The recorder's id from the agent config."""
        return self._config.id

    async def read(self, now: datetime) -> RecorderReading:
        """Disks, then each configured channel's oldest and newest recording."""
        rid = self.recorder_id
        async with make_client(self._config, self._login) as client:
            storage = parse_storage(parse_xml(await request_text(client, rid, "GET", STORAGE_PATH), rid, STORAGE_PATH))
            channels: dict[str, ChannelRecording] = {}
            for cam_id, where in self._config.cameras.items():
                track = where.channel or "101"
                if not track.isdigit():
                    raise RecordingError(f"recorder {rid}: camera {cam_id}: track id {track!r} is not a number")

                async def search(start: datetime, first: int, count: int, track: str = track) -> tuple[
                        list[tuple[datetime, datetime]], bool]:
                    text = await request_text(client, rid, "POST", SEARCH_PATH,
                                              content=search_body(track, start, now, first, count))
                    return parse_search(parse_xml(text, rid, SEARCH_PATH), self._config.device_utc_offset_h)

                oldest_spans, _ = await search(datetime(2000, 1, 1, tzinfo=now.tzinfo), 0, 1)
                if not oldest_spans:
                    continue  # nothing recorded at all for this track
                ends: list[datetime] = []
                first = 0
                for _page in range(_MAX_PAGES):
                    spans, more = await search(now - timedelta(days=1), first, _PAGE)
                    ends.extend(end for _, end in spans)
                    first += len(spans)
                    if not more or not spans:
                        break
                channels[cam_id] = ChannelRecording(
                    newest=max(ends, default=None), oldest=min(start for start, _ in oldest_spans),
                )
        return RecorderReading(storage=storage, channels=channels)
