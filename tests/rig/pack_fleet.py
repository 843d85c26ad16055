"""A small country for the committee pack: October and November 2026 of two sites, their faults,
a register with a broken and a ghost camera, and an uncovered risk point.

Built through the real writers: the StateStore for cameras, the audit's importers and
reconciliation for the register and risk points. Faults are rows of the fault book's table as
the fault service writes them (fixed-width UTC text, aggregator.timetext), since the pack only
reads them. Every figure the pack tests expect is worked out in the comments here.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from aggregator.audit.register import import_register
from aggregator.audit.risk_store import import_risk_points
from aggregator.audit.store import run_reconcile
from aggregator.days import BANGKOK
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.state import Inbound, StateStore
from aggregator.timetext import iso
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

__all__ = ["MONTH", "NOW", "PREVIOUS", "build_pack_fleet"]

T0 = datetime(2026, 10, 1, tzinfo=BANGKOK)
MONTH, PREVIOUS = "2026-11", "2026-10"
# After November ended in Bangkok: the month is whole whoever reads it later (the shipped
# command reads the real clock; the in-process API is pinned here).
NOW = datetime(2026, 12, 2, 12, tzinfo=BANGKOK)
SILOM = (13.7286, 100.534)  # site A, Bang Rak, Bangkok (10 / 1004)
THA_PHAE = (18.7877, 98.9931)  # site B, Mueang Chiang Mai (50 / 5001)


def _bkk(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BANGKOK)


def _events(store: StateStore, seq: int, at: datetime, state: CameraState) -> None:
    reason = Reason.STREAM_FAILED if state is CameraState.DOWN else Reason.NONE
    store.apply([Inbound(SiteTopic("10", "1004", "A", Kind.EVENTS), Events(site="A", ts=at, seq=seq, events=[
        Event(id=seq, camera_id="a2", at=at, state=state, reason=reason)]), at)])  # fmt: skip


# id, province, district, site, camera, opened, resolved, resolution, parts, cost, parent
_FAULTS = (
    (1, "10", "1004", "A", "a2", _bkk(10, 11), _bkk(10, 21), "technician", "", None, None),  # Oct: 240 h
    (2, "10", "1004", "A", "a2", _bkk(11, 10), _bkk(11, 12), "technician", "lens, PSU", 1500.5, None),  # 48 h
    (3, "10", "1004", "A", "a2", _bkk(11, 12), _bkk(11, 12, 6), "auto", "PSU", 500.0, None),  # 6 h
    (4, "50", "5001", "B", "b1", _bkk(10, 1), None, None, "", None, None),  # open 61 days at Dec 1
    (5, "50", "5001", "B", "b1", _bkk(11, 30, 18), None, None, "", None, None),  # open 6 h
    (6, "10", "1004", "A", "a1", _bkk(11, 25), None, None, "", None, None),  # open 6 days
    (7, "10", "1004", "A", "a1", _bkk(11, 2), _bkk(11, 3), "wont_fix", "", None, None),  # won't fix
    (8, "50", "5001", "B", "b1", _bkk(10, 1), None, None, "", None, 4),  # held under fault 4: not counted
    (9, "10", "1004", "A", "a1", _bkk(11, 15), None, None, "", None, None),  # open 16 days
)


def _register(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Register ID", "จังหวัด", "อำเภอ", "Location", "Latitude", "Longitude", "Serial", "สถานะ"])
        writer.writerows([
            ["R1", "กรุงเทพมหานคร", "บางรัก", "Silom 1", SILOM[0], SILOM[1], "SA1", "ใช้งานได้"],  # verified
            ["R2", "กรุงเทพมหานคร", "บางรัก", "Silom 2", SILOM[0], SILOM[1], "SA2", "ใช้งานได้"],  # verified
            ["R3", "เชียงใหม่", "เมือง", "Tha Phae", THA_PHAE[0], THA_PHAE[1], "SB1", "ใช้งานได้"],  # broken
            ["R4", "เชียงใหม่", "เมือง", "Doi Suthep", 18.805, 98.9215, "S9", "ชำรุด"],  # ghost
        ])  # fmt: skip
    return path


def build_pack_fleet(db_path: Path) -> Database:
    """The country above in a new database at ``db_path`` (left open for the caller).

    November, site A (Bangkok): a1 up all month, a2 down 10-14 Nov (4 days): usable and
    available 56/60; site B (Chiang Mai): b1 down all along: 0. October: a2 down 11-21 Oct:
    Bangkok 52/62. Faults open at 1 Dec 00:00 Bangkok: one under a day (5), one of 1-7 days
    (6), one of 7-30 days (9), one over 30 days (4). Resolved in November: 48 h and 6 h (MTTR
    mean and median 27 h; October 240 h), 2,000.50 baht, parts PSU twice and lens once.
    """
    db = open_db(db_path)
    store = StateStore(db, load_geography(db), start=T0)

    def cam(cid: str, state: CameraState, serial: str) -> BirthCamera:
        return BirthCamera(camera_id=cid, state=state, since=T0, inventory=CameraInventory(serial=serial),
                           reason=Reason.UNREACHABLE if state is CameraState.DOWN else Reason.NONE)  # fmt: skip

    store.apply([
        Inbound(SiteTopic("10", "1004", "A", Kind.BIRTH), Birth(site="A", ts=T0, bd_seq=0, cameras=[
            cam("a1", CameraState.UP, "SA1"), cam("a2", CameraState.UP, "SA2")],
            site_info=SiteInfo(name="Silom", lat=SILOM[0], lon=SILOM[1])), T0),
        Inbound(SiteTopic("50", "5001", "B", Kind.BIRTH), Birth(site="B", ts=T0, bd_seq=0, cameras=[
            cam("b1", CameraState.DOWN, "SB1")], site_info=SiteInfo(name="Tha Phae", lat=THA_PHAE[0],
                                                                     lon=THA_PHAE[1])), T0),
    ])  # fmt: skip
    _events(store, 1, _bkk(10, 11), CameraState.DOWN)
    _events(store, 2, _bkk(10, 21), CameraState.UP)
    _events(store, 3, _bkk(11, 10), CameraState.DOWN)
    _events(store, 4, _bkk(11, 14), CameraState.UP)
    store.roll(NOW)
    from aggregator.faults.store import migrate_faults  # the fault book's own tables

    migrate_faults(db)
    for fid, prov, district, site, camera, opened, resolved, resolution, parts, cost, parent in _FAULTS:
        db["faults"].insert({
            "id": fid, "kind": "camera", "status": "open" if resolved is None else
            ("wont_fix" if resolution == "wont_fix" else "resolved"), "province": prov, "district": district,
            "site": site, "camera_id": camera, "state": "down", "reason": "stream_failed",
            "opened_at": iso(opened), "first_opened_at": iso(opened), "resolved_at": iso(resolved),
            "resolution": resolution, "parts": parts, "cost": cost, "parent_id": parent,
        })  # fmt: skip
    import_register(db, _register(db_path.with_name("register.csv")))
    run_reconcile(db)
    risk = db_path.with_name("risk.csv")
    risk.write_text("name,kind,lat,lon,radius_m,province\n"
                    f"ประตูท่าแพ,crime,{THA_PHAE[0]},{THA_PHAE[1]},100,50\n", encoding="utf-8")  # fmt: skip
    import_risk_points(db, risk)
    assert timedelta(0) < NOW - T0
    return db
