"""Dispatch of one delivery, on the writer thread: decode, check enrolment, route through the
session rules, and sort it into items to commit, deliveries to ack and sites to ask for a rebirth.

A mixin of :class:`~aggregator.ingest.consumer.Ingest`, kept out of consumer.py (the writer
loop: batches, commits, acks, replies) because it decides what ONE message is worth: anything
bad is quarantined with its reason and acknowledged, never retried; nothing here touches the
broker or commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from aggregator.ingest.quarantine import Quarantine
from aggregator.ingest.sessions import Decision, Routed, SiteSessions
from aggregator.ingest.settings import IngestSettings
from aggregator.store import registry
from aggregator.store.snapshots import SnapshotRefused, SnapshotStore
from aggregator.store.state import Inbound
from protocol import Birth, BirthAssembler, ProtocolError, SiteTopic, Snapshot, decode_site_message

__all__ = ["Delivery", "DeliveryDispatch"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as paho handed it over, queued for the writer."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # which connection delivered it: a mid is only valid on its connection
    received_at: datetime


class DeliveryDispatch:
    """Mixed into :class:`aggregator.ingest.consumer.Ingest`; the attributes are the consumer's."""

    settings: IngestSettings
    db: Database
    quarantine: Quarantine
    snapshots: SnapshotStore
    sessions: SiteSessions[Delivery]
    _assembler: BirthAssembler
    _topics: dict[str, SiteTopic]
    _enrolled: dict[str, tuple[str, str]]
    _counters: dict[str, int]

    def _route(
        self,
        d: Delivery,
        now: float,
        wall: datetime,
        items: list[Inbound],
        to_ack: list[Delivery],
        rebirths: set[str],
    ) -> None:
        try:
            topic, message = decode_site_message(
                d.topic, d.payload, now=wall, max_bytes=self.settings.max_payload_bytes
            )
        except ProtocolError as err:
            self.quarantine.add(d.topic, d.payload, err.reason, err.message)
            to_ack.append(d)
            return
        if self.settings.require_enrolled and not self._enrolled_here(d, topic):
            to_ack.append(d)
            return
        self._topics[topic.site] = topic
        if isinstance(message, Snapshot):  # a reply outside the session's seq: store and ack
            try:
                self.snapshots.put(message, d.received_at)
            except SnapshotRefused as err:
                self.quarantine.add(d.topic, d.payload, err.reason, str(err))
            to_ack.append(d)
            return
        last_seq: int | None = None
        if isinstance(message, Birth):
            parts = message.parts
            try:
                whole = self._assembler.add(message)
            except ProtocolError as err:
                self.quarantine.add(d.topic, d.payload, err.reason, err.message)
                to_ack.append(d)
                return
            if whole is None:  # more parts to come; this one is acked with its batch
                to_ack.append(d)
                return
            message, last_seq = whole, parts - 1
        routed, rebirth = self.sessions.route(message, d, now, birth_last_seq=last_seq)
        if rebirth:
            rebirths.add(topic.site)
        for r in routed:
            self._collect(r, topic, items, to_ack)

    def _unknown_cameras(self, unknown: list[tuple[str, str]], now: float) -> set[str]:
        """Quarantine events for cameras their site's last birth did not name; return the sites to
        ask for a rebirth (its birth may have been lost or be older than the agent's cameras).

        Logged once per site per rebirth window, not once per event: a misconfigured agent
        repeats them every check."""
        per_site: dict[str, dict[str, int]] = {}
        for site, camera_id in unknown:
            cams = per_site.setdefault(site, {})
            cams[camera_id] = cams.get(camera_id, 0) + 1
        self._counters["unknown_cameras"] += len(unknown)
        rebirths: set[str] = set()
        for site, cams in sorted(per_site.items()):
            topic = str(self._topics.get(site, site))
            for camera_id, n in sorted(cams.items()):
                detail = f"{n} event(s) for camera {camera_id!r}, which site {site!r}'s last birth does not name"
                self.quarantine.add(topic, b"", "unknown_camera", detail, quiet=True)
            if self.sessions.want_rebirth(site, now):
                rebirths.add(site)
                logger.warning("%s: events for cameras not in its last birth (%s) quarantined as unknown_camera; "
                               "asking for a rebirth", site, ", ".join(sorted(cams)))  # fmt: skip
        return rebirths

    def _enrolled_here(self, d: Delivery, topic: SiteTopic) -> bool:
        """Whether the topic's site is enrolled in the topic's district; quarantine if not."""
        where = self._enrolled.get(topic.site)
        if where is None:
            site = registry.get_site(self.db, topic.site)
            if site is None:
                detail = f"site {topic.site!r} is not enrolled"
                self.quarantine.add(d.topic, d.payload, "unknown_site", detail)
                return False
            where = self._enrolled[topic.site] = (site.province, site.district)
        if where != (topic.province, topic.district):
            detail = f"site {topic.site!r} is enrolled in {where[0]}/{where[1]}"
            self.quarantine.add(d.topic, d.payload, "wrong_location", detail)
            return False
        return True

    def _collect(
        self, r: Routed[Delivery], topic: SiteTopic, items: list[Inbound], to_ack: list[Delivery]
    ) -> None:
        if r.decision is Decision.HOLD:
            return
        to_ack.append(r.tag)
        if r.decision is Decision.DROP:
            self._counters["dropped"] += 1
        if r.decision is Decision.APPLY:
            items.append(Inbound(topic=topic, message=r.message, received_at=r.tag.received_at))
