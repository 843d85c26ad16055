"""Broker faults: a national broker the aggregator uses is unreachable (issue 17).

Ingest's broker watch (:mod:`aggregator.ingest.brokers`) says when one of the configured brokers
(``ingest.url`` or one of ``ingest.fallback_urls``) goes down or comes back, after its own
hysteresis; the fault worker applies it here. Down opens ONE ``broker`` fault for that broker,
up resolves it. A broker is no province's: the fault's province is the national scope marker
:data:`~aggregator.faults.model.NATIONAL` (``"00"``, no DOPA code), so only national callers see
it and a province-scoped caller gets the usual 404. Nothing is held under it: the sites keep
reporting through the other broker, and if they cannot, their own site faults say so.

A mixin of :class:`~aggregator.faults.rules.FaultEngine` (kept out of rules.py: one concern).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aggregator.faults.book import FaultBook
from aggregator.faults.model import NATIONAL, Fault, FaultChange, FaultKind, Resolution
from protocol import CameraState, Reason

__all__ = ["BrokerFaults", "broker_key"]

logger = logging.getLogger(__name__)


def broker_key(broker: str) -> tuple[str, str]:
    """The book key of a broker's fault (``broker`` is "host:port")."""
    return ("broker", broker)


class BrokerFaults(FaultBook):
    """Open and close broker faults; answer whether a broker is still down."""

    def broker_fault(self, broker: str) -> Fault | None:
        """The broker's active fault, if it is down."""
        return self._active.get(broker_key(broker))

    def broker_changed(self, broker: str, up: bool, at: datetime) -> list[FaultChange]:
        """Apply one broker state; repeats change nothing (the watch only reports changes anyway)."""
        out: list[FaultChange] = []
        fault = self.broker_fault(broker)
        if up:
            if fault is not None:
                logger.info("broker %s: reachable again, fault %d resolved", broker, fault.id)
                self._resolve(fault, at, True, out, Resolution.AUTO, by="")
            return out
        if fault is None:
            opened = self._open(
                broker_key(broker), kind=FaultKind.BROKER, province=NATIONAL, district=None, site=None,
                camera_id=None, state=CameraState.DOWN, reason=Reason.UNREACHABLE, at=at, live=True, out=out,
                broker=broker,
            )  # fmt: skip
            logger.warning("broker %s: unreachable, fault %d opened", broker, opened.id)
        return out

    def broker_still_down(self, fault: Fault) -> str:
        """Why a broker fault may not be resolved by hand yet ("" once its broker is back)."""
        if fault.kind is FaultKind.BROKER and broker_key(fault.broker or "") in self._active:
            return f"broker {fault.broker} is still unreachable"
        return ""
