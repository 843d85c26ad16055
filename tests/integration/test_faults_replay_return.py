"""A camera whose failure was first seen in replayed history and that is still failing when
its site returns is alerted as a live fault, over a REAL Mosquitto (issue 6 item 1)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.faults.store import FaultFilter
from aggregator.geography import Geography
from aggregator.notify.settings import MqttAlertSettings, NotifySettings
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Alert,
    AlertAction,
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Heartbeat,
    Kind,
    Reason,
    SiteTopic,
    decode,
)
from tests.rig.faults import T0, SimClock, cam, service
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
UP, DOWN = CameraState.UP, CameraState.DOWN


def _topic(kind: Kind) -> SiteTopic:
    return SiteTopic("10", "1001", "s1", kind)


def test_failure_seen_in_replayed_history_alerts_when_the_site_returns(tmp_path: Path, mosquitto: Broker) -> None:
    collector = Collector(mosquitto.port, ["camwatch/v1/alerts/#"])
    clock = SimClock()
    settings = NotifySettings(group_window_s=10, mqtt=MqttAlertSettings(port=mosquitto.port, client_id="replay-return"))
    svc = service(tmp_path, clock, settings=settings)
    assert svc.mqtt is not None
    svc.mqtt.start()
    store = StateStore(svc.db, Geography.from_geothai(), start=T0)
    try:
        birth = Birth(site="s1", ts=T0, bd_seq=1, cameras=[
            BirthCamera(camera_id=c, state=UP, since=T0) for c in ("c1", "c2")])  # fmt: skip
        svc.feed(store.apply([Inbound(_topic(Kind.BIRTH), birth, T0)]).transitions, clock.now)
        # the site falls silent: one site fault, alerted
        silent = store.expire_silent_sites(clock.advance(600))
        assert silent[0].camera_id is None and silent[0].new_state is CameraState.UNKNOWN
        svc.feed(silent, clock.now)
        for _ in range(3):
            svc.step(clock.advance(5))
        [first] = collector.wait_for(1)
        assert decode(Alert, first.payload).fault_kind == "site"
        # replayed history arrives while the site is still counted silent: c1 failed meanwhile
        replay = Events(site="s1", ts=clock.now, seq=1, events=[Event(
            id=1, camera_id="c1", at=T0 + timedelta(minutes=5), state=DOWN, reason=Reason.NO_VIDEO, historical=True)])
        svc.feed(store.apply([Inbound(_topic(Kind.EVENTS), replay, clock.advance(5))]).transitions, clock.now)
        # the site speaks again; c1's state does not change (still down), c2 is up again
        beat = Heartbeat(site="s1", ts=clock.now, seq=2, cameras={"c1": DOWN, "c2": UP})
        back = store.apply([Inbound(_topic(Kind.HEARTBEAT), beat, clock.advance(5))]).transitions
        assert [t.camera_id for t in back] == [None, "c2"]
        svc.feed(back, clock.now)
        for _ in range(3):
            svc.step(clock.advance(5))
        # a sentinel fault elsewhere: alerts arrive in order, so once it is here nothing else is coming
        svc.feed([cam(clock.now, "elsewhere", DOWN, Reason.FROZEN, site="s2", district="1002")], clock.now)
        svc.step(clock.advance(11))
        messages = collector.wait_for(4)
        assert decode(Alert, messages[-1].payload).camera_id == "elsewhere"
        alerts = [decode(Alert, m.payload) for m in messages[1:-1]]
        assert sorted((a.fault_kind, a.action, a.camera_id) for a in alerts) == [
            ("camera", AlertAction.OPENED, "c1"), ("site", AlertAction.RESOLVED, None)]
        [fault] = [f for f in svc.store.find(FaultFilter(site="s1")) if f.camera_id == "c1"]
        assert fault.status.active and not fault.historical and fault.alerted_at is not None
    finally:
        collector.close()
        svc.stop()
