"""Dahua (and its OEMs: Amcrest, Lorex, CP Plus) NVRs and cameras over the HTTP CGI.

``storageDevice.cgi?action=getDeviceAllInfo`` answers ``key=value`` lines per device
(``list.info[i].State``, ``.Detail[j].TotalBytes``/``UsedBytes``/``IsError``); a state other
than Success/Normal/Running/Active/Sleeping, or any ``IsError=true``, is a storage fault.
Per channel, ``mediaFileFind.cgi``: factory.create, findFile over a time window,
findNextFile, close, destroy; from 2000 with one result gives the oldest file, the last day
paged gives the newest. Dahua answers in the device's local time (``device_utc_offset_h``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx

from protocol import StorageStatus

from .base import ChannelRecording, RecorderReading, RecordingError, StorageReading
from .http import device_time, make_client, request_text
from .settings import RecorderConfig

__all__ = ["DahuaSource", "parse_files", "parse_pairs", "parse_storage"]

STORAGE_PATH = "/cgi-bin/storageDevice.cgi"
FIND_PATH = "/cgi-bin/mediaFileFind.cgi"
_FINE = {"success", "normal", "running", "active", "sleeping"}
_INFO = re.compile(r"^list\.info\[(\d+)\]\.(.+)$")
_PAGE = 100
_MAX_PAGES = 10


def parse_pairs(text: str) -> dict[str, str]:
    """``key=value`` lines (CRLF or LF) into a dict; lines without ``=`` are ignored."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _bytes(value: str) -> int:
    try:
        return int(float(value))
    except ValueError:
        return 0


def parse_storage(text: str) -> StorageReading:
    """Storage state from a getDeviceAllInfo answer."""
    devices: dict[int, dict[str, str]] = {}
    for key, value in parse_pairs(text).items():
        match = _INFO.match(key)
        if match:
            devices.setdefault(int(match[1]), {})[match[2]] = value
    if not devices:
        return StorageReading(StorageStatus.FAULT, None, None, "no storage device")
    free = total = 0
    bad: list[str] = []
    for index in sorted(devices):
        fields = devices[index]
        name = fields.get("Name", f"device {index}")
        state = fields.get("State", "")
        if state.lower() not in _FINE:
            bad.append(f"{name}: {state or 'no state'}")
        parts = {k.split("]", 1)[0] for k in fields if k.startswith("Detail[")}
        for part in parts:
            if fields.get(f"{part}].IsError", "false").lower() == "true":
                bad.append(f"{name} {fields.get(f'{part}].Path', part + ']')}: error")
            size = _bytes(fields.get(f"{part}].TotalBytes", "0"))
            total += size
            free += max(0, size - _bytes(fields.get(f"{part}].UsedBytes", "0")))
    if bad:
        return StorageReading(StorageStatus.FAULT, free, total, "; ".join(bad)[:200])
    return StorageReading(StorageStatus.OK, free, total, "")


def parse_files(text: str, offset_h: float | None) -> list[tuple[datetime, datetime]]:
    """(start, end) of every ``items[i]`` in a findNextFile answer."""
    pairs = parse_pairs(text)
    out = []
    for i in range(_bytes(pairs.get("found", "0"))):
        start = device_time(pairs.get(f"items[{i}].StartTime", ""), offset_h)
        end = device_time(pairs.get(f"items[{i}].EndTime", ""), offset_h)
        if start is not None and end is not None:
            out.append((start, end))
    return out


class DahuaSource:
    """RecordingSource over Dahua's CGI (digest auth, explicit timeouts)."""

    def __init__(self, config: RecorderConfig, login: tuple[str, str] | None) -> None:
        self._config = config
        self._login = login

    @property
    def recorder_id(self) -> str:
        """The recorder's id from the agent config."""
        return self._config.id

    def _stamp(self, at: datetime) -> str:
        local = at + timedelta(hours=self._config.device_utc_offset_h or 0.0)
        return local.strftime("%Y-%m-%d %H:%M:%S")

    async def _find(self, client: httpx.AsyncClient, channel: str, start: datetime, end: datetime,
                    count: int, pages: int) -> list[tuple[datetime, datetime]]:
        rid = self.recorder_id
        created = parse_pairs(await request_text(client, rid, "GET", FIND_PATH, params={"action": "factory.create"}))
        obj = created.get("result", "")
        if not obj.isdigit():
            raise RecordingError(f"recorder {rid}: mediaFileFind gave no finder object")
        found: list[tuple[datetime, datetime]] = []
        try:
            try:
                await request_text(client, rid, "GET", FIND_PATH, params={
                    "action": "findFile", "object": obj, "condition.Channel": channel,
                    "condition.StartTime": self._stamp(start), "condition.EndTime": self._stamp(end),
                })
            except RecordingError:
                return []  # Dahua answers 400 "Error" when a channel has nothing in the window
            for _page in range(pages):
                page = parse_files(await request_text(client, rid, "GET", FIND_PATH, params={
                    "action": "findNextFile", "object": obj, "count": str(count)}), self._config.device_utc_offset_h)
                found.extend(page)
                if len(page) < count:
                    break
        finally:
            for action in ("close", "destroy"):
                try:
                    await request_text(client, rid, "GET", FIND_PATH, params={"action": action, "object": obj})
                except RecordingError:
                    pass  # the finder times out on the device by itself
        return found

    async def read(self, now: datetime) -> RecorderReading:
        """Storage devices, then each configured channel's oldest and newest file."""
        rid = self.recorder_id
        async with make_client(self._config, self._login) as client:
            storage = parse_storage(await request_text(client, rid, "GET", STORAGE_PATH,
                                                       params={"action": "getDeviceAllInfo"}))
            channels: dict[str, ChannelRecording] = {}
            for cam_id, where in self._config.cameras.items():
                channel = where.channel or "1"
                if not channel.isdigit():
                    raise RecordingError(f"recorder {rid}: camera {cam_id}: channel {channel!r} is not a number")
                oldest = await self._find(client, channel, datetime(2000, 1, 2, tzinfo=now.tzinfo), now, 1, 1)
                if not oldest:
                    continue
                recent = await self._find(client, channel, now - timedelta(days=1), now, _PAGE, _MAX_PAGES)
                channels[cam_id] = ChannelRecording(
                    newest=max((end for _, end in recent), default=None),
                    oldest=min(start for start, _ in oldest),
                )
        return RecorderReading(storage=storage, channels=channels)
