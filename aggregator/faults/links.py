"""Province link faults: a provincial broker's bridge to the national broker is down (issue 17).

Mosquitto publishes a retained ``1``/``0`` on ``$SYS/broker/connection/bridge-<PP>/state`` on the
national broker (the ``0`` is the bridge's will); ingest reads it and the fault worker applies it
here. A ``0`` opens ONE ``link`` fault for the province; while it is open the province is held
like under a province fault: its sites' silence opens site faults held under the link fault, and
no camera fault opens there (nobody can tell, the centre only lost its view). Its sites go
``unknown`` on the national picture through the silence watch, never ``down``. A ``1`` resolves
the fault; the bridge's queue and the agents' replays then bring the province back.

A mixin of :class:`~aggregator.faults.rules.FaultEngine` (kept out of rules.py: one concern).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aggregator.faults.book import FaultBook
from aggregator.faults.model import Fault, FaultChange, FaultKind, Resolution
from protocol import CameraState, Reason

__all__ = ["LinkFaults", "link_key"]

logger = logging.getLogger(__name__)


def link_key(province: str) -> tuple[str, str]:
    """The book key of a province's link fault."""
    return ("link", province)


class LinkFaults(FaultBook):
    """Open and close province link faults; answer whether a province's link is down."""

    def link_fault(self, province: str) -> Fault | None:
        """The province's active link fault, if its link is down."""
        return self._active.get(link_key(province))

    def link_changed(self, province: str, up: bool, at: datetime) -> list[FaultChange]:
        """Apply one link state (``up`` False: the bridge said ``0``); repeats change nothing."""
        out: list[FaultChange] = []
        fault = self.link_fault(province)
        if up:
            if fault is not None:
                logger.info("province %s: link back up, fault %d resolved", province, fault.id)
                self._resolve(fault, at, True, out, Resolution.AUTO, by="")
            return out
        if fault is None:
            opened = self._open(
                link_key(province), kind=FaultKind.LINK, province=province, district=None, site=None,
                camera_id=None, state=CameraState.UNKNOWN, reason=Reason.SITE_OFFLINE, at=at, live=True, out=out,
            )  # fmt: skip
            logger.warning("province %s: link to the national broker down, fault %d opened", province, opened.id)
        return out
