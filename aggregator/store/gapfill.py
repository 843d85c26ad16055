"""A silence the centre only supposed: undone when the site's late messages prove it spoke (issue 17).

When a province's link to the national broker is cut, its sites fall silent at the centre and
the silence watch makes their cameras ``unknown`` from ``last_seen + interval``. That interval
is provisional: the bridge queued the sites' messages (``cleansession false``) and delivers them
when the link returns. If the first late message was built (its ``ts``, on the site's clock as
last measured) before the site's heartbeat deadline, the site never was silent: the unknown rows
the watch wrote (and only those) are removed with their exact accounting (the ledger deltas of
:meth:`aggregator.store.ledger.Ledger.forward`, reversed), each camera's state before them comes
back, and the late messages then apply in order as they would have live. So the national
figures equal a run without the cut, each event once (de-duplication by (site, event id)).

While the queue drains, the site's messages are late, not its clock wrong: a message is taken
as late while ``recv - (ts - offset before the cut)`` exceeds the skew tolerance, and late
messages are not clock measurements (otherwise a two-hour queue would flag every site
``clock_skew`` and place its live events at receive time).

A silence that late messages do not disprove (the site really stopped speaking) keeps its
unknown interval. When a provisional silence becomes final: the site's first message built
after the last time the centre heard from it decides, once: built after the deadline, the
silence is final (kept unknown); built before, it is undone. A redelivery of a message the
centre had (built at or before that last time) decides nothing. A site's death or a silence
without a deadline replaces it (final). There is no age limit: a bridge that dropped part of
its queue (Mosquitto's ``max_queued_messages``) delivers first a message built after the
deadline, which makes the silence final, and one kept silence per site is all a dead site costs.

The provisional silences and the draining sites' offsets are kept in the database
(:mod:`aggregator.store.silences`), written in the writer's transaction, and loaded when the
writer's parts are built: after an aggregator restart in the middle of a cut (or a rolled back
batch) the late messages still undo the silence exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlite_utils import Database

from aggregator.days import from_ms
from aggregator.states import STATES, UNKNOWN
from aggregator.store import silences
from aggregator.store.clocks import SiteClocks
from aggregator.store.flush import Flusher, PendingWrites
from aggregator.store.ledger import Ledger
from aggregator.store.memory import REASONS, SiteRecord, StoreMemory
from aggregator.store.records import ApplyResult, Transition
from protocol import CameraState, Reason

__all__ = ["GapFill", "Provisional"]

logger = logging.getLogger("aggregator.store.state")


@dataclass(slots=True)
class Provisional:
    """One site's supposed silence: its deadline, the offset then, and each camera's state before."""

    last_seen_ms: int  # when the centre last heard from it (a message built then or before proves nothing)
    deadline_ms: int  # the site was due to speak by then (last_seen + grace x interval)
    offset_ms: int  # the site's clock offset measured before the silence (0 if none)
    # camera -> (time of the unknown row, tail, state, reason, since) before it
    before: dict[int, tuple[int, int, int, int, int]] = field(default_factory=dict)


class GapFill:
    """Provisional silences and late-delivered sites; the writer's, under its lock."""

    def __init__(self, db: Database, memory: StoreMemory, writes: PendingWrites, ledger: Ledger, flusher: Flusher,
                 clocks: SiteClocks) -> None:  # fmt: skip
        self.db = db
        self.memory = memory
        self.writes = writes
        self.ledger = ledger
        self.flusher = flusher
        self.clocks = clocks
        self.provisional: dict[int, Provisional] = {}
        self.late: dict[int, int] = {}  # site -> its clock offset before the cut, while its queue drains
        for site_row, (last_seen, deadline, offset, drain, before) in silences.load(db).items():
            if drain:
                self.late[site_row] = offset
            else:
                self.provisional[site_row] = Provisional(last_seen, deadline, offset, before)

    def remember(self, site: SiteRecord, deadline_ms: int) -> Provisional:
        """A silence is about to be written for ``site``: keep what it replaces."""
        clock = self.clocks.sites.get(site.id)
        offset = clock.offset_ms if clock is not None and clock.offset_ms is not None else 0
        self.provisional[site.id] = p = Provisional(site.last_seen_ms, deadline_ms, offset)
        return p

    def keep(self, site: SiteRecord) -> None:
        """Write the silence :meth:`remember` began, its cameras' states before it now filled in."""
        p = self.provisional[site.id]
        silences.save(self.db, site.id, p.last_seen_ms, p.deadline_ms, p.offset_ms, p.before)

    def forget(self, site: SiteRecord) -> None:
        """The site's silence is real (a death, a birth of a new session): nothing to undo."""
        if self.provisional.pop(site.id, None) is not None:
            silences.delete(self.db, site.id)

    def is_late(self, site: SiteRecord, sent_ms: int, recv: int) -> bool:
        """Whether a message built at ``sent_ms`` (site clock) and received at ``recv`` is a late delivery.

        Called for every message of a site that was provisionally silent or is draining its queue.
        """
        offset = self.late.get(site.id)
        if offset is None:
            p = self.provisional.get(site.id)
            if p is None:
                return False
            offset = p.offset_ms
        late = recv - (sent_ms - offset) > self.clocks.tolerance_ms
        if not late and site.id in self.late:
            del self.late[site.id]
            if site.id not in self.provisional:
                silences.delete(self.db, site.id)
            logger.info("%s: late messages delivered; live again", site.site_id)
        return late

    def speaks(self, site: SiteRecord, sent_ms: int, recv: int, result: ApplyResult) -> None:
        """The first message from a provisionally silent site: undo the silence if it disproves it."""
        p = self.provisional.get(site.id)
        if p is None:
            return
        edge = min(sent_ms - p.offset_ms, recv)  # when the site built it, on the centre's clock
        if edge <= p.last_seen_ms:
            return  # a redelivery of what the centre had: says nothing about the silence
        del self.provisional[site.id]
        if edge > p.deadline_ms:
            silences.delete(self.db, site.id)
            logger.info("%s: silent until %s (its first message since): the unknown interval stays",
                        site.site_id, from_ms(edge))  # fmt: skip
            return
        undone = [cam for cam, before in p.before.items() if self._undo(site, cam, *before)]
        self.late[site.id] = p.offset_ms
        silences.draining(self.db, site.id)
        site.online = True
        self.writes.dirty_sites.add(site.id)
        # As when a silent site's heartbeat brings it back (store.messages): the site, then each camera, at receipt.
        at = from_ms(recv)
        result.transitions.append(Transition(site.site_id, site.province, site.district, None, CameraState.UNKNOWN,
                                             CameraState.UP, Reason.NONE, at, False))  # fmt: skip
        cols = self.memory.cols
        for cam in undone:
            result.transitions.append(Transition(site.site_id, site.province, site.district, cols.ids[cam],
                                                 CameraState.UNKNOWN, STATES[cols.state[cam]],
                                                 REASONS[cols.reason[cam]], at, False))  # fmt: skip
        logger.warning("%s: late messages from before its deadline (link restored): the supposed silence is "
                       "undone for %d camera(s); its queue fills the gap", site.site_id, len(undone))  # fmt: skip

    def _undo(self, site: SiteRecord, cam: int, t: int, tail: int, state: int, reason: int, since: int) -> bool:
        """Remove the camera's unknown row at ``t`` (its tail) and give back the state before it."""
        cols = self.memory.cols
        if cols.tail[cam] != t or cols.state[cam] != UNKNOWN or state < 0:
            return False  # something was applied after the silence: it stays as applied
        self.flusher.flush_pending()
        row = self.db.execute(
            "SELECT id FROM transitions WHERE camera = ? AND at_ms = ? AND event_id IS NULL AND new_state = ? "
            "ORDER BY id DESC LIMIT 1", [cam, t, UNKNOWN]).fetchone()  # fmt: skip
        if row is None:
            return False
        ledger, prov = self.ledger, site.province
        # Reverse Ledger.forward(tail, t, state -> UNKNOWN) and its midnights.
        ledger.interval(cam, site.id, prov, t, None, UNKNOWN, -1)
        ledger.interval(cam, site.id, prov, tail, t, state, -1)
        ledger.interval(cam, site.id, prov, tail, None, state, +1)
        if t <= ledger.checkpoint:
            ledger.midnights(site.id, prov, t, None, UNKNOWN, state)
        self.db.execute("DELETE FROM transitions WHERE id = ?", [int(row[0])])
        self.memory.recent.remove(int(row[0]), t)
        counts = self.memory.counts.get(site.district)
        if counts is not None:
            counts[UNKNOWN] -= 1
            counts[state] += 1
        cols.tail[cam], cols.state[cam], cols.reason[cam], cols.since[cam] = tail, state, reason, since
        if cam not in self.writes.new_cameras:
            self.writes.dirty.add(cam)
        return True
