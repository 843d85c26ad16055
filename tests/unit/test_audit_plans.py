"""The province's plans (issue 14), through the real app over a real fleet and fault book: the
repair plan ranked by risk with the province's fields and its progress (parts and cost of resolved
faults), its XLSX/CSV export read back with openpyxl, the installation plan's added coverage, the
linking plan's unwatched cameras, certification frozen while the register changes, and the
national completeness table."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from aggregator.auth import create_token
from aggregator.geography import load_geography
from aggregator.schema import open_db
from protocol import CameraState, Reason
from tests.clock import PINNED
from tests.rig.api_app import PEPPER, ApiRig, api_rig
from tests.rig.faults import cam

pytestmark = pytest.mark.timeout(60)

# Positions in Bangkok's Bang Rak district: cam-a (working), cam-b (down), two ghosts.
A, B, G, W = (13.7286, 100.5340), (13.7300, 100.5300), (13.7250, 100.5250), (13.7320, 100.5360)
REGISTER = ("Register ID,จังหวัด,อำเภอ,หน่วยงาน,Location,Latitude,Longitude,Serial,สถานะ\n"
            f"B-A,กรุงเทพมหานคร,บางรัก,เขตบางรัก,Silom,{A[0]},{A[1]},SN-cam-a,ใช้งานได้\n"
            f"B-B,กรุงเทพมหานคร,บางรัก,เขตบางรัก,Sala Daeng,{B[0]},{B[1]},SN-cam-b,ใช้งานได้\n"
            f"B-G,กรุงเทพมหานคร,บางรัก,ตำรวจ,Lumphini,{G[0]},{G[1]},SN-G,รอซ่อม\n"
            f"B-W,กรุงเทพมหานคร,บางรัก,,Sathorn,{W[0]},{W[1]},,ใช้งานได้\n"
            "C-X,เชียงใหม่,เมือง,เทศบาล,Tha Phae,18.7877,98.9931,SN-cam-x,ใช้งานได้\n")
RISK = ("name,kind,lat,lon,radius_m,province\n"
        f"Sala Daeng crossing,accident,{B[0]},{B[1]},100,10\n"  # only cam-b, which is down: uncovered
        f"Sala Daeng market,crime,{B[0] + 0.0005},{B[1]},100,10\n"  # holds Sala Daeng crossing's centre
        f"Silom school,other,{A[0]},{A[1]},50,10\n"  # cam-a, up: covered
        "Far field,crime,13.8000,100.6000,100,10\n")  # nothing near: uncovered


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[ApiRig, dict[str, str]]]:
    for rig in api_rig(tmp_path, PINNED):
        db = open_db(rig.db_path)
        geo = load_geography(db)
        tokens = {f"admin@{p}": create_token(db, f"officer {p}", "admin", [p], pepper=PEPPER, geography=geo)[1]
                  for p in ("10", "50")}  # fmt: skip
        db.close()
        service = rig.client.app.state.ctx.faults  # type: ignore[attr-defined]
        service.feed([cam(PINNED, "cam-b", CameraState.DOWN, Reason.UNREACHABLE, site="bkk-1", district="1001"),
                      cam(PINNED, "cam-y", CameraState.DEGRADED, Reason.NO_VIDEO, site="cm-1", district="5001")],
                     PINNED)  # fmt: skip
        for path, text in (("/api/v1/audit/register", REGISTER), ("/api/v1/audit/risk-points", RISK)):
            done = rig.client.post(path, headers=rig.auth("admin"), files={"file": ("f.csv", text.encode(), "text/csv")})
            assert done.status_code == 200 and done.json()["rejected"] == 0, done.text
        assert rig.client.post("/api/v1/audit/reconcile", headers=rig.auth("admin"), json={}).status_code == 200
        yield rig, tokens


def get(rig: ApiRig, path: str, token: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else rig.auth("viewer")
    answer = rig.client.get(path, headers=headers, params=params or None)
    assert answer.status_code == 200, answer.text
    return answer.json() if "json" in answer.headers["content-type"] else answer


def _cell(value: Any) -> str:
    """A cell as text, numbers compared as numbers (CSV writes 12500.0 where XLSX reads 12500)."""
    if value is None:
        return ""
    try:
        return repr(float(value))
    except ValueError:
        return str(value)


def fill(rig: ApiRig, token: str, code: str, **body: Any) -> Any:
    return rig.client.put(f"/api/v1/audit/plans/{code}", headers={"Authorization": f"Bearer {token}"}, json=body)


def test_repair_plan_ranked_filled_exported_and_progress(rig: tuple[ApiRig, dict[str, str]]) -> None:
    client, tokens = rig
    plan = get(client, "/api/v1/audit/plans/10/repair")
    rows = plan["rows"]
    # cam-b (down, paired with B-B) lies within both uncovered Sala Daeng points; the ghost B-G,
    # declared awaiting repair, within none. cam-b's open fault joins its declared line.
    assert [r["item"] for r in rows] == ["camera:10|id|B-B", "camera:10|id|B-G"]
    assert rows[0]["uncovered_points"] == ["Sala Daeng crossing", "Sala Daeng market"] and rows[0]["fault_id"]
    assert (rows[1]["klass"], rows[1]["register_status"], rows[1]["fault_id"]) == ("ghost", "broken", None)
    assert fill(client, tokens["admin@10"], "10", plan="repair", item="camera:10|id|B-B", action="เปลี่ยนกล้อง",
                agency="สำนักงานเขตบางรัก", target_date="2026-12-15", cost_baht=12500).status_code == 200
    # Another province's item, or the province's plan by another province's officer: 404.
    assert fill(client, tokens["admin@10"], "10", plan="repair", item="camera:50|id|C-X").status_code == 404
    assert fill(client, tokens["admin@50"], "10", plan="repair", item="camera:10|id|B-B").status_code == 404
    assert client.client.get("/api/v1/audit/plans/10/repair",
                             headers={"Authorization": f"Bearer {tokens['admin@50']}"}).status_code == 404

    # The export, read back: the same lines, the province's fields, Thai headers; CSV with a BOM.
    rows = get(client, "/api/v1/audit/plans/10/repair")["rows"]
    book = load_workbook(io.BytesIO(get(client, "/api/v1/audit/plans/10/repair/export", lang="th").content))
    sheet = [list(r) for r in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert sheet[0][:3] == ["ลำดับ", "รายการ", "ประเภท"] and len(sheet) == 1 + len(rows)
    assert [r[1] for r in sheet[1:]] == [r["item"] for r in rows]
    assert sheet[1][13:17] == ["เปลี่ยนกล้อง", "สำนักงานเขตบางรัก", "2026-12-15", 12500]
    raw = get(client, "/api/v1/audit/plans/10/repair/export", lang="th", format="csv").content
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [[_cell(v) for v in r] for r in table] == [[_cell(v) for v in r] for r in sheet]

    # Progress: cam-y's fault (Chiang Mai) is planned, then resolved with parts and cost: done, spent.
    line = get(client, "/api/v1/audit/plans/50/repair")["rows"]
    fault = next(r for r in line if r["kind"] == "fault")
    assert fill(client, tokens["admin@50"], "50", plan="repair", item=fault["item"], action="ล้างเลนส์",
                cost_baht=800).status_code == 200
    service = client.client.app.state.ctx.faults  # type: ignore[attr-defined]
    service.feed([cam(PINNED, "cam-y", CameraState.UP, site="cm-1", district="5001")], PINNED)  # it recovers
    resolved = client.client.post(f"/api/v1/faults/{fault['fault_id']}/resolve", headers=client.auth("admin"),
                                  json={"done": "lens cleaned", "parts": "lens cloth", "cost": 650})  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    after = get(client, "/api/v1/audit/plans/50/repair")
    done = next(r for r in after["rows"] if r["item"] == fault["item"])
    assert (done["status"], done["parts"], done["spent_baht"], done["entry"]["cost_baht"]) == ("done", "lens cloth", 650, 800)
    totals = after["totals"]
    assert (totals["done"], totals["planned"], totals["planned_cost_baht"], totals["spent_baht"]) == (1, 1, 800, 650)


def test_installation_linking_certification_and_national_table(rig: tuple[ApiRig, dict[str, str]]) -> None:
    client, tokens = rig
    officer = tokens["admin@10"]
    before = {r["province"]: r for r in get(client, "/api/v1/audit/completeness")}  # kept until the audit changes
    assert before["10"]["certified_by"] is None and before["10"]["plan"]["planned"] == 0
    install = get(client, "/api/v1/audit/plans/10/install")
    # Three uncovered points: a camera at the crossing also covers the market and the other way
    # round (each circle holds the other's centre), so those two come first; the covered school
    # is no proposal.
    assert (install["risk_points"], install["uncovered_now"], install["uncovered_after"]) == (4, 3, 0)
    adds = {p["point"]: p["adds"] for p in install["proposals"]}
    assert [p["point"] for p in install["proposals"]] == ["Sala Daeng crossing", "Sala Daeng market", "Far field"]
    assert adds["Sala Daeng crossing"] == ["Sala Daeng crossing", "Sala Daeng market"]
    assert adds["Far field"] == ["Far field"] and "Silom school" not in adds
    assert fill(client, officer, "10", plan="install", item=install["proposals"][0]["item"], action="กล้องทางแยก",
                agency="กทม.", cost_baht=45000, priority=1).status_code == 200
    assert get(client, "/api/v1/audit/plans/10/install")["proposals"][0]["entry"]["priority"] == 1

    link = get(client, "/api/v1/audit/plans/10/link")
    # Exactly the declared cameras no agent watches: the two ghosts, not B-A/B-B (seen) nor C-X.
    assert sorted(c["key"] for g in link["groups"] for c in g["cameras"]) == ["10|id|B-G", "10|id|B-W"]
    assert link["cameras"] == 2 and {(g["site"], g["agency"]) for g in link["groups"]} == {("", "ตำรวจ"), ("", "")}
    assert fill(client, officer, "10", plan="link", item="camera:10|id|B-W", action="ติดตั้ง gateway",
                target_date="2027-01-31").status_code == 200

    certified = client.client.post("/api/v1/audit/certifications/10", headers={"Authorization": f"Bearer {officer}"},
                                   json={"officer": "นายสมชาย ใจดี ปลัดจังหวัด"})  # fmt: skip
    assert certified.status_code == 200, certified.text
    snapshot = certified.json()["snapshot"]
    assert snapshot["completeness"]["declared"] == 4 and snapshot["classes"]["ghost"] == 2
    state = get(client, "/api/v1/audit/certifications/10")
    assert state["changed_since_certification"] is False and state["certification"]["snapshot"] == snapshot

    # An officer corrects a camera afterwards: changed since certification; the snapshot stays.
    key = quote("10|id|B-W", safe="")
    version = get(client, f"/api/v1/audit/declared/{key}")["version"]
    edited = client.client.patch(f"/api/v1/audit/declared/{key}", json={"agency": "ตำรวจ", "serial": "SN-W"},
                                 headers={"Authorization": f"Bearer {officer}", "If-Match": f'"{version}"'})  # fmt: skip
    assert edited.status_code == 200, edited.text
    state = get(client, "/api/v1/audit/certifications/10")
    assert state["changed_since_certification"] is True and state["certification"]["snapshot"] == snapshot
    assert [(c["key"], c["action"]) for c in state["changes"]] == [("10|id|B-W", "edit")]
    assert state["current"]["completeness"]["with_serial"] == 4 and snapshot["completeness"]["with_serial"] == 3

    # The committee's table: provinces ranked by completeness (both complete now), then by the
    # share an agent has seen (Chiang Mai 1/1, Bangkok 2/4), with plan progress and certification.
    table = get(client, "/api/v1/audit/completeness")
    by = {r["province"]: r for r in table}
    assert [r["province"] for r in table[:2]] == ["50", "10"] and [r["rank"] for r in table[:2]] == [1, 2]
    assert len(table) == 77 and table[2]["declared"] == 0 and table[2]["score"] is None  # who sent nothing: last
    assert (by["10"]["serial_share"], by["10"]["agency_share"], by["10"]["status_share"]) == (1.0, 1.0, 1.0)
    assert (by["10"]["seen"], by["10"]["ghosts"], by["10"]["verified"]) == (2, 2, 1)
    assert by["10"]["certified_by"] == "นายสมชาย ใจดี ปลัดจังหวัด" and by["50"]["certified_at"] is None
    assert by["10"]["plan"]["open"] == 2 and by["10"]["plan"]["planned"] == 0 and by["50"]["unregistered"] == 1
    mine = get(client, "/api/v1/audit/completeness", officer)
    assert [r["province"] for r in mine] == ["10"]


def test_rank_lines_orders_by_uncovered_points_then_importance_then_fault_age() -> None:
    from aggregator.audit.plan import PlanLine, rank_lines
    from aggregator.audit.risk import RiskPoint

    def line(item: str, lat: float, age: float | None) -> PlanLine:
        return PlanLine(item=item, kind="fault", province="10", district="1001", location=item, owner="", camera=None,
                        declared_key=None, lat=lat, lon=100.5, register_status=None, klass=None, fault_id=1,
                        fault_state="down", fault_opened_at=None, age_days=age)  # fmt: skip

    points = [RiskPoint("10|crime|gap", "gap", "crime", "10", 13.70, 100.5, 100.0),
              RiskPoint("10|crime|fine", "fine", "crime", "10", 13.80, 100.5, 100.0)]
    lines = [line("old-far", 13.90, 100.0), line("young-at-gap", 13.70, 1.0), line("mid-at-fine", 13.80, 10.0),
             line("old-at-fine", 13.80, 30.0), line("no-age-at-fine", 13.80, None)]
    ranked = rank_lines(lines, points, uncovered={"10|crime|gap"})
    assert [r.item for r in ranked] == ["young-at-gap", "old-at-fine", "mid-at-fine", "no-age-at-fine", "old-far"]
    assert (ranked[0].uncovered_points, ranked[0].importance, ranked[1].uncovered_points) == (("gap",), 1, ())


def test_the_national_table_is_kept_until_the_audit_changes_or_it_is_old(tmp_path: Path) -> None:
    from aggregator.audit.national import TableCache
    from aggregator.audit.plan_store import PlanEntry, save_entry

    db = open_db(tmp_path / "t.db")
    load_geography(db)
    cache = TableCache(max_age_ms=60_000)
    first = cache.get(db, None, 1_000_000)
    assert cache.get(db, None, 1_030_000) is first  # nothing changed, half a minute later
    assert cache.get(db, None, 1_061_000) is not first  # too old: the faults may have moved
    kept = cache.get(db, ["10"], 2_000_000)
    save_entry(db, PlanEntry(plan="link", item="camera:10|id|X", province="10", action="gateway", at="t"))
    assert cache.get(db, ["10"], 2_000_001) is not kept  # a plan line filled


def test_text_a_province_typed_is_never_a_formula_in_the_exports() -> None:
    from aggregator.audit.plan import PlanLine
    from aggregator.audit.plan_export import plan_csv, plan_xlsx

    line = PlanLine(item="fault:7", kind="fault", province="10", district="1001", location="=HYPERLINK(\"x\")",
                    owner="-", camera="s/c", declared_key=None, lat=None, lon=None, register_status=None, klass=None,
                    fault_id=7, fault_state="down", fault_opened_at=None, entry={"action": "=1+1", "cost_baht": 10.0})
    sheet = load_workbook(io.BytesIO(plan_xlsx([line]))).active
    row = list(next(sheet.iter_rows(min_row=2, max_row=2)))  # type: ignore[union-attr]
    assert [(c.value, c.data_type) for c in row[5:7]] == [('=HYPERLINK("x")', "s"), ("-", "s")]
    assert (row[13].value, row[13].data_type, row[16].value) == ("=1+1", "s", 10)
    text = plan_csv([line]).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'=1+1" in text and ",'-," in text
