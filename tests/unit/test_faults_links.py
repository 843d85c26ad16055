"""Province link faults (issue 17): a bridge's ``0`` opens one ``link`` fault that holds its province."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.faults.model import FaultAction, FaultKind
from aggregator.faults.rules import FaultEngine
from aggregator.ingest.links import parse_link_state
from aggregator.store.state import Transition
from protocol import CameraState, Reason

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def cam(at: float, camera: str, new: CameraState, site: str, district: str) -> Transition:
    reason = Reason.UNREACHABLE if new is CameraState.DOWN else Reason.NONE
    return Transition(site, district[:2], district, camera, None, new, reason, t(at), False)


def gone(at: float, site: str, district: str) -> Transition:
    return Transition(site, district[:2], district, None, None, CameraState.UNKNOWN, Reason.SITE_OFFLINE, t(at), False)


def test_a_link_down_opens_one_fault_holds_its_province_and_up_resolves_it() -> None:
    engine = FaultEngine()
    [opened] = engine.link_changed("50", False, t(0))
    assert opened.action is FaultAction.OPENED and opened.fault.kind is FaultKind.LINK
    assert opened.fault.key == ("link", "50") and opened.fault.province == "50" and opened.fault.site is None
    assert engine.link_changed("50", False, t(1)) == [], "a repeated 0 changes nothing"
    # The province's silent site: a site fault held under the link fault; a camera failure: no fault.
    [site_fault] = engine.process([gone(30, "cnx-1", "5001")], t(30))
    assert site_fault.fault.kind is FaultKind.SITE and site_fault.fault.parent_id == opened.fault.id
    assert engine.process([cam(31, "c9", CameraState.DOWN, "cnx-2", "5002")], t(31)) == []
    # Another province is not held.
    [other] = engine.process([cam(32, "c1", CameraState.DOWN, "bkk-1", "1001")], t(32))
    assert other.fault.kind is FaultKind.CAMERA
    changes = engine.link_changed("50", True, t(60))
    assert [(c.action, c.fault.kind) for c in changes] == [
        (FaultAction.RESOLVED, FaultKind.LINK), (FaultAction.RELEASED, FaultKind.SITE)]
    assert engine.link_changed("50", True, t(61)) == []
    assert {f.kind for f in engine.active()} == {FaultKind.SITE, FaultKind.CAMERA}


def test_bridge_notifications_are_parsed_and_others_ignored() -> None:
    assert parse_link_state("$SYS/broker/connection/bridge-50/state", b"0") == ("50", False)
    assert parse_link_state("$SYS/broker/connection/bridge-10/state", b"1") == ("10", True)
    assert parse_link_state("$SYS/broker/connection/other/state", b"1") is None
    assert parse_link_state("$SYS/broker/connection/bridge-50/state", b"x") is None
