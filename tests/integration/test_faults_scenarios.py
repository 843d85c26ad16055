"""Fault scenarios end to end (issue 6): power cut, flapping storm, maintenance, escalation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.faults.model import FaultKind, FaultRules
from aggregator.faults.routing import Channel, RouteSpec
from aggregator.faults.store import FaultFilter
from aggregator.geography import Geography
from aggregator.notify.settings import MqttAlertSettings, NotifySettings
from aggregator.store.maintenance import MaintenanceTarget, TargetKind, WindowSpec
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Alert,
    AlertAction,
    Birth,
    BirthCamera,
    CameraState,
    Death,
    Kind,
    Reason,
    SiteTopic,
    decode,
)
from tests.rig.faults import T0, SimClock, cam, service
from tests.rig.http_sink import WebhookSink
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "a-webhook-secret-of-32-characters"
UP, DOWN = CameraState.UP, CameraState.DOWN


def _birth(site: str, states: dict[str, CameraState], bd_seq: int, at_s: float) -> Inbound:
    at = T0 + timedelta(seconds=at_s)
    cameras = [
        BirthCamera(camera_id=c, state=s, reason=Reason.NONE if s is UP else Reason.UNREACHABLE, since=at)
        for c, s in states.items()
    ]
    return Inbound(SiteTopic("10", "1001", site, Kind.BIRTH), Birth(site=site, ts=at, bd_seq=bd_seq, cameras=cameras), at)


def test_site_power_cut_gives_one_site_alert_then_one_fault_per_camera_still_down(
    tmp_path: Path, mosquitto: Broker
) -> None:
    collector = Collector(mosquitto.port, ["camwatch/v1/alerts/#"])
    clock = SimClock()
    settings = NotifySettings(group_window_s=10, mqtt=MqttAlertSettings(port=mosquitto.port, client_id="power-cut"))
    svc = service(tmp_path, clock, settings=settings)
    assert svc.mqtt is not None
    svc.mqtt.start()
    store = StateStore(svc.db, Geography.from_geothai(), start=T0)
    cams = [f"cam{i:02d}" for i in range(64)]
    try:
        svc.feed(store.apply([_birth("s1", dict.fromkeys(cams, UP), 1, 0)]).transitions, clock.now)
        # The power goes: the broker publishes the agent's will; every camera goes with it.
        now = clock.advance(60)
        death = Inbound(SiteTopic("10", "1001", "s1", Kind.DEATH), Death(site="s1", ts=T0, bd_seq=1), now)
        transitions = store.apply([death]).transitions
        assert len(transitions) == 65
        svc.feed(transitions, now)
        for _ in range(6):
            svc.step(clock.advance(5))
        [site_msg] = collector.wait_for(1)
        alert = decode(Alert, site_msg.payload)
        assert (alert.fault_kind, alert.action, alert.site) == ("site", AlertAction.OPENED, "s1")
        assert "ไฟฟ้าดับหรือเครือข่ายขัดข้อง" in alert.text_th
        # Power back after 20 minutes: 60 cameras come up, 4 stay down.
        states = {c: (DOWN if i < 4 else UP) for i, c in enumerate(cams)}
        now = clock.advance(1200)
        svc.feed(store.apply([_birth("s1", states, 2, 1260)]).transitions, now)
        for _ in range(3):
            svc.step(clock.advance(5))
        # A sentinel fault elsewhere: alerts arrive in order, so once it is here nothing else is coming.
        svc.feed([cam(clock.now, "elsewhere", DOWN, Reason.FROZEN, site="s2", district="1002")], clock.now)
        svc.step(clock.advance(11))
        messages = collector.wait_for(4)
        assert len(messages) == 4 and decode(Alert, messages[-1].payload).camera_id == "elsewhere"
        alerts = [decode(Alert, m.payload) for m in messages[:3]]
        assert sorted((a.fault_kind, a.action.value) for a in alerts) == [
            ("camera", "opened"), ("site", "opened"), ("site", "resolved"),
        ]  # fmt: skip
        grouped = next(a for a in alerts if a.fault_kind == "camera")
        assert sorted(i["camera_id"] for i in grouped.extra["items"]) == cams[:4]
        faults = svc.store.find(FaultFilter(site="s1", limit=1000))
        assert sorted((f.kind.value, f.camera_id or "") for f in faults) == [
            ("camera", c) for c in cams[:4]
        ] + [("site", "")]
    finally:
        collector.close()
        svc.stop()


def test_ten_thousand_flapping_cameras_give_one_fault_each_and_bounded_notifications(tmp_path: Path) -> None:
    sink = WebhookSink(SECRET).start()
    clock = SimClock()
    settings = NotifySettings(group_window_s=10, rate_limit=10, rate_period_s=600)
    svc = service(tmp_path, clock, settings=settings, rules=FaultRules(flap_changes=4, flap_window_s=600))
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET, province="10"), clock.now)
    handed: list[tuple[float, str, bool]] = []
    svc.dispatcher._on_handoff = lambda n, ch, at: handed.append(((at - T0).total_seconds(), ch, n.digest))
    cams = [(f"c{i:05d}", f"site{i // 64:03d}", f"10{(i // 64) % 50 + 1:02d}") for i in range(10_000)]
    sites = {s for _, s, _ in cams}
    try:
        for flip in range(30):  # every 30 s for 15 minutes
            now = T0 + timedelta(seconds=30 * flip)
            clock.now = now
            state = DOWN if flip % 2 == 0 else UP
            svc.feed([cam(now, c, state, Reason.UNREACHABLE, site=s, district=d) for c, s, d in cams], now)
            for _ in range(3):
                svc.step(clock.advance(10))
                svc.workers[0].run_once(clock.now)
        faults = svc.store.find(FaultFilter(limit=20_000))
        assert len(faults) == 10_000
        assert {f.kind for f in faults} == {FaultKind.FLAPPING}
        assert len({f.camera_id for f in faults}) == 10_000
        # Bounded: grouped per site, and nothing new once every camera is known to flap
        # (only the digest of what the recipient's rate limit held back).
        late = [h for h in handed if h[0] > 5 * 60]
        assert all(digest for _, _, digest in late) and len(late) <= 2
        assert sum(1 for h in handed if h[1] == "webhook") <= settings.rate_limit * 2 + 2
        assert len(handed) <= len(sites) * (FaultRules().flap_changes + 1) + 10
        delivered = [r.body for r in sink.received if r.answered == 200]
        assert len(delivered) == len(svc.deliveries.list(limit=1000))
        assert any(b["digest"] for b in delivered)  # the excess went out as a digest
    finally:
        sink.stop()
        svc.stop()


def test_maintenance_window_suppresses_then_releases_at_its_end(tmp_path: Path) -> None:
    sink = WebhookSink(SECRET).start()
    clock = SimClock()
    svc = service(tmp_path, clock, settings=NotifySettings(group_window_s=5))
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET), clock.now)
    window = WindowSpec(target_kind=TargetKind.SITE, target_id="s1", starts_at=T0, ends_at=T0 + timedelta(hours=1))
    svc.calendar.add(window, clock.now)
    try:
        now = clock.advance(600)
        svc.feed([cam(now, "fixed-in-window", DOWN, Reason.UNREACHABLE)], now)
        svc.feed([cam(now, "still-down", DOWN, Reason.STREAM_FAILED)], now)
        svc.feed([cam(now, "other-site", DOWN, Reason.FROZEN, site="s2")], now)
        svc.step(clock.advance(10))
        svc.feed([cam(clock.now, "fixed-in-window", UP)], clock.now)
        for _ in range(10):
            svc.step(clock.advance(60))
            svc.workers[0].run_once(clock.now)
        before = [a["camera_id"] for r in sink.received for a in r.body["alerts"]]
        assert before == ["other-site"]  # s1 is under planned work
        clock.now = T0 + timedelta(hours=1, seconds=1)
        svc.step(clock.now)
        svc.step(clock.advance(6))
        svc.workers[0].run_once(clock.now)
        after = [a["camera_id"] for r in sink.received[1:] for a in r.body["alerts"]]
        assert after == ["still-down"]  # the one still open alerts when the window ends
        assert svc.calendar.in_maintenance(MaintenanceTarget("1001", "s1", "any-camera"), T0 + timedelta(minutes=30))
    finally:
        sink.stop()
        svc.stop()


def test_escalation_when_nobody_acknowledges(tmp_path: Path) -> None:
    sink = WebhookSink(SECRET).start()
    clock = SimClock()
    svc = service(
        tmp_path, clock, settings=NotifySettings(group_window_s=5), rules=FaultRules(escalate_after_s=(900, 3600))
    )
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url + "/tech", secret=SECRET), clock.now)
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url + "/chief", secret=SECRET, level=1), clock.now)
    try:
        svc.feed([cam(clock.now, "ignored", DOWN, Reason.UNREACHABLE, site="a")], clock.now)
        svc.feed([cam(clock.now, "taken", DOWN, Reason.UNREACHABLE, site="b")], clock.now)
        svc.step(clock.advance(5))
        taken = svc.store.find(FaultFilter(camera_id="taken"))[0]
        svc.acknowledge(taken.id, "somchai")
        for _ in range(20):  # 20 minutes
            svc.step(clock.advance(60))
            svc.workers[0].run_once(clock.now)
        chief = [(a["camera_id"], a["action"]) for r in sink.received if r.path.endswith("/chief") for a in r.body["alerts"]]
        tech = [(a["camera_id"], a["action"]) for r in sink.received if r.path.endswith("/tech") for a in r.body["alerts"]]
        assert chief == [("ignored", "escalated")]
        assert sorted(tech) == [("ignored", "opened"), ("taken", "opened")]
        ignored = svc.store.find(FaultFilter(camera_id="ignored"))[0]
        assert ignored.escalation_level == 1
        assert [h["action"] for h in svc.store.history(ignored.id)] == ["opened", "alerted", "escalated"]
    finally:
        sink.stop()
        svc.stop()


def test_replayed_historical_failures_are_recorded_but_never_alerted(tmp_path: Path) -> None:
    sink = WebhookSink(SECRET).start()
    clock = SimClock()
    svc = service(tmp_path, clock, settings=NotifySettings(group_window_s=5))
    svc.routes.add(RouteSpec(channel=Channel.WEBHOOK, target=sink.url, secret=SECRET), clock.now)
    try:
        old = clock.now - timedelta(hours=3)  # an outage replayed after the WAN came back
        svc.feed([cam(old, "c1", DOWN, Reason.UNREACHABLE, historical=True),
                  cam(old + timedelta(minutes=40), "c1", UP, historical=True)], clock.now)  # fmt: skip
        svc.feed([cam(old, "c2", DOWN, Reason.FROZEN, historical=True)], clock.now)
        for _ in range(5):
            svc.step(clock.advance(60))
            svc.workers[0].run_once(clock.now)
        faults = {f.camera_id: f for f in svc.store.find(FaultFilter())}
        assert faults["c1"].duration_s == 2400 and faults["c1"].historical
        assert faults["c2"].status.active and faults["c2"].alerted_at is None
        assert svc.deliveries.list() == [] and sink.received == []
    finally:
        sink.stop()
        svc.stop()
