"""The publisher's own messages: the birth that opens a session and the heartbeat that keeps it.

Kept apart from agent/publisher.py (when to send) because these say *what* is sent: which
figures a birth and a heartbeat carry, and what a heartbeat drops when it is too big, since
proof of life matters more than the recording figures.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

from protocol import (
    Birth,
    BirthCamera,
    CameraRecording,
    Heartbeat,
    RecorderStorage,
    SiteInfo,
    encode,
)

from .publisher_settings import PublisherSettings

__all__ = ["build_birth", "build_heartbeat", "free_disk", "heartbeat_payload"]

# The publisher's logger: operators and the demo filter on "agent.publisher".
logger = logging.getLogger("agent.publisher")


def build_birth(
    s: PublisherSettings, *, bd_seq: int, site_info: SiteInfo, last_event_id: int, cameras: list[BirthCamera]
) -> Birth:
    """The whole birth of a session (split into parts by the caller when large)."""
    return Birth(
        site=s.site,
        ts=datetime.now(UTC),
        bd_seq=bd_seq,
        agent_version=s.agent_version,
        site_info=site_info,
        last_event_id=last_event_id,
        cameras=cameras,
    )


def build_heartbeat(
    s: PublisherSettings,
    *,
    seq: int,
    uptime_s: float,
    outbox_depth: int,
    compacted: int,
    free_disk_bytes: int | None,
    cameras: list[BirthCamera],
    recording: dict[str, CameraRecording],
    recorders: dict[str, RecorderStorage],
) -> Heartbeat:
    """One heartbeat: proof of life, the outbox's depth and every camera's current state."""
    return Heartbeat(
        site=s.site,
        ts=datetime.now(UTC),
        seq=seq,
        interval_s=max(1, int(s.heartbeat_interval_s)),
        uptime_s=uptime_s,
        outbox_depth=outbox_depth,
        compacted=compacted,
        free_disk_bytes=free_disk_bytes,
        cameras={c.camera_id: c.state for c in cameras},
        recording=recording,
        recorders=recorders,
    )


def heartbeat_payload(s: PublisherSettings, beat: Heartbeat) -> bytes:
    """The encoded heartbeat, without its recording figures when it would pass the size limit."""
    payload = encode(beat, max_bytes=2**31)
    if len(payload) > s.max_payload_bytes and (beat.recording or beat.recorders):
        # The centre refuses an oversized message: proof of life matters more than the figures.
        logger.warning("%s: heartbeat of %d bytes over the %d limit: recording figures left out",
                       s.site, len(payload), s.max_payload_bytes)
        payload = encode(beat.model_copy(update={"recording": {}, "recorders": {}}), max_bytes=2**31)
    return payload


def free_disk(path: Path) -> int | None:
    """Free bytes on the file system holding ``path``: the centre sees a gateway filling up in time."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
