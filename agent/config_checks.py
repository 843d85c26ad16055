"""The ``checks:`` and ``health:`` sections of the agent YAML: how hard each camera is judged.

Kept apart from agent/config.py because these are the thresholds a new camera check adds to
(docs/architecture.md, "A camera check"); the defaults are justified in the modules named on
each model.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from .config_base import ConfigModel

__all__ = ["ChecksConfig", "DriftThresholds", "HealthConfig", "NightThresholds", "PictureThresholds"]


class PictureThresholds(ConfigModel):
    """Picture-check thresholds; the defaults are justified in agent/picture.py."""

    black_max_mean: float = Field(default=16.0, ge=0, le=255, description="Mean grey at or below = no video")
    black_max_std: float = Field(default=6.0, ge=0, le=128, description="...and grey spread at or below")
    frozen_max_block_diff: float = Field(
        default=3.0, ge=0, le=255, description="Largest block mean difference still counted as codec noise"
    )
    blur_min_sharpness: float = Field(default=0.05, ge=0, le=10, description="Normalised Laplacian variance below = blurred")
    covered_max_std: float = Field(default=8.0, ge=0, le=128, description="Grey spread below = covered")
    covered_max_edge_density: float = Field(default=0.01, ge=0, le=1, description="...with an edge pixel fraction below")
    covered_min_uniform_fraction: float = Field(
        default=0.75, ge=0, le=1, description="Share of the picture in one flat patch at or above = covered"
    )
    scene_min_similarity: float = Field(default=0.7, ge=-1, le=1, description="Edge correlation with reference below = moved")
    min_fps: float = Field(default=2.0, ge=0, le=240, description="Measured frame rate below = low_fps")


class NightThresholds(ConfigModel):
    """Night-vision checks; the defaults are justified in agent/night.py."""

    enabled: bool = Field(default=True, description="Judge night pictures (needs site.lat and site.lon)")
    black_max_mean: float = Field(default=24.0, ge=0, le=255, description="Night picture mean grey at or below = night_black")
    max_structure: float = Field(
        default=6.0, ge=0, le=128, description="Spread of block means at or below = no scene (night_black / night_no_ir)")


class DriftThresholds(ConfigModel):
    """Stream drift against the ONVIF profile; the defaults are justified in agent/drift.py."""

    enabled: bool = Field(default=True, description="Compare the stream with its ONVIF profile")
    window: int = Field(default=3, ge=1, le=100, description="Checks averaged before drift is judged")
    min_fps_ratio: float = Field(default=0.7, ge=0, le=1, description="Mean measured/configured frame rate below = low_fps")
    min_bitrate_ratio: float = Field(
        default=0.3, ge=0, le=1, description="Mean measured/configured bit rate below = low_bitrate")
    bitrate_every: int = Field(default=5, ge=1, le=1000, description="Measure the bit rate every Nth check")
    bitrate_packets: int = Field(default=10, ge=2, le=500, description="Packets read per bit-rate sample")


class ChecksConfig(ConfigModel):
    """How often and how hard each camera is checked."""

    interval_s: float = Field(default=60.0, ge=1, le=3600, description="Check every camera this often")
    jitter_s: float = Field(default=5.0, ge=0, le=600, description="Random start offset per camera per cycle")
    concurrency: int = Field(default=8, ge=1, le=256, description="Cameras checked at the same time")
    tcp_timeout_s: float = Field(default=3.0, gt=0, le=60, description="TCP connect to the camera")
    onvif_timeout_s: float = Field(default=5.0, gt=0, le=120, description="ONVIF liveness call")
    rtsp_open_timeout_s: float = Field(default=8.0, gt=0, le=120, description="RTSP open until the stream is set up")
    rtsp_read_timeout_s: float = Field(default=4.0, gt=0, le=120, description="Wait for each frame")
    snapshot_timeout_s: float = Field(default=5.0, gt=0, le=120, description="HTTP snapshot download")
    burst_frames: int = Field(default=5, ge=2, le=100, description="Frames read per check (fps, frozen)")
    max_clock_skew_s: float = Field(default=300.0, ge=1, le=86400 * 365, description="Camera clock off by more = clock_skew")
    picture: PictureThresholds = Field(default_factory=PictureThresholds)
    night: NightThresholds = Field(default_factory=NightThresholds)
    drift: DriftThresholds = Field(default_factory=DriftThresholds)

    @model_validator(mode="after")
    def _jitter_below_interval(self) -> ChecksConfig:
        if self.jitter_s >= self.interval_s:
            raise ValueError(f"jitter_s ({self.jitter_s}) must be below interval_s ({self.interval_s})")
        return self


class HealthConfig(ConfigModel):
    """Hysteresis: how many consecutive checks confirm a new state."""

    confirm_down: int = Field(default=2, ge=1, le=100, description="Checks confirming down")
    confirm_degraded: int = Field(default=2, ge=1, le=100, description="Checks confirming degraded")
    confirm_up: int = Field(default=2, ge=1, le=100, description="Checks confirming recovery")
