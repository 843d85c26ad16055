"""Recording health (issue 16): is each camera's footage being recorded and kept?

One interface, :class:`~agent.recording.base.RecordingSource`, with one module per backend
(``directory``, ``onvif_g``, ``hikvision``, ``dahua``); :mod:`.assess` turns what a source
read into a reason, and :mod:`.monitor` reads every configured recorder on its own slower
cadence. This package imports ``agent.config`` only from ``monitor`` and ``sources`` (the
config imports :mod:`.settings`), so importing the package itself stays cycle-free.
"""

from __future__ import annotations

from .base import ChannelRecording, RecorderReading, RecordingError, RecordingSource, StorageReading

__all__ = ["ChannelRecording", "RecorderReading", "RecordingError", "RecordingSource", "StorageReading"]
