"""The audit on cameras reported over the wire: agent outbox + publisher -> real Mosquitto ->
ingest -> StateStore -> register reconciliation and hygiene (issue 8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aggregator.audit.hygiene import Flag, hygiene_flags, load_fleet
from aggregator.audit.register import import_register
from aggregator.audit.store import run_reconcile
from aggregator.schema import open_db
from protocol import CameraInventory, CameraState, Reason
from tests.clock import current
from tests.rig.transport import Agent, Change, start_ingest, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def _state(db_path: Path, camera_id: str) -> int | None:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT state FROM cameras WHERE camera_id = ?", (camera_id,)).fetchone()
    return None if row is None else int(row[0])


def _classes(db_path: Path) -> dict[str, str]:
    with sqlite3.connect(db_path) as conn:
        return {(d or s): k for k, d, s in conn.execute(
            "SELECT klass, declared_key, discovered_key FROM audit_matches")}


def test_register_reconciled_against_cameras_reported_over_mqtt(tmp_path: Path, mosquitto: Any) -> None:
    db_path = tmp_path / "centre.db"
    ingest = start_ingest(db_path, mosquitto, ["bkk-01"])
    agent = Agent(tmp_path, mosquitto, "bkk-01", cameras=3)
    for i, cam in enumerate(agent.camera_ids):
        agent.states[cam] = agent.states[cam].model_copy(update={"inventory": CameraInventory(
            maker="Hikvision", model="DS-2CD2143", firmware=f"V5.{5 + i}.0", serial=f"HK{i}",
            default_password=(i == 0))})
    agent.start()
    try:
        wait_until(lambda: all(_state(db_path, c) is not None for c in agent.camera_ids),
                   what="the birth stored every camera")
        register = tmp_path / "bangkok.csv"
        register.write_text(
            "รหัสกล้อง,จังหวัด,เขต,สถานที่ติดตั้ง,ละติจูด,ลองจิจูด,หมายเลขเครื่อง,สถานะ\n"
            "P1,กรุงเทพมหานคร,พระนคร,สนามหลวง,13.7550,100.4930,HK0,ใช้งานได้\n"
            "P2,กรุงเทพมหานคร,พระนคร,ท่าช้าง,13.7520,100.4900,hk1,ใช้งานได้\n"
            "P3,กรุงเทพมหานคร,พระนคร,ท่าเตียน,13.7460,100.4920,HK9,ชำรุด\n", encoding="utf-8")
        db = open_db(db_path)
        assert import_register(db, register).inserted == 3
        run_reconcile(db)
        assert _classes(db_path) == {"10|id|P1": "verified", "10|id|P2": "verified",
                                     "10|id|P3": "ghost", "bkk-01/bkk-01-cam2": "unregistered"}
        # The agent sees camera 1 go down: the next reconciliation says so.
        agent.record(Change("bkk-01-cam1", CameraState.DOWN, Reason.UNREACHABLE, current()))
        wait_until(lambda: _state(db_path, "bkk-01-cam1") == 2, what="the event stored")
        run_reconcile(db)
        assert _classes(db_path)["10|id|P2"] == "declared_but_broken"
        flags = {f.key: f.flags for f in hygiene_flags(load_fleet(db))}
        assert flags == {"bkk-01/bkk-01-cam0": (Flag.DEFAULT_PASSWORD, Flag.OLD_FIRMWARE),
                         "bkk-01/bkk-01-cam1": (Flag.OLD_FIRMWARE,)}
        db.close()
    finally:
        agent.stop()
        ingest.stop()
