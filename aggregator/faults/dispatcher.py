"""Turn live fault changes into notifications: group, mute, route, rate-limit, hand over.

Runs on the fault worker thread and takes the time as an argument, so a test drives it
with a simulated clock. Steps:

1. :meth:`Dispatcher.offer` puts each notifiable live change in a group buffer keyed by
   site (camera faults) or district (site faults) or province (district faults);
2. :meth:`Dispatcher.pump` flushes a buffer ``group_window_s`` after its first change,
   re-reading each fault first: one resolved or held under a wider fault in the meantime
   is dropped, one under a maintenance window is kept aside until the window ends;
3. the survivors go out as ONE notification: one MQTT alert on the district topic and one
   delivery per matching recipient, within the recipient's rate limit (the excess is sent
   as one digest when the period allows).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aggregator.faults.model import Fault, FaultAction, FaultChange, FaultKind, FaultStatus
from aggregator.faults.routing import Channel, Route, RouteBook
from aggregator.faults.text import CodesDirectory, Directory, build_alert, summary
from aggregator.notify.deliveries import DeliveryLog
from aggregator.notify.line import MAX_MESSAGES, push_body
from aggregator.notify.mqtt import MqttAlerts
from aggregator.notify.settings import NotifySettings
from aggregator.store.maintenance import MaintenanceCalendar, MaintenanceTarget
from protocol import Alert, AlertAction

__all__ = ["Dispatcher", "Notification"]

logger = logging.getLogger(__name__)

_OPENING = {FaultAction.OPENED, FaultAction.REOPENED, FaultAction.FLAPPING, FaultAction.RELEASED}
_CLOSING = {FaultAction.RESOLVED, FaultAction.CLOSED}
# Most items one MQTT alert lists in ``extra`` (a 64-camera site fits many times over).
_MAX_ITEMS = 500
# Most alerts one digest carries in full; the rest are counted (``omitted``), so a storm
# never builds a multi-megabyte webhook body or e-mail.
_MAX_DIGEST = 1000
_RELEASE_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class Notification:
    """What one recipient (or the MQTT topic) receives at once."""

    id: str
    group: str
    action: AlertAction
    level: int
    alerts: tuple[Alert, ...]
    created_at: datetime
    digest: bool = False
    omitted: int = 0

    def as_json(self) -> dict[str, Any]:
        """The webhook body."""
        return {
            "id": self.id,
            "group": self.group,
            "action": self.action.value,
            "level": self.level,
            "digest": self.digest,
            "omitted": self.omitted,
            "created_at": self.created_at.isoformat(),
            "fault_ids": [a.fault_id for a in self.alerts],
            "alerts": [a.model_dump(mode="json", exclude_none=True) for a in self.alerts],
        }


@dataclass
class _Group:
    first: datetime
    action: AlertAction
    level: int
    items: dict[int, Fault] = field(default_factory=dict)


@dataclass
class _Limit:
    sent: deque[datetime] = field(default_factory=deque)
    digest: list[Alert] = field(default_factory=list)


class Dispatcher:
    """Grouping, maintenance muting, routing and rate limits (see the module docstring)."""

    def __init__(
        self,
        settings: NotifySettings,
        *,
        lookup: Callable[[int], Fault | None],
        routes: RouteBook | None = None,
        deliveries: DeliveryLog | None = None,
        mqtt: MqttAlerts | None = None,
        calendar: MaintenanceCalendar | None = None,
        directory: Directory | None = None,
        on_handoff: Callable[[Notification, str, datetime], None] | None = None,
        image_link: Callable[[str, str, datetime], str | None] | None = None,
    ) -> None:
        """``image_link(site, camera_id, now)`` gives a fetchable link to the camera's last
        snapshot (or None), for LINE routes that carry images."""
        self.settings = settings
        self._image_link = image_link
        self._lookup = lookup
        self._routes = routes
        self._deliveries = deliveries
        self._mqtt = mqtt
        self._calendar = calendar
        self._directory = directory or CodesDirectory()
        self._on_handoff = on_handoff
        self._groups: dict[str, _Group] = {}
        self._suppressed: dict[int, Fault] = {}
        self._released_at: datetime | None = None
        self._limits: dict[int, _Limit] = {}
        self.counts: dict[str, int] = {"notifications": 0, "deliveries": 0, "digests": 0, "muted": 0}

    # -- intake ------------------------------------------------------------------------

    def seed_suppressed(self, faults: Iterable[Fault]) -> None:
        """After a restart: live faults never alerted wait for their maintenance to end."""
        for f in faults:
            if f.alerted_at is None and not f.historical and f.parent_id is None:
                self._suppressed[f.id] = f

    def offer(self, changes: Iterable[FaultChange], now: datetime) -> None:
        """Buffer the notifiable live changes; replayed (historical) ones never alert."""
        for c in changes:
            if not c.live:
                continue
            f = c.fault
            if c.action in _OPENING:
                action = AlertAction.REOPENED if c.action is FaultAction.REOPENED else AlertAction.OPENED
                self._buffer(f, action, 0, now)
            elif c.action is FaultAction.ESCALATED:
                self._buffer(f, AlertAction.ESCALATED, f.escalation_level, now)
            elif c.action in _CLOSING and f.alerted_at is not None:
                self._buffer(f, AlertAction.RESOLVED, 0, now)
            elif c.action is FaultAction.ACKNOWLEDGED and f.alerted_at is not None:
                self._buffer(f, AlertAction.ACKNOWLEDGED, 0, now)

    def _buffer(self, fault: Fault, action: AlertAction, level: int, now: datetime) -> None:
        if fault.kind in (FaultKind.CAMERA, FaultKind.FLAPPING):
            where = f"site:{fault.site}"
        elif fault.kind in (FaultKind.SITE, FaultKind.RECORDER):
            where = f"district:{fault.district}"
        elif fault.kind is FaultKind.DISTRICT:
            where = f"province:{fault.province}"
        else:
            where = "nation"
        key = f"{where}|{action.value}|{level}"
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(now, action, level)
        group.items[fault.id] = fault

    # -- time --------------------------------------------------------------------------

    def pump(self, now: datetime) -> list[int]:
        """Flush due groups, release faults whose maintenance ended, send due digests.

        Returns the ids of faults alerted for the first time (the engine records it).
        """
        self._release(now)
        window = timedelta(seconds=self.settings.group_window_s)
        alerted: list[int] = []
        for key in [k for k, g in self._groups.items() if now - g.first >= window]:
            alerted += self._flush(key.split("|", 1)[0], self._groups.pop(key), now)
        self._send_digests(now)
        return alerted

    def pending(self) -> int:
        """Faults waiting in group buffers."""
        return sum(len(g.items) for g in self._groups.values())

    def muted(self, fault: Fault, at: datetime) -> bool:
        """Whether planned work covers the fault's camera, site or district at ``at``."""
        if self._calendar is None or fault.district is None:
            return False
        target = MaintenanceTarget(fault.district, fault.site, fault.camera_id)
        return self._calendar.in_maintenance(target, at)

    def _release(self, now: datetime) -> None:
        # Pump runs after every ingest batch; a window's end only needs noticing within a second.
        if self._released_at is not None and (now - self._released_at).total_seconds() < _RELEASE_EVERY_S:
            return
        self._released_at = now
        for fid in list(self._suppressed):
            cur = self._lookup(fid)
            if cur is None or cur.parent_id is not None:
                del self._suppressed[fid]
            elif not self.muted(cur, now):
                del self._suppressed[fid]
                self._buffer(cur, AlertAction.OPENED, 0, now)

    def _flush(self, where: str, group: _Group, now: datetime) -> list[int]:
        live: list[Fault] = []
        for fid, snapshot in group.items.items():
            if group.action in (AlertAction.RESOLVED, AlertAction.ACKNOWLEDGED):
                live.append(snapshot)
                continue
            cur = self._lookup(fid)
            if cur is None or cur.parent_id is not None:
                continue  # resolved or folded into a wider fault before anyone was told
            if cur.status is not FaultStatus.OPEN:
                continue  # someone took it on before the alert went out
            if self.muted(cur, now):
                self.counts["muted"] += 1
                if group.action is not AlertAction.ESCALATED:
                    self._suppressed[fid] = cur
                continue
            live.append(cur)
        if not live:
            return []
        alerts = [self._alert(f, group.action, now) for f in live]
        note = Notification(uuid.uuid4().hex, where, group.action, group.level, tuple(alerts), now)
        self.counts["notifications"] += 1
        self._publish_mqtt(note, live)
        if group.action is not AlertAction.ACKNOWLEDGED:
            self._route(note, live, now)
        opening = group.action in (AlertAction.OPENED, AlertAction.REOPENED)
        return [f.id for f in live if opening and f.alerted_at is None]

    def _alert(self, fault: Fault, action: AlertAction, now: datetime) -> Alert:
        s = self.settings
        if fault.camera_id:
            path = s.camera_path.format(camera_id=fault.camera_id, site=fault.site or "")
        elif fault.site:
            path = s.site_path.format(site=fault.site)
        else:
            level = "district" if fault.district else "province"
            path = s.area_path.format(level=level, area=fault.district or fault.province)
        extra: dict[str, object] = {"level": fault.escalation_level} if fault.escalation_level else {}
        place = self._directory.place(fault)
        return build_alert(fault, action, now, place, s.base_url.rstrip("/") + path, extra)

    def _publish_mqtt(self, note: Notification, faults: list[Fault]) -> None:
        if self._mqtt is None:
            return
        first = note.alerts[0]
        if len(note.alerts) > 1:
            subject, th, en = summary(list(note.alerts), digest=False)
            items = [
                {"fault_id": a.fault_id, "kind": a.fault_kind, "site": a.site, "camera_id": a.camera_id,
                 "reason": a.reason.value, "since": a.since.isoformat(), "url": a.url}
                for a in note.alerts[:_MAX_ITEMS]
            ]
            extra = {"notification": note.id, "count": len(note.alerts), "items": items}
            first = first.model_copy(update={"text_th": th[:2000], "text_en": en[:2000], "extra": extra})
        else:
            first = first.model_copy(update={"extra": {**first.extra, "notification": note.id}})
        districts = [first.district] if first.district else self._districts(faults)
        self._mqtt.publish(first, districts)
        if self._on_handoff is not None:
            self._on_handoff(note, "mqtt", note.created_at)

    def _districts(self, faults: list[Fault]) -> list[str]:
        lookup = getattr(self._directory, "districts", None)
        found: list[str] = list(lookup(faults[0].province)) if callable(lookup) else []
        return found

    def _route(self, note: Notification, faults: list[Fault], now: datetime) -> None:
        if self._routes is None or self._deliveries is None:
            return
        per_route: dict[int, tuple[Route, list[Alert]]] = {}
        for fault, alert in zip(faults, note.alerts, strict=True):
            for route in self._routes.matching(fault, note.level):
                per_route.setdefault(route.id, (route, []))[1].append(alert)
        for route, alerts in per_route.values():
            limit = self._limits.setdefault(route.id, _Limit())
            self._prune(limit, now)
            if len(limit.sent) < self.settings.rate_limit:
                self._enqueue(route, Notification(note.id, note.group, note.action, note.level, tuple(alerts), now), now)
                limit.sent.append(now)
            else:
                limit.digest.extend(alerts)

    def _prune(self, limit: _Limit, now: datetime) -> None:
        period = timedelta(seconds=self.settings.rate_period_s)
        while limit.sent and now - limit.sent[0] >= period:
            limit.sent.popleft()

    def _send_digests(self, now: datetime) -> None:
        if self._routes is None:
            return
        for route_id, limit in self._limits.items():
            if not limit.digest:
                continue
            self._prune(limit, now)
            route = self._routes.get(route_id)
            if route is None:
                limit.digest.clear()
                continue
            if len(limit.sent) < self.settings.rate_limit:
                alerts, limit.digest = limit.digest, []
                omitted = max(len(alerts) - _MAX_DIGEST, 0)
                note = Notification(
                    uuid.uuid4().hex, "digest", alerts[0].action, 0, tuple(alerts[:_MAX_DIGEST]), now,
                    digest=True, omitted=omitted,
                )
                self._enqueue(route, note, now)
                limit.sent.append(now)
                self.counts["digests"] += 1

    def _images(self, route: Route, note: Notification, now: datetime) -> list[str]:
        """Links to the cameras' last snapshots for a LINE route that wants them (new faults only)."""
        if not route.images or self._image_link is None or note.action is AlertAction.RESOLVED:
            return []
        urls: list[str] = []
        for alert in note.alerts:
            if len(urls) == MAX_MESSAGES - 1:
                break
            if alert.site and alert.camera_id:
                url = self._image_link(alert.site, alert.camera_id, now)
                if url:
                    urls.append(url)
        return urls

    def _enqueue(self, route: Route, note: Notification, now: datetime) -> None:
        assert self._deliveries is not None
        body = note.as_json()
        if route.channel is Channel.EMAIL:
            subject, th, en = summary(list(note.alerts), note.digest)
            payload: dict[str, Any] = {"subject": subject, "text_th": th, "text_en": en, "notification": note.id}
        elif route.channel is Channel.LINE:
            _, th, _ = summary(list(note.alerts), note.digest)
            payload = push_body(route.target, th, self._images(route, note, now))
        else:
            payload = body
        self._deliveries.enqueue(
            key=f"{note.id}-{route.id}",
            channel=route.channel.value,
            route_id=route.id,
            recipient=route.target,
            payload=payload,
            now=now,
            province=note.alerts[0].province,
            fault_ids=tuple(a.fault_id for a in note.alerts),
        )
        self.counts["deliveries"] += 1
        if self._on_handoff is not None:
            self._on_handoff(note, route.channel.value, now)
