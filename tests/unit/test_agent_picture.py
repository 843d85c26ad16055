"""Picture checks on generated frames (issue 3: black, frozen, blurred, covered, moved, fps)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from agent.config import PictureThresholds
from agent.picture import (
    assess,
    block_diff,
    measure,
    reference_image,
    scene_similarity,
    sharpness,
    uniform_fraction,
)
from protocol import Reason

Gray = npt.NDArray[np.uint8]
T = PictureThresholds()


def scene(seed: int = 1, w: int = 320, h: int = 240) -> Gray:
    """A street-like picture: flat regions, rectangles and outlines of many greys."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 90, np.uint8)
    for _ in range(40):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        cw, ch = int(rng.integers(10, 80)), int(rng.integers(10, 60))
        cv2.rectangle(img, (x, y), (x + cw, y + ch), int(rng.integers(0, 255)), -1)
    noise = rng.normal(0, 2, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def with_car(img: Gray, x: int) -> Gray:
    out = img.copy()
    cv2.circle(out, (x, 150), 18, 250, -1)
    return out


def encoded(frames: list[Gray], tmp_path: Path) -> list[Gray]:
    """Round-trip frames through a real video codec (MPEG-4, OpenCV's FFmpeg writer).

    A frozen encoder re-encodes the same picture: intra and predicted frames then differ
    by a few grey levels per pixel (up to 16 here), as the rig's frozen H.264 mount does.
    """
    path = str(tmp_path / "clip.mp4")
    h, w = frames[0].shape
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    cap = cv2.VideoCapture(path)
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    cap.release()
    assert len(out) == len(frames)
    return out


def verdict(frames: list[Gray], fps: float | None = 10.0, **kw: Gray | None) -> Reason:
    return assess(measure(frames, thresholds=T, **kw), fps, T)[0]


def test_live_scene_is_ok() -> None:
    base = scene()
    frames = [with_car(base, 40), with_car(base, 120), with_car(base, 200)]
    assert verdict(frames, reference=reference_image(with_car(base, 260))) is Reason.NONE


def test_black_is_no_video() -> None:
    black = np.zeros((240, 320), np.uint8)
    assert verdict([black, black]) is Reason.NO_VIDEO
    # video "black" level 16 with a little noise is still black
    dark = np.clip(np.random.default_rng(2).normal(14, 2, (240, 320)), 0, 255).astype(np.uint8)
    assert verdict([dark, dark]) is Reason.NO_VIDEO


def test_frozen_despite_codec_noise(tmp_path: Path) -> None:
    frames = encoded([with_car(scene(), 100)] * 6, tmp_path)
    a, b = frames[0], frames[-1]
    assert np.abs(a.astype(int) - b.astype(int)).max() > 3, "the fixture must carry codec noise"
    assert block_diff(a, b) <= T.frozen_max_block_diff
    assert verdict(frames) is Reason.FROZEN


def test_moving_scene_through_the_same_codec_is_not_frozen(tmp_path: Path) -> None:
    base = scene()
    frames = encoded([with_car(base, x) for x in range(40, 160, 20)], tmp_path)
    assert verdict(frames) is Reason.NONE


def test_frozen_against_previous_check_only_when_burst_also_still(tmp_path: Path) -> None:
    base = scene()
    moving = [with_car(base, 40), with_car(base, 120)]
    assert verdict(moving, previous=moving[0]) is Reason.NONE
    still = encoded([with_car(base, 40)] * 4, tmp_path)
    assert verdict(still[2:], previous=still[0]) is Reason.FROZEN


def test_small_moving_object_is_not_frozen() -> None:
    base = scene()
    # a 10-pixel object moving 12 pixels: under 0.2 % of the picture
    a, b = base.copy(), base.copy()
    cv2.circle(a, (100, 100), 5, 255, -1)
    cv2.circle(b, (112, 100), 5, 255, -1)
    assert block_diff(a, b) > T.frozen_max_block_diff


def test_live_sensor_noise_on_still_scene_is_not_frozen() -> None:
    # A live camera on an empty street at night: nothing moves, but the sensor's noise
    # (std 4 grey levels, the rig's covered mount measures 1.6-2.6 after H.264) keeps it live.
    rng = np.random.default_rng(3)
    base = scene().astype(np.float64)
    a = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    b = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    assert block_diff(a, b) > T.frozen_max_block_diff
    assert verdict([a, b]) is Reason.NONE


def test_blurred_scene() -> None:
    base = with_car(scene(), 100)
    blurred = cv2.GaussianBlur(base, (0, 0), 12)
    assert sharpness(blurred) < T.blur_min_sharpness < sharpness(base)
    assert verdict([blurred, cv2.GaussianBlur(with_car(scene(), 140), (0, 0), 12)]) is Reason.BLURRED


def test_covered_lens_uniform_with_noise() -> None:
    rng = np.random.default_rng(4)
    covered = [np.clip(rng.normal(52, 3, (240, 320)), 0, 255).astype(np.uint8) for _ in range(2)]
    assert verdict(covered) is Reason.OBSTRUCTED


def test_mostly_covered_by_a_flat_patch() -> None:
    base = scene()
    frames = []
    for y in (60, 140):
        img = base.copy()
        cv2.circle(img, (20, y), 12, 250, -1)  # a car still passing at the left edge
        img[:, 40:] = 200  # a sheet over 7/8 of the lens
        frames.append(img)
    assert uniform_fraction(frames[0], T.covered_max_std) >= T.covered_min_uniform_fraction
    assert verdict(frames) is Reason.OBSTRUCTED


def test_scene_changed_against_reference_but_not_for_light() -> None:
    base = scene(5)
    ref = reference_image(base)
    turned = np.roll(base, 80, axis=1)
    assert scene_similarity(turned, ref) < T.scene_min_similarity
    assert verdict([with_car(turned, 60), with_car(turned, 140)], reference=ref) is Reason.SCENE_CHANGED
    darker = (base.astype(np.float32) * 0.6).astype(np.uint8)
    assert scene_similarity(darker, ref) > 0.9
    other = scene(6)
    assert scene_similarity(other, ref) < T.scene_min_similarity


def test_low_fps() -> None:
    base = scene()
    frames = [with_car(base, 40), with_car(base, 120)]
    assert verdict(frames, fps=1.0) is Reason.LOW_FPS
    assert verdict(frames, fps=None) is Reason.NONE


def test_thresholds_are_configurable(tmp_path: Path) -> None:
    frames = encoded([with_car(scene(), 100)] * 4, tmp_path)
    strict = PictureThresholds(frozen_max_block_diff=0.0)
    assert assess(measure(frames, thresholds=strict), 10, strict)[0] is not Reason.FROZEN


def test_different_sizes_are_compared() -> None:
    a = scene()
    moved = np.roll(a, 60, axis=1)
    b = cv2.resize(a, (160, 120), interpolation=cv2.INTER_AREA)
    assert block_diff(a, b) < block_diff(a, moved) / 3


def test_measure_needs_frames() -> None:
    with pytest.raises(ValueError):
        measure([])
