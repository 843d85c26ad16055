"""Change events (issue 16): serial, firmware and reboots kept from births by the store's
flush, moves read from the timeline, the camera API, and the audit's replaced/moved classes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlite_utils import Database

from aggregator.audit.register import import_register
from aggregator.audit.store import run_reconcile
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.changes import camera_changes
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    SiteInfo,
    SiteTopic,
)
from tests.rig.callers import header_app, who

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
HERE = (18.7877, 98.9931)
TOPIC = SiteTopic("50", "5001", "cm-01", Kind.BIRTH)


def birth(at: datetime, bd: int, cams: dict[str, CameraInventory]) -> Inbound:
    cameras = [BirthCamera(camera_id=cam, state=CameraState.UP, since=T0, inventory=inv) for cam, inv in cams.items()]
    return Inbound(TOPIC, Birth(site="cm-01", ts=at, bd_seq=bd, cameras=cameras,
                                site_info=SiteInfo(lat=HERE[0], lon=HERE[1])), at)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "camwatch.sqlite3")
    yield database
    database.close()


def test_births_keep_serial_firmware_and_reboot_changes_once(db: Database) -> None:
    store = StateStore(db, load_geography(db), start=T0)
    a = CameraInventory(maker="Hikvision", model="DS-2CD2143G2-I", serial="SN-A", firmware="V5.7.3", address="10.0.0.14")
    store.apply([birth(T0, 0, {"c1": a, "c2": a.model_copy(update={"serial": "SN-X"})})])
    swapped = a.model_copy(update={"serial": "SN-B", "firmware": "V5.7.15"})
    rebooted = T0 + timedelta(minutes=30)
    t1 = T0 + timedelta(hours=1)
    store.apply([birth(t1, 1, {"c1": swapped, "c2": a.model_copy(update={"serial": "SN-X", "rebooted_at": rebooted})})])
    store.apply([birth(t1 + timedelta(hours=1), 2, {"c1": swapped, "c2": a.model_copy(
        update={"serial": "SN-X", "rebooted_at": rebooted})})])  # the same again: nothing new
    store.flush_state()
    c1, c2 = (int(db.execute("SELECT id FROM camera_inventory WHERE camera_id = ?", [c]).fetchone()[0]) for c in ("c1", "c2"))
    assert sorted((c.kind, c.before, c.after) for c in camera_changes(db, c1)) == [
        ("firmware", "V5.7.3", "V5.7.15"), ("serial", "SN-A", "SN-B")]
    assert {c.at_ms for c in camera_changes(db, c1)} == {int(t1.timestamp() * 1000)}
    assert [(c.kind, c.at_ms) for c in camera_changes(db, c2)] == [("rebooted", int(rebooted.timestamp() * 1000))]


def register_csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Register ID", "จังหวัด", "อำเภอ", "Location", "Latitude", "Longitude", "Serial", "สถานะ"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_audit_sees_replaced_and_moved_and_the_api_lists_changes(db: Database, tmp_path: Path) -> None:
    store = StateStore(db, load_geography(db), start=T0)
    inv = CameraInventory(maker="Axis", model="P1375", serial="AX-1", firmware="10.2.0", address="10.0.0.20")
    store.apply([birth(T0, 0, {"gate": inv, "road": inv.model_copy(update={"serial": "AX-7", "address": "10.0.0.21"})})])
    # The register knows these places but not their serials (the common case).
    path = tmp_path / "register.csv"
    path.write_bytes(register_csv([["G1", "เชียงใหม่", "เมือง", "Gate", HERE[0], HERE[1], "", "ใช้งานได้"],
                                   ["R1", "เชียงใหม่", "เมือง", "Road", HERE[0] + 0.0001, HERE[1], "AX-7", "ใช้งานได้"]]))
    import_register(db, path)
    t1 = T0 + timedelta(days=2)
    store.apply([birth(t1, 1, {"gate": inv.model_copy(update={"serial": "AX-2"}),
                               "road": inv.model_copy(update={"serial": "AX-7", "address": "10.0.0.21"})})])
    store.apply([Inbound(SiteTopic("50", "5001", "cm-01", Kind.EVENTS), Events(
        site="cm-01", ts=t1, seq=1, events=[Event(id=1, camera_id="road", at=t1, state=CameraState.DEGRADED,
                                                  reason=Reason.SCENE_CHANGED)]), t1)])
    store.flush_state()
    run_reconcile(db)
    classes = {k.rpartition("|")[2]: v for k, v in db.execute("SELECT declared_key, klass FROM audit_current_matches")}
    assert classes == {"G1": "replaced", "R1": "moved"}
    notes = {k.rpartition("|")[2]: v for k, v in db.execute("SELECT declared_key, note FROM audit_current_matches")}
    assert "AX-1 -> AX-2" in notes["G1"] and "scene changed" in notes["R1"]
    with TestClient(header_app(tmp_path / "camwatch.sqlite3")) as client:
        gate = client.get("/api/v1/cameras/cm-01/gate/changes", headers=who("viewer", "50")).json()
        assert [(c["kind"], c["before"], c["after"]) for c in gate] == [("serial", "AX-1", "AX-2")]
        road = client.get("/api/v1/cameras/cm-01/road/changes", headers=who("viewer")).json()
        assert [c["kind"] for c in road] == ["moved"]
        assert client.get("/api/v1/cameras/cm-01/gate/changes", headers=who("viewer", "10")).status_code == 404


def test_hygiene_flags_replaced_and_rebooting_cameras(db: Database) -> None:
    from aggregator.audit.hygiene import Flag, hygiene_flags, load_fleet, rollup

    store = StateStore(db, load_geography(db), start=T0)
    inv = CameraInventory(maker="Axis", model="P1375", serial="AX-1", firmware="10.2.0")
    store.apply([birth(T0, 0, {"swapped": inv, "flaky": inv.model_copy(update={"serial": "AX-9"})})])
    for n in range(1, 4):  # three reboots in three days, each carried by a birth
        at = T0 + timedelta(days=n)
        store.apply([birth(at, n, {"swapped": inv.model_copy(update={"serial": "AX-2"}),
                                   "flaky": inv.model_copy(update={"serial": "AX-9", "rebooted_at": at})})])
    store.flush_state()
    now_ms = int((T0 + timedelta(days=4)).timestamp() * 1000)
    fleet = load_fleet(db, now_ms=now_ms)
    flags = {f.key: f.flags for f in hygiene_flags(fleet)}
    assert flags == {"cm-01/swapped": (Flag.REPLACED,), "cm-01/flaky": (Flag.REBOOTING,)}
    assert [(p.replaced, p.rebooting) for p in rollup(fleet, hygiene_flags(fleet))] == [(1, 1)]
    # A month later both have aged out of their windows.
    later = load_fleet(db, now_ms=now_ms + 40 * 86_400_000)
    assert hygiene_flags(later) == []
