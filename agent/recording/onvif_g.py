"""ONVIF Profile G recorders (NVRs, cameras recording to an SD card) through the search service.

The conversation is the agent's own ONVIF client (agent/onvif_client.py: camera-clock-signed
WS-UsernameToken, per-call and whole-read timeouts, errors translated at the boundary). The
search service is located with GetServices (GetCapabilities' Extension as a fallback), then
``GetRecordingSummary`` (recorder-wide DataFrom/DataUntil, logged), ``FindRecordings`` and
``GetRecordingSearchResults`` (every recording, ended with ``EndSearch``), matched to each
camera's configured channel by recording token, source id or source name; a channel the
search did not list is asked with ``GetRecordingInformation``. EarliestRecording and
LatestRecording are the camera's oldest and newest footage. Profile G has no standard disk
state, so storage stays unknown.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from onvif import SERVICES

from agent.onvif_client import Conversation, OnvifError, OnvifProtocolError, OnvifTimeout, Timeouts

from .base import ChannelRecording, RecorderReading, RecordingError
from .settings import RecorderConfig

__all__ = ["OnvifRecordingSource", "as_utc", "recording_times"]

logger = logging.getLogger(__name__)

_SEARCH_NS: str = SERVICES["search"]["ns"]
MAX_RECORDINGS = 256  # a 128-channel NVR with main and sub recordings
SEARCH_ROUNDS = 8


def as_utc(value: object) -> datetime | None:
    """A zeep dateTime as aware UTC (a naive one is taken as UTC, as ONVIF requires)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def recording_times(info: object) -> ChannelRecording:
    """ChannelRecording from a serialised GetRecordingInformation reply."""
    if not isinstance(info, dict):
        raise ValueError("GetRecordingInformation gave no RecordingInformation")
    status = info.get("RecordingStatus")
    return ChannelRecording(
        newest=as_utc(info.get("LatestRecording")),
        oldest=as_utc(info.get("EarliestRecording")),
        status=str(status) if status is not None else "",
    )


def _names(info: dict[str, Any]) -> tuple[str, ...]:
    """What a configured channel may name a recording by: its token, its source's id or name."""
    source = info.get("Source")
    src: dict[str, Any] = source if isinstance(source, dict) else {}
    return tuple(str(v) for v in (info.get("RecordingToken"), src.get("SourceId"), src.get("Name")) if v)


async def _locate_search(conv: Conversation) -> None:
    dm = await conv.service("devicemgmt")
    xaddr = None
    try:
        services = await conv.call(dm, "GetServices", {"IncludeCapability": False})
        xaddr = next((s.get("XAddr") for s in services or () if isinstance(s, dict)
                      and s.get("Namespace") == _SEARCH_NS), None)
    except OnvifProtocolError as err:
        logger.debug("%s: GetServices failed, trying GetCapabilities: %s", conv.where, err)
    if not xaddr:
        caps: Any = await conv.call(dm, "GetCapabilities", {"Category": "All"})
        ext = caps.get("Extension") if isinstance(caps, dict) else None
        search = ext.get("Search") if isinstance(ext, dict) else None
        xaddr = search.get("XAddr") if isinstance(search, dict) else None
    if not xaddr or "://" not in str(xaddr):
        raise OnvifProtocolError(f"{conv.where}: device names no recording search service (not Profile G)")
    conv.cam.xaddrs[_SEARCH_NS] = str(xaddr).strip()


class OnvifRecordingSource:
    """RecordingSource over ONVIF Profile G's recording search service."""

    def __init__(self, config: RecorderConfig, login: tuple[str, str] | None) -> None:
        self._config = config
        self._login = login
        self._timeouts = Timeouts(connect=min(3.0, config.timeout_s), read=config.timeout_s,
                                  total=config.timeout_s * 5)

    @property
    def recorder_id(self) -> str:
        """The recorder's id from the agent config."""
        return self._config.id

    async def _search(self, conv: Conversation, search: object) -> list[dict[str, Any]]:
        """Every recording the device lists (FindRecordings, then GetRecordingSearchResults until done)."""
        found = await conv.call(search, "FindRecordings", {
            "Scope": {}, "MaxMatches": MAX_RECORDINGS, "KeepAliveTime": timedelta(seconds=self._config.timeout_s * 2)})
        token = found.get("SearchToken") if isinstance(found, dict) else found
        if not token:
            raise OnvifProtocolError(f"{conv.where}: FindRecordings gave no search token")
        out: list[dict[str, Any]] = []
        try:
            for _round in range(SEARCH_ROUNDS):
                reply = await conv.call(search, "GetRecordingSearchResults", {
                    "SearchToken": token, "MaxResults": MAX_RECORDINGS,
                    "WaitTime": timedelta(seconds=max(1.0, self._config.timeout_s / 2))})
                # zeep unwraps a one-element reply: the ResultList itself, or wrapped in older WSDLs
                results = reply.get("ResultList", reply) if isinstance(reply, dict) else None
                if not isinstance(results, dict):
                    raise OnvifProtocolError(f"{conv.where}: GetRecordingSearchResults gave no ResultList")
                out.extend(i for i in results.get("RecordingInformation") or () if isinstance(i, dict))
                if str(results.get("SearchState")) == "Completed":
                    break
        finally:
            try:
                await conv.call(search, "EndSearch", {"SearchToken": token})
            except OnvifError:  # the session ends by itself after KeepAliveTime
                pass
        return out

    async def read(self, now: datetime) -> RecorderReading:
        """Summary, the recordings search, then GetRecordingInformation for tokens it did not list."""
        user, password = self._login if self._login is not None else (None, None)
        conv = Conversation(self._config.address, self._config.http_port(), user, password, self._timeouts)
        try:
            await conv.tcp_check()
            await conv.learn_clock()
            await _locate_search(conv)
            search = await conv.service("search")
            summary = await conv.call(search, "GetRecordingSummary")
            logger.debug("recorder %s: summary %s", self.recorder_id, summary)
            channels: dict[str, ChannelRecording] = {}
            try:
                listed = await self._search(conv, search)
            except (OnvifProtocolError, OnvifTimeout) as err:  # optional in practice: ask token by token
                logger.info("recorder %s: recordings search failed, asking each token: %s", self.recorder_id, err)
                listed = []
            for cam_id, where in self._config.cameras.items():
                match = next((i for i in listed if where.channel in _names(i)), None)
                if match is not None:
                    channels[cam_id] = recording_times(match)
                    continue
                try:
                    info = await conv.call(search, "GetRecordingInformation", {"RecordingToken": where.channel})
                    channels[cam_id] = recording_times(info)
                except OnvifProtocolError as err:  # an unknown token is a fault reply: nothing recorded
                    logger.info("recorder %s: %s: no recording %s: %s", self.recorder_id, cam_id, where.channel, err)
                except ValueError as err:
                    logger.warning("recorder %s: %s: %s", self.recorder_id, cam_id, err)
            return RecorderReading(storage=None, channels=channels)
        except OnvifError as err:
            raise RecordingError(f"recorder {self.recorder_id}: {err}") from err
        finally:
            await conv.close()
