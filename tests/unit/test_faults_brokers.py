"""National broker down (issue 17): the watch's state machine, the fault, its alert and its scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aggregator.faults.model import NATIONAL, FaultAction, FaultKind, RepairNote
from aggregator.faults.rules import FaultEngine, StillFailing
from aggregator.faults.text import CodesDirectory, build_alert
from aggregator.ingest.brokers import BrokerWatch
from aggregator.ingest.settings import IngestSettings
from protocol import Alert, AlertAction, CameraState, Reason, decode, encode
from tests.rig.callers import header_app, who
from tests.rig.faults import SimClock, cam, service

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
PASSWORD = "the-ingest-password-never-shown"
SETTINGS = IngestSettings(url="mqtts://nat-a.example:8883", fallback_urls=("mqtts://nat-b.example:8883",),
                          password=PASSWORD, broker_probe_s=1)  # fmt: skip


class Looks:
    """The probe's answers, scripted per broker (a cause, or None: it answered); what was probed."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str | None]] = {}
        self.probed: list[str] = []

    def __call__(self, host: str, port: int, *, tls: Any, timeout_s: float) -> str | None:
        assert tls is not None and 0 < timeout_s <= 1, "mqtts: a TLS probe with a short explicit timeout"
        self.probed.append(f"{host}:{port}")
        return self.answers[f"{host}:{port}"].pop(0)


def test_the_watch_says_down_after_two_failed_looks_and_up_after_one_answer() -> None:
    told: list[tuple[str, bool]] = []
    looks = Looks()
    current: list[tuple[str, int] | None] = [("nat-a.example", 8883)]
    watch = BrokerWatch(SETTINGS, current=lambda: current[0], listeners=[lambda b, up: told.append((b, up))], probe=looks)
    a, b = "nat-a.example:8883", "nat-b.example:8883"
    looks.answers[b] = ["connection refused", None, "timed out", "timed out", "timed out", None, None]
    watch.look()
    assert told == [(a, True)] and watch.down == set(), "one failed probe of b is no verdict yet"
    for _ in range(6):
        watch.look()
    assert looks.probed == [b] * 7, "the broker in use is not probed: its connection says it is up"
    # b: refused (1), answer (first verdict: up), timed out x3 (down once), answer (up once), answer (nothing)
    assert [up for broker, up in told if broker == b] == [True, False, True]
    assert [up for broker, up in told if broker == a] == [True], "a, in use all along, told once"
    # The connection to a is lost and a does not answer: down after two looks, then back.
    told.clear()
    current[0] = ("nat-b.example", 8883)
    looks.answers[a] = ["connection refused", "connection refused", "connection refused", None]
    for _ in range(2):
        watch.look()
    assert told == [(a, False)] and watch.down == {a}
    for _ in range(2):
        watch.look()
    assert told == [(a, False), (a, True)] and watch.down == set()


def test_a_fault_left_open_by_a_restart_closes_on_the_watchs_first_answer(tmp_path: Path) -> None:
    clock = SimClock()
    [opened] = service(tmp_path, clock).broker("nat-a.example:8883", False, clock.now)
    restarted = service(tmp_path, clock)  # the open fault is loaded from the store
    assert restarted.engine.broker_fault("nat-a.example:8883") is not None
    clock.advance(600)
    looks = Looks()
    looks.answers["nat-b.example:8883"] = [None]
    watch = BrokerWatch(SETTINGS, current=lambda: ("nat-a.example", 8883),
                        listeners=[lambda b, up: restarted.broker(b, up, clock.now)], probe=looks)  # fmt: skip
    watch.look()  # a is in use: the first verdict, up
    assert restarted.store.get(opened.fault.id).status.value == "resolved"  # type: ignore[union-attr]


def test_a_broker_fault_opens_once_is_national_refuses_a_hand_resolve_and_closes_once() -> None:
    engine = FaultEngine()
    [opened] = engine.broker_changed("nat-a.example:8883", False, T0)
    fault = opened.fault
    assert (opened.action, fault.kind, fault.province, fault.broker) == (
        FaultAction.OPENED, FaultKind.BROKER, NATIONAL, "nat-a.example:8883")  # fmt: skip
    assert fault.key == ("broker", "nat-a.example:8883") and fault.district is None and fault.site is None
    assert engine.broker_changed("nat-a.example:8883", False, T0 + timedelta(seconds=5)) == []
    with pytest.raises(StillFailing, match="broker nat-a.example:8883 is still unreachable"):
        engine.resolve(fault.id, "somchai", RepairNote("restarted it"), T0 + timedelta(seconds=6))
    [closed] = engine.broker_changed("nat-a.example:8883", True, T0 + timedelta(seconds=60))
    assert closed.action is FaultAction.RESOLVED and closed.fault.duration_s == 60
    assert engine.broker_changed("nat-a.example:8883", True, T0 + timedelta(seconds=61)) == []
    assert engine.active() == []


def test_the_alert_names_the_broker_never_a_credential_and_passes_the_wire_model() -> None:
    engine = FaultEngine()
    [opened] = engine.broker_changed("nat-a.example:8883", False, T0)
    alert = build_alert(opened.fault, AlertAction.OPENED, T0, CodesDirectory().place(opened.fault), "https://x/", {})
    wire = encode(alert)
    assert decode(Alert, wire, now=T0) == alert
    assert alert.province == "00" and alert.fault_kind == "broker" and alert.extra == {"broker": "nat-a.example:8883"}
    assert "National broker down: broker nat-a.example:8883" in alert.text_en
    assert "cannot reach the broker" in alert.text_en and "nat-a.example:8883" in alert.text_th
    assert PASSWORD.encode() not in wire


def test_only_national_callers_see_a_broker_fault_out_of_scope_is_404(tmp_path: Path) -> None:
    clock = SimClock()
    svc = service(tmp_path, clock)
    svc.feed([cam(clock.now, "bkk-1", CameraState.DOWN, Reason.FROZEN, site="s1", district="1001")], clock.now)
    [opened] = svc.broker("nat-a.example:8883", False, clock.now)
    fid = opened.fault.id
    with TestClient(header_app(tmp_path / "camwatch.db", fault_service=svc)) as client:
        national = client.get("/api/v1/faults?kind=broker", headers=who("viewer")).json()
        assert [(f["id"], f["province"], f["broker"]) for f in national] == [(fid, "00", "nat-a.example:8883")]
        mine = client.get("/api/v1/faults", headers=who("technician", "10")).json()
        assert [f["kind"] for f in mine] == ["camera"]
        assert client.get(f"/api/v1/faults/{fid}", headers=who("technician", "10")).status_code == 404
        assert client.post(f"/api/v1/faults/{fid}/acknowledge", headers=who("technician", "10")).status_code == 404
        assert client.get(f"/api/v1/faults/{fid}", headers=who("viewer")).json()["broker"] == "nat-a.example:8883"
        clock.advance(30)
        svc.broker("nat-a.example:8883", True, clock.now)
        assert client.get(f"/api/v1/faults/{fid}", headers=who("admin")).json()["status"] == "resolved"
