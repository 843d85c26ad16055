"""Stream drift: is the camera sending what its ONVIF profile says it is configured to send?

A camera whose encoder was reset, whose uplink is saturated or whose firmware fell back to
a safe mode keeps a working picture but sends fewer frames, fewer bits or another
resolution than configured; recordings then miss evidence (a plate at 5 fps instead of 25
is often not in any frame). The configured figures come from the media profile the agent
reads over ONVIF (``RateControl.FrameRateLimit``, ``BitrateLimit``, ``Resolution``); the
measured ones from each check's burst (frame rate from stream timestamps, size of the
decoded frames) and, every ``bitrate_every`` checks, from the compressed packets that
follow the burst (:func:`agent.frames.grab_blocking` ``sample_packets``).

One blip must not alarm: the figures of the last ``window`` checks are averaged (the
resolution must differ in all of them) and the health tracker then confirms the reason
like any other. Defaults (``checks.drift``): frame rate below 70 % of the configured one
(the rig's steady 10 fps measures 10.0 every check; half the rate is 50 %), bit rate below
30 % (variable bit-rate encoders legitimately send far less than their limit on a still
scene: the rig's x264 at a 200 kbit/s target measured 187-227 kbit/s on its moving scene
and a still street at night may drop to half; 30 % leaves room for that).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from protocol import Reason

from .config import DriftThresholds

__all__ = ["DriftSample", "DriftWatch", "Profile"]


@dataclass(frozen=True, slots=True)
class Profile:
    """What the camera's ONVIF media profile says it sends (None = not stated)."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: int | None = None


@dataclass(frozen=True, slots=True)
class DriftSample:
    """What one check measured."""

    width: int
    height: int
    fps: float | None
    kbps: float | None = None


@dataclass
class DriftWatch:
    """Keeps the last ``window`` samples per camera and judges them against the profile."""

    thresholds: DriftThresholds
    _samples: dict[str, deque[DriftSample]] = field(default_factory=dict)
    _rates: dict[str, deque[float]] = field(default_factory=dict)

    def observe(self, camera_id: str, sample: DriftSample, profile: Profile | None) -> tuple[Reason, str] | None:
        """Record ``sample``; return a drift reason once the whole window shows it, else None."""
        t = self.thresholds
        if not t.enabled:
            return None
        window = self._samples.setdefault(camera_id, deque(maxlen=t.window))
        window.append(sample)
        if sample.kbps is not None:
            self._rates.setdefault(camera_id, deque(maxlen=t.window)).append(sample.kbps)
        if profile is None or len(window) < t.window:
            return None
        if profile.width and profile.height and all(
                (s.width, s.height) != (profile.width, profile.height) for s in window):
            return Reason.RESOLUTION_CHANGED, (
                f"stream is {sample.width}x{sample.height}, its profile says {profile.width}x{profile.height}")
        rates = [s.fps for s in window if s.fps is not None]
        if profile.fps and len(rates) == len(window):
            mean = sum(rates) / len(rates)
            if mean < t.min_fps_ratio * profile.fps:
                return Reason.LOW_FPS, (
                    f"frame rate {mean:.1f} fps over {len(rates)} checks, configured {profile.fps:g} fps")
        kbps = self._rates.get(camera_id)
        if profile.bitrate_kbps and kbps is not None and len(kbps) == t.window:
            mean = sum(kbps) / len(kbps)
            if mean < t.min_bitrate_ratio * profile.bitrate_kbps:
                return Reason.LOW_BITRATE, (
                    f"bit rate {mean:.0f} kbit/s over {len(kbps)} samples, configured {profile.bitrate_kbps} kbit/s")
        return None

    def forget(self, camera_id: str) -> None:
        """Drop a camera's samples (its profile changed or it was removed)."""
        self._samples.pop(camera_id, None)
        self._rates.pop(camera_id, None)
