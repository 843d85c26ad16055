"""The rules of each site message (birth, events, heartbeat, death) and of a site falling silent.

Each rule updates the writer's memory and the batch's pending writes and hands every camera
change to :meth:`aggregator.store.timeline.Timeline.change`. De-duplication by (site, event id):
ids above the site's high-water mark are new; lower ids are looked up in ``transitions``. The
mark never goes down (whatever births say), and a birth older than the site's last applied one
of the same session is ignored, so redeliveries after a broker restart are never stored twice.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database

from aggregator.days import day_of, day_to_date, from_ms, to_ms
from aggregator.geography import Geography, UnknownArea
from aggregator.states import STATE_CODE, UNKNOWN
from aggregator.store import camera_log, registry
from aggregator.store.clocks import SiteClocks
from aggregator.store.compacted import interval_pieces, is_compacted, until_ms
from aggregator.store.flush import Flusher, PendingWrites
from aggregator.store.gapfill import GapFill
from aggregator.store.memory import REASON_CODE, SiteRecord, StoreMemory
from aggregator.store.recording import SiteRecordings
from aggregator.store.records import ApplyResult, Inbound, Transition
from aggregator.store.timeline import Timeline
from protocol import (
    Birth,
    CameraState,
    Death,
    Events,
    Heartbeat,
    Reason,
    SiteTopic,
)
from protocol.sequence import death_matches

__all__ = ["SiteMessages"]

logger = logging.getLogger("aggregator.store.state")  # the store's logger, as before this code moved here

_OFFLINE = REASON_CODE[Reason.SITE_OFFLINE]
_MISSING = REASON_CODE[Reason.MISSING]
_NONE_REASON = REASON_CODE[Reason.NONE]
# Reason of an interval piece whose state is not the compacted event's own (its cause is lost).
_PIECE_REASON = {CameraState.MAINTENANCE: Reason.PLANNED}


class SiteMessages:
    """Applies site messages to the writer's memory; the caller holds the lock and the transaction."""

    def __init__(
        self, db: Database, geography: Geography, memory: StoreMemory, writes: PendingWrites, timeline: Timeline,
        flusher: Flusher, clocks: SiteClocks | None = None, recordings: SiteRecordings | None = None,
    ) -> None:  # fmt: skip
        self.clocks = clocks if clocks is not None else SiteClocks(db)
        self.recordings = recordings if recordings is not None else SiteRecordings(db)
        self.db = db
        self.geography = geography
        self.memory = memory
        self.writes = writes
        self.timeline = timeline
        self.flusher = flusher
        self.gapfill = GapFill(db, memory, writes, timeline.ledger, flusher, self.clocks)
        self._late = False  # the message being applied is a late delivery (store.gapfill): not a clock reading

    def apply(self, item: Inbound, recv: int, result: ApplyResult) -> None:
        """Apply one message received at ``recv`` (ms) to memory and the batch's pending writes."""
        msg = item.message
        site = self._site_for(item.topic, recv, result)
        if site is None:
            return
        gap = self.gapfill
        self._late = False
        if (site.id in gap.provisional or site.id in gap.late) and isinstance(msg, Events | Birth | Heartbeat):
            sent = to_ms(msg.ts)
            self._late = gap.is_late(site, sent, recv)
            gap.speaks(site, sent, recv, result)
        if isinstance(msg, Events):
            result.statuses += len(msg.events)
            self._events(site, msg, recv, result)
        elif isinstance(msg, Birth):
            result.statuses += len(msg.cameras)
            self._birth(site, msg, recv, result)
        elif isinstance(msg, Death):
            if death_matches(site.bd_seq, msg.bd_seq) and site.online:
                site.last_seen_ms = recv
                # The will's own ts was written when the agent connected; the broker
                # publishes it when the connection dies, which is when we receive it.
                self.site_offline(site, recv, result)
            else:
                logger.info("%s: stale death bd_seq=%s ignored (session %s)", site.site_id, msg.bd_seq, site.bd_seq)
        elif isinstance(msg, Heartbeat):
            self._heartbeat(site, msg, recv, result)
        else:
            result.rejected.append((site.site_id, f"{type(msg).__name__} is not a message the store applies"))

    def _site_for(self, topic: SiteTopic, recv: int, result: ApplyResult) -> SiteRecord | None:
        site = self.memory.site_by_name.get(topic.site)
        if site is None:
            row = registry.get_site(self.db, topic.site)
            if row is None:
                try:
                    self.geography.district(topic.district, topic.province)
                except UnknownArea as err:
                    result.rejected.append((topic.site, str(err)))
                    return None
                registry.insert_site(self.db, topic.site, topic.province, topic.district, now_ms=recv)
                row = registry.get_site(self.db, topic.site)
                assert row is not None
            site = SiteRecord(row)
            self.memory.add_site(site)
        if site.district != topic.district or site.province != topic.province:
            result.rejected.append(
                (site.site_id, f"topic names {topic.province}/{topic.district}, site is in {site.province}/{site.district}")
            )
            return None
        return site

    def _birth(self, site: SiteRecord, birth: Birth, recv: int, result: ApplyResult) -> None:
        ts = to_ms(birth.ts)
        if not self._late:
            self.clocks.observe(site.id, site.site_id, ts, recv)
        memory, writes = self.memory, self.writes
        last = memory.birth_ms.get(site.id)
        if last is not None and birth.bd_seq == site.bd_seq and ts <= last:
            # The same session's birth again, or an older one (QoS 1 redelivery after a broker
            # or aggregator restart): its snapshot is older than what is stored, so applying it
            # would rewind the cameras. A rebirth the centre asked for carries a newer ts.
            logger.info("%s: stale birth (bd_seq %s, ts %s) ignored", site.site_id, birth.bd_seq, birth.ts)
            result.duplicates += 1
            return
        memory.birth_ms[site.id] = ts
        writes.births.add(site.id)
        info = birth.site_info
        site.name, site.agency, site.lat, site.lon = info.name, info.agency, info.lat, info.lon
        site.agent_version = birth.agent_version
        site.bd_seq = birth.bd_seq
        site.last_seen_ms = recv
        if birth.last_event_id < site.last_event_id:
            # Either the agent's outbox was reset or this is an old birth delivered again. The
            # high-water mark is NOT lowered: ids at or below it are looked up exactly in
            # ``transitions`` (camera, time, id), so a redelivered event is never stored twice
            # and a reset agent's new events (other times) are still applied.
            logger.info("%s: birth names event id %d below the committed %d (reset outbox or redelivery)",
                        site.site_id, birth.last_event_id, site.last_event_id)  # fmt: skip
        if not site.online:
            site.online = True
            result.transitions.append(self._site_transition(site, CameraState.UNKNOWN, CameraState.UP, Reason.NONE, recv))
        self.writes.dirty_sites.add(site.id)
        cols = memory.cols
        change = self.timeline.change
        seen: set[int] = set()
        for bc in birth.cameras:
            cam = site.cameras.get(bc.camera_id)
            values = registry.inventory_values(bc.name, bc.inventory)
            digest = hash(values)
            if cam is None:
                cam = self._new_camera(site, bc.camera_id, recv)
                writes.inventory[cam] = values
            elif cols.inv_hash[cam] != digest:
                writes.inventory[cam] = values
                writes.inventory_at[cam] = recv  # a changed serial or firmware is kept (store/changes.py)
            if bc.inventory.rebooted_at is not None:
                writes.reboots[cam] = to_ms(bc.inventory.rebooted_at)
            cols.inv_hash[cam] = digest
            if cols.missing[cam]:
                cols.missing[cam] = 0
                writes.missing_rows.append((0, recv, cam))
            seen.add(cam)
            # never before the kept camera history (aggregator.store.retention): a new camera "up
            # since" longer ago starts at its first kept day
            # never after its receipt: a fast clock's "since" is not stored in the future (issue 18)
            at = max(min(to_ms(bc.since), recv), cols.tail[cam], memory.history_from_ms)
            change(cam, site, at, STATE_CODE[bc.state], REASON_CODE[bc.reason], None, False, recv, result)
        for cam in site.cameras.values():
            if cam not in seen and not cols.missing[cam]:
                cols.missing[cam] = 1
                writes.missing_rows.append((1, recv, cam))
                change(cam, site, max(recv, cols.tail[cam]), UNKNOWN, _MISSING, None, False, recv, result)

    def _events(self, site: SiteRecord, msg: Events, recv: int, result: ApplyResult) -> None:
        memory, writes = self.memory, self.writes
        cols = memory.cols
        site.last_seen_ms = recv
        writes.seen_sites.add(site.id)
        clocks = self.clocks
        if not self._late:
            clocks.observe(site.id, site.site_id, to_ms(msg.ts), recv)
        cameras = site.cameras
        change = self.timeline.change
        floor = memory.history_from_ms
        born = memory.birth_ms.get(site.id, -1)
        too_old = 0
        for ev in msg.events:
            at = to_ms(ev.at)
            if at < floor:  # before the kept camera history (aggregator.store.retention): not stored
                too_old += 1
                site.last_event_id = max(site.last_event_id, ev.id)
                continue
            cam = cameras.get(ev.camera_id)
            if cam is None or (cols.missing[cam] and at >= born):
                # Not in the site's last birth (history from before it is still applied): never
                # a new camera behind the operator's back; ingest quarantines it, asks a rebirth.
                result.unknown_cameras.append((site.site_id, ev.camera_id))
                site.last_event_id = max(site.last_event_id, ev.id)
                continue
            merged = bool(ev.details) and is_compacted(ev.details)
            if ev.id <= site.last_event_id and cam is not None:
                self.flusher.flush_pending()
                if merged:  # an interval ending with an event already stored is already here
                    hit = camera_log.stored_between(self.db, cam, ev.id, at, max(at, until_ms(ev.details) or at))
                else:
                    hit = camera_log.exists_at(self.db, cam, at, ev.id) or clocks.was_moved(cam, ev.id, at)
                if hit:
                    result.duplicates += 1
                    continue
            if merged:  # the agent merged history into an interval: apply each state's seconds
                for piece_at, state in interval_pieces(at, ev.state, ev.details):
                    reason = ev.reason if state == ev.state else _PIECE_REASON.get(state, Reason.NONE)
                    change(cam, site, piece_at, STATE_CODE[state], REASON_CODE[reason], ev.id, ev.historical,
                           recv, result)  # fmt: skip
            else:
                placed = clocks.place(site.id, at, recv, ev.historical)
                if placed != at:  # the centre's time; the edge time kept beside it
                    clocks.moved(cam, ev.id, at, placed)
                change(cam, site, placed, STATE_CODE[ev.state], REASON_CODE[ev.reason], ev.id, ev.historical, recv,
                       result, ev.at if placed == at else from_ms(placed))  # fmt: skip
            if ev.id > site.last_event_id:
                site.last_event_id = ev.id
        result.committed_event_ids[site.site_id] = site.last_event_id
        if too_old:
            since = day_to_date(day_of(floor)).isoformat()
            result.rejected.append((site.site_id, f"{too_old} event(s) older than the kept camera history "
                                                  f"(from {since}) not stored"))  # fmt: skip

    def _heartbeat(self, site: SiteRecord, msg: Heartbeat, recv: int, result: ApplyResult) -> None:
        site.last_seen_ms = recv
        if not self._late:
            self.clocks.observe(site.id, site.site_id, to_ms(msg.ts), recv, msg.clock_offset_s)
        if msg.recording or msg.recorders:
            self.recordings.observe(site, msg, recv)
        if site.interval_s != msg.interval_s:
            site.interval_s = msg.interval_s
            self.writes.dirty_sites.add(site.id)
        else:
            self.writes.seen_sites.add(site.id)
        if site.online or site.bd_seq is None:
            return
        self.writes.dirty_sites.add(site.id)
        # A silent site speaks again without a new session: its cameras are known again.
        site.online = True
        result.transitions.append(self._site_transition(site, CameraState.UNKNOWN, CameraState.UP, Reason.NONE, recv))
        cols = self.memory.cols
        for camera_id, state in msg.cameras.items():
            cam = site.cameras.get(camera_id)
            if cam is not None and cols.reason[cam] == _OFFLINE:
                self.timeline.change(cam, site, max(recv, cols.tail[cam]), STATE_CODE[state], _NONE_REASON,
                             None, False, recv, result)  # fmt: skip

    def site_offline(self, site: SiteRecord, at: int, result: ApplyResult, *, deadline_ms: int | None = None) -> None:
        """Make every camera of ``site`` unknown from ``at`` (its death, or its silence past
        ``deadline_ms``: provisional until its late messages say otherwise, store.gapfill)."""
        site.online = False
        self.writes.dirty_sites.add(site.id)
        result.transitions.append(self._site_transition(site, CameraState.UP, CameraState.UNKNOWN, Reason.SITE_OFFLINE, at))
        cols = self.memory.cols
        kept = self.gapfill.remember(site, deadline_ms).before if deadline_ms is not None else None
        if kept is None:
            self.gapfill.forget(site)
        for cam in site.cameras.values():
            if not cols.missing[cam] and cols.state[cam] >= 0:
                t = max(at, cols.tail[cam])
                if kept is not None and (cols.state[cam], cols.reason[cam]) != (UNKNOWN, _OFFLINE):
                    kept[cam] = (t, cols.tail[cam], cols.state[cam], cols.reason[cam], cols.since[cam])
                self.timeline.change(cam, site, t, UNKNOWN, _OFFLINE, None, False, at, result)
        if kept is not None:
            self.gapfill.keep(site)  # in the database too: an aggregator restart keeps it provisional

    def _site_transition(self, site: SiteRecord, old: CameraState, new: CameraState, reason: Reason, at: int) -> Transition:
        return Transition(site.site_id, site.province, site.district, None, old, new, reason, from_ms(at), False)

    def _new_camera(self, site: SiteRecord, camera_id: str, recv: int) -> int:
        cols = self.memory.cols
        cam = cols.n
        if cam >= len(cols.state):
            cols.grow()
        cols.n += 1
        cols.ids.append(camera_id)
        cols.site[cam] = site.id
        site.cameras[camera_id] = cam
        self.writes.new_cameras[cam] = recv
        return cam
