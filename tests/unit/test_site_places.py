"""Sites are places (issue 15): the admin edit of a site's place, "enrolled, never connected",
and the "site never came online" fault after ``notify.never_online_after_s``.

Routes run on the real app with the caller read from headers (tests/rig/callers.py); the fault
worker is driven by a simulated clock (tests/rig/faults.py), as the other fault tests are.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.days import to_ms
from aggregator.faults.model import FaultKind, FaultStatus
from aggregator.faults.service import FaultService
from aggregator.notify.settings import NotifySettings
from aggregator.schema import open_db
from aggregator.store import registry
from aggregator.store.places import Place, set_place
from protocol import CameraState, Reason
from tests.rig.callers import header_app, who
from tests.rig.faults import T0, SimClock, service, site

DAY_S = 86400.0
# Wat Phra Kaew, Bangkok (province 10) and Tha Phae Gate, Chiang Mai (province 50).
BANGKOK = (13.7516, 100.4927)
CHIANG_MAI = (18.7877, 98.9933)


def _enrol(db_path: Path, site_id: str, province: str, district: str, *, at_ms: int, place: Place | None = None) -> None:
    db = open_db(db_path)
    with db.conn:
        registry.insert_site(db, site_id, province, district, now_ms=at_ms, seen=False)
        if place is not None:
            set_place(db, site_id, place, by="enrol-site", at_ms=at_ms)
    db.close()


@pytest.fixture
def svc(tmp_path: Path) -> FaultService:
    clock = SimClock()
    s = service(tmp_path, clock, settings=NotifySettings(never_online_after_s=DAY_S))
    _enrol(tmp_path / "camwatch.db", "bkk-new", "10", "1001", at_ms=to_ms(T0),
           place=Place(name="Sanam Luang", agency="BMA", lat=BANGKOK[0], lon=BANGKOK[1]))
    _enrol(tmp_path / "camwatch.db", "cm-new", "50", "5001", at_ms=to_ms(T0 + timedelta(hours=12)))
    return s


@pytest.fixture
def client(svc: FaultService, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(header_app(tmp_path / "camwatch.db", fault_service=svc, clock=svc.clock)) as client:
        yield client


def test_a_site_never_connected_opens_its_fault_after_the_configured_time(svc: FaultService, client: TestClient) -> None:
    clock = svc.clock
    assert isinstance(clock, SimClock)
    clock.advance(DAY_S - 60)
    assert svc.step(clock.now) == []  # 23 h 59 min: not yet
    clock.advance(120)
    opened = svc.step(clock.now)
    assert [(c.fault.site, c.fault.kind, c.fault.reason) for c in opened] == [
        ("bkk-new", FaultKind.SITE, Reason.NEVER_CONNECTED)
    ]
    clock.advance(DAY_S)
    later = svc.step(clock.now)  # the other site is due now; the first is not opened twice
    assert [c.fault.site for c in later] == ["cm-new"]
    clock.advance(DAY_S)
    assert [c.action for c in svc.step(clock.now) if c.action.value in ("opened", "reopened")] == []

    faults = client.get("/api/v1/faults?kind=site", headers=who("viewer")).json()
    assert {(f["site"], f["reason"], f["status"]) for f in faults} == {
        ("bkk-new", "never_connected", "open"), ("cm-new", "never_connected", "open")}
    listed = client.get("/api/v1/sites?never_connected=true", headers=who("viewer")).json()
    assert listed["total"] == 2
    one = listed["items"][0]
    assert (one["site_id"], one["never_connected"], one["last_seen"], one["first_seen"]) == ("bkk-new", True, None, None)
    assert one["enrolled"] is not None
    assert client.get("/api/v1/sites?never_connected=false", headers=who("viewer")).json()["total"] == 0
    assert client.get("/api/v1/nation", headers=who("viewer")).json()["sites_never_connected"] == 2

    # a resolve by hand is refused while the site is still not there; its first message resolves it
    fault_id = next(f["id"] for f in faults if f["site"] == "bkk-new")
    assert svc.engine.still_failing(svc.engine.get(fault_id)) != ""  # type: ignore[arg-type]
    back = svc.feed([site(clock.now, CameraState.UP, name="bkk-new", district="1001")], clock.now)
    assert [(c.fault.id, c.fault.status) for c in back] == [(fault_id, FaultStatus.RESOLVED)]


def test_the_setting_zero_turns_the_watch_off(tmp_path: Path) -> None:
    clock = SimClock()
    svc = service(tmp_path, clock, settings=NotifySettings(never_online_after_s=0))
    _enrol(tmp_path / "camwatch.db", "bkk-new", "10", "1001", at_ms=to_ms(T0))
    clock.advance(30 * DAY_S)
    assert svc.step(clock.now) == []


def test_patch_sets_the_place_for_an_admin_in_scope(client: TestClient) -> None:
    body = {"name": "Sanam Luang north", "agency": "BMA Traffic", "address": "Na Phra Lan Rd, Phra Nakhon",
            "lat": 13.7563, "lon": 100.4920, "phone": "+66 2 123 4567"}
    done = client.patch("/api/v1/sites/bkk-new", json=body, headers=who("admin", "10", name="admin-bkk"))
    assert done.status_code == 200, done.text
    got = client.get("/api/v1/sites/bkk-new", headers=who("viewer")).json()
    assert {k: got[k] for k in body} == body
    assert got["place_by"] == "admin-bkk" and got["place_at"] is not None


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_patch_needs_an_admin_before_the_body_is_read(client: TestClient, role: str) -> None:
    assert client.patch("/api/v1/sites/bkk-new", content=b"{not json", headers=who(role)).status_code == 403


def test_patch_outside_the_scope_or_unknown_is_404(client: TestClient) -> None:
    assert client.patch("/api/v1/sites/bkk-new", json={"name": "x"}, headers=who("admin", "50")).status_code == 404
    assert client.patch("/api/v1/sites/nowhere", json={"name": "x"}, headers=who("admin")).status_code == 404
    assert client.get("/api/v1/sites/bkk-new", headers=who("viewer")).json()["name"] == "Sanam Luang"


@pytest.mark.parametrize(("body", "says"), [
    ({"lat": 13.75}, "both latitude and longitude"),
    ({"lat": CHIANG_MAI[0], "lon": CHIANG_MAI[1]}, "lies in province 50"),
    ({"lat": 91.0, "lon": 100.0}, "lat"),
    ({"phone": "call me"}, "phone"),
    ({"colour": "red"}, "colour"),
])  # fmt: skip
def test_patch_refuses_a_place_that_does_not_hold(client: TestClient, body: dict[str, object], says: str) -> None:
    refused = client.patch("/api/v1/sites/bkk-new", json=body, headers=who("admin"))
    assert refused.status_code == 422 and says in refused.text
    assert client.get("/api/v1/sites/bkk-new", headers=who("viewer")).json()["lat"] == BANGKOK[0]
