"""Picture checks: pure functions on greyscale frames (black, frozen, covered, blurred, moved).

Every function takes small greyscale ``uint8`` images (see ``agent.frames.ANALYSIS_WIDTH``)
and returns numbers or a verdict; nothing here touches the network or the clock, so each
check is unit-tested on generated frames.

The default thresholds (``agent.config.PictureThresholds``) come from the figures measured
on the test rig (tests/rig/rtsp.py: x264 zerolatency, 320x240, 10 fps, 200 kbit/s, IDR every
5 frames), decoded by OpenCV/FFmpeg; ``bench/agent_bench.py --picture`` prints them again:

================  ======  =====  ======  =======  =======  =====
metric            moving  black  frozen  covered  blurred  moved
================  ======  =====  ======  =======  =======  =====
mean grey         128.0   0.0    127.9   51.9     127.6    97.8
grey std          86.0    0.0    86.6    1.6-2.6  72.3     64.4
block diff        88-144  0.0    0-1.86  4.0-4.7  15-82    88-174
sharpness         4.4     0.0    5.0     73       0.0076   8.9
edge density      0.048   0.0    0.050   0.0      0.0      0.053
uniform fraction  0.19    1.0    0.19    1.0      0.11     0.23
scene similarity  0.95    0.0    0.985   ~0.0     0.665    0.484
================  ======  =====  ======  =======  =======  =====

Defaults chosen from these: black mean <= 16 and std <= 6 (16 is video black level);
frozen block diff <= 3.0 (1.6x the worst frozen figure, 1.86, and below the 4.0 of a
still but live sensor, the covered mount); covered std <= 8 (live scenes >= 64) or one
flat patch >= 75% of the picture with edge density <= 0.01 (live 0.19-0.23 and 0.05);
sharpness < 0.05 = blurred (6.5x the blurred figure, 90x below the sharp scene); scene
similarity < 0.7 = moved (live 0.95, panned 0.48); fps < 2 = low_fps (the rig measures 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from protocol import Reason

from .config import PictureThresholds

__all__ = [
    "PictureMetrics",
    "assess",
    "block_diff",
    "edge_density",
    "measure",
    "reference_image",
    "scene_similarity",
    "sharpness",
    "uniform_fraction",
]

Gray = npt.NDArray[np.uint8]

# Frames are compared on a 16x12 grid of block means: one moving car (a few % of the
# picture) lifts its block far above codec noise, while averaging a block smooths the
# +-10 grey-level single-pixel noise of a frozen H.264 stream (measured on the rig:
# per-pixel max diff 11, block max 1.3).
_GRID = (16, 12)
# Scene references are stored at this size: small enough to keep for thousands of cameras,
# large enough to see a camera turned by a tenth of its field.
REFERENCE_SIZE = (80, 60)
# Canny thresholds on 8-bit grey: above sensor noise (std ~3-4 on a covered lens gives no
# edge), below the contrast of real outlines.
_CANNY_LOW, _CANNY_HIGH = 50, 150


@dataclass(frozen=True, slots=True)
class PictureMetrics:
    """Measured figures of one burst (plus the previous check's frame when known)."""

    mean: float
    std: float
    block_diff: float | None  # largest block mean difference across compared frames
    sharpness: float
    edge_density: float
    uniform_fraction: float
    scene_similarity: float | None

    def as_details(self) -> dict[str, float | None]:
        """Rounded figures for an event's details."""
        return {
            "mean": round(self.mean, 1),
            "std": round(self.std, 1),
            "block_diff": None if self.block_diff is None else round(self.block_diff, 2),
            "sharpness": round(self.sharpness, 4),
            "edges": round(self.edge_density, 4),
            "uniform": round(self.uniform_fraction, 3),
            "scene": None if self.scene_similarity is None else round(self.scene_similarity, 3),
        }


def _same_size(a: Gray, b: Gray) -> tuple[Gray, Gray]:
    if a.shape != b.shape:
        b = np.asarray(cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return a, b


def block_diff(a: Gray, b: Gray) -> float:
    """Largest mean absolute difference of any grid block between two frames."""
    a, b = _same_size(a, b)
    diff = cv2.absdiff(a, b)
    blocks = cv2.resize(diff.astype(np.float32), _GRID, interpolation=cv2.INTER_AREA)
    return float(blocks.max())


def sharpness(gray: Gray) -> float:
    """Variance of the Laplacian divided by the grey variance (contrast-independent)."""
    var = float(gray.var())
    if var < 1e-6:
        return 0.0
    lap = cv2.Laplacian(gray, cv2.CV_32F, ksize=3)
    return float(lap.var()) / var


def edge_density(gray: Gray) -> float:
    """Fraction of pixels on a Canny edge."""
    edges = cv2.Canny(gray, _CANNY_LOW, _CANNY_HIGH)
    return float(np.count_nonzero(edges)) / edges.size


def uniform_fraction(gray: Gray, max_std: float) -> float:
    """Share of the picture that is one flat patch of similar grey (a hand, a bag, a wall)."""
    h, w = gray.shape
    gw, gh = _GRID
    bh, bw = h // gh, w // gw
    if bh == 0 or bw == 0:
        return 0.0
    tiles = gray[: bh * gh, : bw * gw].reshape(gh, bh, gw, bw).swapaxes(1, 2).reshape(gh * gw, bh * bw)
    stds = tiles.std(axis=1)
    means = tiles.mean(axis=1)
    flat = means[stds <= max_std]
    if flat.size == 0:
        return 0.0
    # The largest group of flat blocks within 16 grey levels of each other.
    counts = np.bincount((flat // 16).astype(np.int64), minlength=17)
    best = int(max(counts[i] + counts[i + 1] for i in range(16)))
    return best / (gh * gw)


def reference_image(gray: Gray) -> Gray:
    """Reduce a frame to the small image stored as a camera's scene reference."""
    return np.ascontiguousarray(cv2.resize(gray, REFERENCE_SIZE, interpolation=cv2.INTER_AREA))


def _gradient(gray: Gray) -> npt.NDArray[np.float32]:
    small = cv2.GaussianBlur(reference_image(gray).astype(np.float32), (3, 3), 0)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1)
    return np.asarray(cv2.magnitude(gx, gy), dtype=np.float32)


def scene_similarity(gray: Gray, reference: Gray) -> float:
    """Correlation (-1..1) of edge maps: survives light changes, falls when the camera turns."""
    a, b = _gradient(gray), _gradient(reference)
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denom < 1e-6:
        return 0.0
    return float((a * b).sum()) / denom


def measure(
    frames: Sequence[Gray],
    *,
    previous: Gray | None = None,
    reference: Gray | None = None,
    thresholds: PictureThresholds | None = None,
) -> PictureMetrics:
    """Compute every figure for a burst (first and last frame, previous check, reference)."""
    if not frames:
        raise ValueError("measure needs at least one frame")
    t = thresholds or PictureThresholds()
    last = frames[-1]
    diffs = [block_diff(frames[0], last)] if len(frames) > 1 else []
    if previous is not None:
        diffs.append(block_diff(previous, frames[0]))
    return PictureMetrics(
        mean=float(last.mean()),
        std=float(last.std()),
        block_diff=max(diffs) if diffs else None,
        sharpness=sharpness(last),
        edge_density=edge_density(last),
        uniform_fraction=uniform_fraction(last, t.covered_max_std),
        scene_similarity=None if reference is None else scene_similarity(last, reference),
    )


def assess(
    metrics: PictureMetrics, fps: float | None, thresholds: PictureThresholds
) -> tuple[Reason, str]:
    """Return the most important picture fault (or Reason.NONE) and a sentence for humans.

    Order matters: a black picture is also "frozen" and "covered"; a frozen one would also
    look sharp. The first match names the fault the technician should look at first.
    """
    t = thresholds
    if metrics.mean <= t.black_max_mean and metrics.std <= t.black_max_std:
        return Reason.NO_VIDEO, f"picture is black (mean grey {metrics.mean:.0f})"
    if metrics.block_diff is not None and metrics.block_diff <= t.frozen_max_block_diff:
        return Reason.FROZEN, f"picture is frozen (largest change {metrics.block_diff:.1f} grey levels)"
    if metrics.std <= t.covered_max_std or (
        metrics.uniform_fraction >= t.covered_min_uniform_fraction
        and metrics.edge_density <= t.covered_max_edge_density
    ):
        return Reason.OBSTRUCTED, (
            f"lens covered or obstructed ({metrics.uniform_fraction:.0%} of the picture is one flat patch)"
        )
    if metrics.sharpness < t.blur_min_sharpness:
        return Reason.BLURRED, f"picture is blurred or out of focus (sharpness {metrics.sharpness:.4f})"
    if metrics.scene_similarity is not None and metrics.scene_similarity < t.scene_min_similarity:
        return Reason.SCENE_CHANGED, (
            f"scene differs from the reference (similarity {metrics.scene_similarity:.2f}): camera moved?"
        )
    if fps is not None and fps < t.min_fps:
        return Reason.LOW_FPS, f"frame rate {fps:.1f} fps is below {t.min_fps:g}"
    return Reason.NONE, "picture ok"
