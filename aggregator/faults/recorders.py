"""Recorder faults (issue 16): a recorder that stops recording every channel at once is ONE fault.

When every camera a site's recorder records turns ``not_recording`` within the area window
(``rules.area_window_s``), as a site's cameras do when its agent dies, the engine opens one
``recorder`` fault for the site (reason ``not_recording``, ``affected`` the recorder's camera
count) and holds the cameras' own faults under it, so a dead NVR pages once, not 16 times.
The fault resolves when none of those cameras is still not recording; the cameras still
failing then get their own faults back (released children). One recorder fault per site: a
site with two recorders that both stop is still one visit. Which recorder records a camera
comes from the heartbeats' recording figures (``recorder_of``, read by the fault service).

A mixin of :class:`~aggregator.faults.rules.FaultEngine` (kept out of rules.py: one concern).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from aggregator.faults.links import LinkFaults
from aggregator.faults.model import FaultAction, FaultChange, FaultKind, Resolution, TransitionLike
from protocol import CameraState, Reason

__all__ = ["RecorderFaults", "RecorderOf", "recorder_key"]

logger = logging.getLogger(__name__)

# (site, camera id) -> (recorder id, every camera id that recorder records), or None
RecorderOf = Callable[[str, str], tuple[str, Sequence[str]] | None]
# camera id -> since when it is not recording (None: it is not)
StoppedSince = Callable[[str], datetime | None]


def recorder_key(site: str) -> tuple[str, str]:
    """The book key of a site's recorder fault."""
    return ("recorder", site)


class RecorderFaults(LinkFaults):
    """Open, hold under, and close recorder faults."""

    recorder_of: RecorderOf | None = None
    _recorder_members: dict[tuple[str, str], set[str]]

    def _recorder_step(self, t: TransitionLike, cam: str, stopped_since: StoppedSince, out: list[FaultChange]) -> None:
        """After a camera transition: group a recorder's full stop, or end the group's fault."""
        if not hasattr(self, "_recorder_members"):
            self._recorder_members = {}
        key = recorder_key(t.site)
        fault = self._active.get(key)
        live = not t.historical
        if t.reason is Reason.NOT_RECORDING and t.new_state in (CameraState.DEGRADED, CameraState.DOWN):
            found = self.recorder_of(t.site, cam) if self.recorder_of is not None else None
            if found is None:
                return
            recorder, members = found
            if fault is None:
                window = timedelta(seconds=self.rules.area_window_s)
                since = [s for m in members if (s := stopped_since(m)) is not None and t.at - s <= window]
                if len(members) < 2 or len(since) < len(members):
                    return
                fault = self._open(
                    key, kind=FaultKind.RECORDER, province=t.province, district=t.district, site=t.site,
                    camera_id=None, state=CameraState.DEGRADED, reason=Reason.NOT_RECORDING, at=min(since),
                    live=live, out=out, affected=len(members),
                )  # fmt: skip
                logger.warning("%s: recorder %s stopped recording all %d cameras: fault %d", t.site, recorder,
                               len(members), fault.id)  # fmt: skip
            held = self._recorder_members.setdefault(key, set())
            held.update(members)
            for member in sorted(held):
                child = self._active.get(("camera", member))
                if child is not None and child.parent_id is None:
                    self._change(child, FaultAction.HELD, t.at, live, out, parent_id=fault.id, detail=str(fault.id))
                    self._children[fault.id].add(child.key)
            return
        if fault is None:
            return
        known = self._recorder_members.get(key)
        if known is None and self.recorder_of is not None:  # after a restart: ask which cameras again
            found = self.recorder_of(t.site, cam)
            known = self._recorder_members[key] = set(found[1]) if found is not None else set()
        if known is None or cam not in known:
            return
        group = known
        if all(stopped_since(m) is None for m in group):
            del self._recorder_members[key]
            self._resolve(fault, t.at, live, out, Resolution.AUTO, by="")
