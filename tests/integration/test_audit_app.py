"""The audit inside the real aggregator: API mounted by create_app with bearer tokens and
read-only readers, and the camwatch-aggregator CLI subcommands as an operator runs them (issue 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.state import Inbound, StateStore
from protocol import Birth, BirthCamera, CameraInventory, CameraState, Kind, SiteInfo, SiteTopic
from tests.clock import PINNED

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py

PEPPER = "test-pepper-0123456789"
T0 = PINNED - timedelta(days=1)
HERE = (18.7877, 98.9931)
REGISTER = (
    "รหัสกล้อง,จังหวัด,อำเภอ,สถานที่ติดตั้ง,Latitude,Longitude,Serial,สถานะ\n"
    f"D1,เชียงใหม่,เมือง,ประตูท่าแพ,{HERE[0]},{HERE[1]},S1,ใช้งานได้\n"
    "D2,เชียงใหม่,เมือง,ดอยสุเทพ,18.805,98.9215,S2,ใช้งานได้\n"
    f"B1,กรุงเทพมหานคร,บางรัก,สีลม,13.7286,100.534,B1,ใช้งานได้\n"
    "X1,เชียงใหม่,เมือง,,18.8,98.9,S9,ใช้งานได้\n"
)


def fleet(path: Path) -> tuple[dict[str, str], AggregatorSettings]:
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, start=T0)
    cams = [BirthCamera(camera_id="c1", state=CameraState.UP, since=T0,
                        inventory=CameraInventory(serial="S1", maker="Axis", model="P1375",
                                                  firmware="9.80", default_password=True)),
            BirthCamera(camera_id="c9", state=CameraState.DOWN, since=T0,
                        inventory=CameraInventory(serial="S77", maker="Axis", model="P1375",
                                                  firmware="10.2"))]
    store.apply([Inbound(SiteTopic("50", "5001", "cm-01", Kind.BIRTH),
                         Birth(site="cm-01", ts=T0, bd_seq=0, cameras=cams,
                               site_info=SiteInfo(lat=HERE[0], lon=HERE[1])), T0)])
    tokens = {name: create_token(db, name, role, provinces, pepper=PEPPER, geography=geo)[1]
              for name, role, provinces in (("admin", "admin", []), ("viewer", "viewer", []),
                                            ("bkk", "viewer", ["10"]), ("cm", "admin", ["50"]))}
    db.close()
    return tokens, AggregatorSettings(db_path=path, token_pepper=PEPPER)  # type: ignore[arg-type]


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens, settings = fleet(tmp_path / "agg.db")
    db = open_db(settings.db_path)
    app = create_app(settings, load_geography(db))
    with TestClient(app) as client:
        yield client, tokens
    db.close()


def auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_audit_through_the_real_app(app_client: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_client
    files = {"file": ("register.csv", REGISTER.encode(), "text/csv")}
    assert client.post("/api/v1/audit/register", files=files).status_code == 401
    assert client.post("/api/v1/audit/register", files=files,
                       headers=auth(tokens, "viewer")).status_code == 403
    # The app hands routes read-only readers; the audit still writes its import.
    response = client.post("/api/v1/audit/register", files=files, headers=auth(tokens, "admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["inserted"], body["rejected"]) == (3, 1)
    (rejection,) = body["rejections"]
    assert (rejection["line"], rejection["reasons"]) == (5, ["location is empty"])
    assert rejection["values"]["สถานที่ติดตั้ง"] == "" and rejection["values"]["Serial"] == "S9"
    run = client.post("/api/v1/audit/reconcile", json={}, headers=auth(tokens, "admin"))
    assert run.json()["counts"] == {"verified": 1, "ghost": 2, "unregistered": 1}
    put = client.put("/api/v1/audit/overrides", headers=auth(tokens, "cm"),
                     json={"declared_key": "50|id|D2", "discovered_key": "cm-01/c9", "action": "match"})
    assert put.status_code == 200, put.text
    client.post("/api/v1/audit/reconcile", json={"province": "50"}, headers=auth(tokens, "cm"))
    summary = client.get("/api/v1/audit/summary", headers=auth(tokens, "viewer")).json()
    assert summary == {"10": {"ghost": 1}, "50": {"moved": 1, "verified": 1}}
    assert client.get("/api/v1/audit/summary", headers=auth(tokens, "bkk")).json() == {"10": {"ghost": 1}}
    hygiene = client.get("/api/v1/audit/hygiene", headers=auth(tokens, "viewer")).json()
    assert hygiene["cameras"][0]["flags"] == ["default_password", "old_firmware"]


def test_cli_subcommands(tmp_path: Path) -> None:
    _, settings = fleet(tmp_path / "agg.db")
    env = {**os.environ, "CAMWATCH_DB_PATH": str(settings.db_path)}
    cli = [sys.executable, "-m", "aggregator"]
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[2], check=False)

    done = run("import-register", str(register), "--json")
    assert done.returncode == 1, done.stderr  # one row refused: the register was only partly taken
    assert json.loads(done.stdout)["inserted"] == 3
    done = run("reconcile")
    assert done.returncode == 0 and "verified: 1" in done.stdout and "ghost: 2" in done.stdout
    done = run("reconcile", "--province", "50", "--json")
    matches = json.loads(done.stdout)["matches"]
    assert done.returncode == 0 and {m["class"] for m in matches} == {"verified", "ghost", "unregistered"}
    assert all(m["province"] == "50" for m in matches) and len(matches) == 3
    risk = tmp_path / "risk.csv"
    risk.write_text(f"ชื่อ,ประเภท,ละติจูด,ลองจิจูด,รัศมี,จังหวัด\nGate,อุบัติเหตุ,{HERE[0]},{HERE[1]},30,50\n",
                    encoding="cp874", errors="strict")
    done = run("import-risk-points", str(risk))
    assert done.returncode == 0 and "1 new" in done.stdout, done.stdout + done.stderr
    bad = tmp_path / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    done = run("import-register", str(bad))
    assert done.returncode == 2 and "binary content" in done.stdout
