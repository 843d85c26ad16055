"""Sites enrolled and never heard from: after ``notify.never_online_after_s`` each opens a site fault.

``enrol-site`` registers a site before its agent is installed; a site whose agent never
connects would otherwise be invisible (it has no cameras, so no camera fault, and it was never
online, so no site fault). The watch runs on the fault worker's tick, at most every
:data:`CHECK_EVERY_S`: it reads the sites still never connected (``first_seen_ms IS NULL``)
enrolled longer ago than the setting, and opens ONE site fault, reason ``never_connected``, for
each that never had one (an open one, or one a technician closed as won't-fix, is not opened
again). The site's first message resolves it as any site fault's return does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from aggregator.days import to_ms
from aggregator.faults.model import FaultChange, FaultKind
from aggregator.faults.rules import FaultEngine
from protocol import Reason

__all__ = ["CHECK_EVERY_S", "NeverOnlineWatch", "PendingSite"]

logger = logging.getLogger(__name__)

# A day-scale rule needs no second-scale checks; once a minute bounds the query's cost.
CHECK_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class PendingSite:
    """A site enrolled before the deadline that has never sent a message."""

    site_id: str
    province: str
    district: str
    enrolled_ms: int


class NeverOnlineWatch:
    """Open "site never came online" faults; ``after_s`` 0 turns the watch off."""

    def __init__(self, db: Database, after_s: float) -> None:
        self.db = db
        self.after_s = after_s
        self._last: datetime | None = None

    def due(self, now: datetime) -> list[PendingSite]:
        """Sites enrolled at least ``after_s`` before ``now``, never connected, never given this fault."""
        rows = self.db.execute(
            "SELECT s.site_id, s.province, s.district, s.enrolled_ms FROM sites s "
            "WHERE s.first_seen_ms IS NULL AND s.enrolled_ms <= ? AND NOT EXISTS ("
            " SELECT 1 FROM faults f WHERE f.kind = ? AND f.site = s.site_id AND f.reason = ?) "
            "ORDER BY s.enrolled_ms, s.site_id",
            [to_ms(now) - int(self.after_s * 1000), FaultKind.SITE.value, Reason.NEVER_CONNECTED.value],
        ).fetchall()
        return [PendingSite(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def tick(self, engine: FaultEngine, now: datetime) -> list[FaultChange]:
        """Open the due faults (at most once every :data:`CHECK_EVERY_S` of ``now``)."""
        if self.after_s <= 0 or (self._last is not None and 0 <= (now - self._last).total_seconds() < CHECK_EVERY_S):
            return []
        self._last = now
        out: list[FaultChange] = []
        for site in self.due(now):
            logger.info("%s: enrolled %d s ago and never connected; opening its fault",
                        site.site_id, (to_ms(now) - site.enrolled_ms) // 1000)  # fmt: skip
            out += engine.site_never_online(site.site_id, site.province, site.district, now)
        return out
