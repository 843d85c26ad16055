"""Build the configured recorders' sources: the one place a backend is chosen by ``kind``."""

from __future__ import annotations

from ..config import AgentConfig, Secrets
from .base import RecordingSource
from .directory import DirectorySource
from .settings import RecorderConfig

__all__ = ["build_sources", "recorder_login"]


def recorder_login(config: RecorderConfig, secrets: Secrets | None) -> tuple[str, str] | None:
    """(user, password) for a recorder from the camera secrets file, None without one."""
    if config.credential is None or secrets is None:
        return None
    found = secrets.credentials.get(config.credential)
    if found is None:
        return None
    return found.username, found.password.get_secret_value()


def build_sources(config: AgentConfig, secrets: Secrets | None) -> list[RecordingSource]:
    """One RecordingSource per configured recorder."""
    out: list[RecordingSource] = []
    for rec in config.recording.recorders:
        if rec.kind == "directory":
            out.append(DirectorySource(rec))
        elif rec.kind == "hikvision":
            from .hikvision import HikvisionSource

            out.append(HikvisionSource(rec, recorder_login(rec, secrets)))
        elif rec.kind == "dahua":
            from .dahua import DahuaSource

            out.append(DahuaSource(rec, recorder_login(rec, secrets)))
        else:
            from .onvif_g import OnvifRecordingSource

            out.append(OnvifRecordingSource(rec, recorder_login(rec, secrets)))
    return out
