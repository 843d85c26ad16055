"""Night vision: is a camera that was fine by day blind at night? (pure, clock passed in)

Many cameras fail only after dark: the IR illuminator is dead (the sensor shows its own
noise at full gain), or the IR-cut filter is stuck (a dark colour picture), or nothing at
all comes out (black). By day the same camera passes every picture check, so the fault
is found only if a check runs in darkness, and only named rightly if the agent knows it
is night. :mod:`agent.sun` tells darkness from the site's coordinates and the date.

Figures measured on the rig (tests/rig/rtsp_server.py, 320x240 x264 200 kbit/s, decoded by
OpenCV; ``python bench/agent_bench.py --picture`` prints them again). ``structure`` is the
grey spread of the 16x12 grid of block means: a scene has shapes, noise averages away.

=============  ==========  =========  ===========  ==========  =========
metric         day scene   night IR   IR dead      black       covered
=============  ==========  =========  ===========  ==========  =========
mean grey      127.8       74.4       56.4-57.3    0.0         51.9
grey std       86.5        31.5-33.0  4.9-18.4     0.0         0.8-3.4
structure      81.2        28.9       1.35-1.60    0.0         0.16-0.23
=============  ==========  =========  ===========  ==========  =========

Defaults from these: at night a camera is ``night_black`` when mean grey
<= 24 and structure <= 6 (video black is 16; a dark street lit by nothing but the camera's
own IR is above 40), ``night_no_ir`` when structure <= 6 otherwise (4x the worst noise
figure, 1.6; 5x below a working IR picture, 28.9). At night a covered lens reads as
``night_no_ir`` too: the technician's visit checks both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np
import numpy.typing as npt

from protocol import Reason

from .config import NightThresholds
from .sun import is_dark, next_darkness

__all__ = ["NightWatch", "night_verdict", "structure"]

Gray = npt.NDArray[np.uint8]
_GRID = (16, 12)
# Picture verdicts a blind night camera produces (noise does not match the day's scene
# reference either); anything else is not a night fault.
_NIGHT_LIKE = frozenset({Reason.NO_VIDEO, Reason.OBSTRUCTED, Reason.BLURRED, Reason.FROZEN,
                         Reason.SCENE_CHANGED})
# A check forced into darkness lands this long after it begins (cameras switch at dusk).
DARK_MARGIN = timedelta(minutes=20)


def structure(gray: Gray) -> float:
    """Grey spread of the 16x12 grid of block means: shapes in the scene, not pixel noise."""
    blocks = cv2.resize(gray.astype(np.float32), _GRID, interpolation=cv2.INTER_AREA)
    return float(blocks.std())


def night_verdict(gray: Gray, thresholds: NightThresholds, *, by_day: str = "fine by day"
                  ) -> tuple[Reason, str] | None:
    """Name a blind night picture (black or noise only), or None when the scene shows."""
    shapes = structure(gray)
    if shapes > thresholds.max_structure:
        return None
    mean = float(gray.mean())
    if mean <= thresholds.black_max_mean:
        return Reason.NIGHT_BLACK, f"picture is black at night (mean grey {mean:.0f}); {by_day}"
    return Reason.NIGHT_NO_IR, (
        f"only noise at night (structure {shapes:.1f}): IR light dead or IR-cut filter stuck; {by_day}")


@dataclass
class NightWatch:
    """Per site: darkness from its coordinates; per camera: whether it was seen fine by day."""

    lat: float | None
    lon: float | None
    thresholds: NightThresholds
    _fine_by_day: set[str] = field(default_factory=set)

    @property
    def enabled(self) -> bool:
        """Night checks need the site's coordinates (``site.lat``/``site.lon`` in agent.yaml)."""
        return self.thresholds.enabled and self.lat is not None and self.lon is not None

    def dark(self, at: datetime) -> bool:
        """Whether it is dark at the site at ``at``."""
        return self.enabled and is_dark(at, self.lat or 0.0, self.lon or 0.0)

    def review(self, camera_id: str, at: datetime, last: Gray, picture: Reason,
               *, seen_fine_before: bool = False) -> tuple[Reason, str] | None:
        """After the picture checks: a night reason replacing ``picture``, or None.

        A fine picture by day marks the camera fine by day; ``seen_fine_before`` (its scene
        reference exists, taken from a good daylight picture) counts too, across agent
        restarts. A camera not yet seen by day keeps a black (``no_video``) or frozen verdict;
        a noise picture (the day checks pass it, or call it covered, blurred or moved: on the
        rig it sits right at the covered threshold) gets the night reason, saying "not yet
        seen by day": the next day tells whether it is night-only.
        """
        if not self.enabled:
            return None
        if not self.dark(at):
            if picture is Reason.NONE:
                self._fine_by_day.add(camera_id)
            return None
        if picture is not Reason.NONE and picture not in _NIGHT_LIKE:
            return None
        known = camera_id in self._fine_by_day or seen_fine_before
        if not known and picture in (Reason.NO_VIDEO, Reason.FROZEN):
            return None
        return night_verdict(last, self.thresholds, by_day="fine by day" if known else "not yet seen by day")

    def delay_s(self, camera_id: str, now: datetime, delay_s: float) -> float:
        """Shorten the wait before a camera's next check so that no night passes unchecked."""
        if not self.enabled or delay_s <= 0 or self.dark(now):
            return delay_s
        due = now + timedelta(seconds=delay_s)
        if self.dark(due):
            return delay_s
        start = next_darkness(now, self.lat or 0.0, self.lon or 0.0, horizon_s=delay_s)
        if start is None:
            return delay_s
        forced = min(start + DARK_MARGIN, due)
        if not self.dark(forced):  # darkness shorter than the margin: land at its start
            forced = start
        return max(0.0, (forced - now).total_seconds())
