"""Seed the demo's provincial audit: a register with typical mistakes and risk points for a few
provinces, imported through the API as a provincial officer would, then reconciled, so the
dashboard's audit pages show something on first run; the first line of each province's repair
plan is filled and Chiang Mai's audit certified.

The register lists the simulated cameras of a few provinces by the serials their births carry
(``deploy/demo/fleet.py``), a quarter declared broken although they work, two ghosts each, and
the mistakes provinces really make: a status word the import does not know, a latitude that is
no number, a district of another province, a serial declared twice.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from .fleet import SimSite

__all__ = ["SEED_PROVINCES", "register_csv", "risk_csv", "seed_audit"]

logger = logging.getLogger(__name__)

# Province -> (capital district, latitude, longitude of its centre).
SEED_PROVINCES: dict[str, tuple[str, float, float]] = {
    "10": ("1001", 13.7563, 100.5018),
    "50": ("5001", 18.7883, 98.9853),
    "40": ("4001", 16.4322, 102.8236),
}
_TIMEOUT_S = 30.0


def _serial(camera: str) -> str:
    return camera.upper().replace("-", "")


def register_csv(plan: Sequence[SimSite]) -> str:
    """The demo's register (Thai headers, Buddhist-era dates) with its deliberate mistakes."""
    lines = ["รหัสกล้อง,จังหวัด,อำเภอ,หน่วยงาน,สถานที่ติดตั้ง,ละติจูด,ลองจิจูด,หมายเลขเครื่อง,สถานะ,วันที่ติดตั้ง"]
    for province, (district, lat, lon) in SEED_PROVINCES.items():
        cameras = [c for s in plan if s.province == province for c in s.cameras]
        for i, camera in enumerate(cameras):
            status = "ชำรุด" if i % 4 == 1 else "ใช้งานได้"
            lines.append(f"{province}-{i + 1:03d},{province},{district},เทศบาล,จุดที่ {i + 1},"
                         f"{lat + i * 0.0005:.5f},{lon + i * 0.0005:.5f},{_serial(camera)},{status},1 ม.ค. 2562")
        n = len(cameras)
        lines += [
            f"{province}-{n + 1:03d},{province},{district},ตำรวจ,จุดที่ไม่มีกล้อง ก,{lat - 0.01:.5f},{lon:.5f},GHOST{province}A,ใช้งานได้,15/06/2563",
            f"{province}-{n + 2:03d},{province},{district},ตำรวจ,จุดที่ไม่มีกล้อง ข,{lat - 0.02:.5f},{lon:.5f},GHOST{province}B,รอซ่อม,15/06/2563",
            f"{province}-{n + 3:03d},{province},{district},ตำรวจ,สถานะไม่ชัด,{lat:.5f},{lon:.5f},BAD{province}1,พัง,15/06/2563",
            f"{province}-{n + 4:03d},{province},{district},ตำรวจ,พิกัดผิด,เหนือ,{lon:.5f},BAD{province}2,ใช้งานได้,15/06/2563",
            f"{province}-{n + 5:03d},{province},{'บางรัก' if province != '10' else 'เมืองเชียงใหม่'},ตำรวจ,อำเภอผิด,"
            f"{lat:.5f},{lon:.5f},BAD{province}3,ใช้งานได้,15/06/2563",
            f"{province}-{n + 6:03d},{province},{district},ตำรวจ,ซ้ำ,{lat:.5f},{lon:.5f},GHOST{province}A,ใช้งานได้,15/06/2563",
        ]
    return "\n".join(lines) + "\n"


def risk_csv() -> str:
    """Two risk points per seeded province: one among its declared cameras, one far from any."""
    lines = ["ชื่อ,ประเภท,ละติจูด,ลองจิจูด,รัศมี,จังหวัด"]
    for province, (_, lat, lon) in SEED_PROVINCES.items():
        lines.append(f"ทางแยกกลางเมือง {province},อุบัติเหตุ,{lat:.5f},{lon:.5f},300,{province}")
        lines.append(f"ตลาดชานเมือง {province},อาชญากรรม,{lat + 0.05:.5f},{lon + 0.05:.5f},200,{province}")
    return "\n".join(lines) + "\n"


def _post(url: str, token: str, path: str, *, csv_text: str | None = None, body: Any = None,
          method: str = "POST") -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if csv_text is not None:
        boundary = "camwatch-demo-seed"
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"demo.csv\"\r\n"
                f"Content-Type: text/csv\r\n\r\n{csv_text}\r\n--{boundary}--\r\n").encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    else:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url.rstrip("/") + path, data=None if method == "GET" else data, headers=headers,
                                 method=method)  # fmt: skip
    with urllib.request.urlopen(req, timeout=_TIMEOUT_S) as res:
        return json.loads(res.read())


def _cameras_seen(url: str, token: str, expected: dict[str, int]) -> bool:
    """Whether every site of ``expected`` (site id -> cameras) has reported all its cameras."""
    for site, n in expected.items():
        req = urllib.request.Request(f"{url.rstrip('/')}/api/v1/sites/{site}", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=_TIMEOUT_S) as res:
                if json.loads(res.read())["cameras"] < n:
                    return False
        except urllib.error.HTTPError:  # not born yet
            return False
    return True


def _seed_plans(url: str, token: str) -> None:
    """Fill the first line of each seeded province's repair plan, as its officer would, and
    certify Chiang Mai's audit, so the plans pages show the province's fields and a certification."""
    for province in SEED_PROVINCES:
        rows = _post(url, token, f"/api/v1/audit/plans/{province}/repair", method="GET")["rows"]
        if rows:
            _post(url, token, f"/api/v1/audit/plans/{province}", method="PUT", body={
                "plan": "repair", "item": rows[0]["item"], "action": "ส่งช่างตรวจและซ่อม", "agency": "เทศบาล",
                "target_date": "2027-01-31", "cost_baht": 12000})  # fmt: skip
    _post(url, token, "/api/v1/audit/certifications/50", body={"officer": "ปลัดจังหวัดเชียงใหม่ (demo)"})


def seed_audit(url: str, admin_token: str, plan: Sequence[SimSite], wait_s: float = 180.0) -> dict[str, Any]:
    """Import the register and the risk points, then reconcile; answer the run's counts.

    Waits (up to ``wait_s``) for every simulated site of the seeded provinces to report its
    cameras first, so the reconciliation finds them."""
    expected = {s.site_id: len(s.cameras) for s in plan if s.province in SEED_PROVINCES}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if _cameras_seen(url, admin_token, expected):
                break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    report = _post(url, admin_token, "/api/v1/audit/register", csv_text=register_csv(plan))
    risk = _post(url, admin_token, "/api/v1/audit/risk-points", csv_text=risk_csv())
    run = _post(url, admin_token, "/api/v1/audit/reconcile", body={})
    _seed_plans(url, admin_token)
    logger.info("audit seeded: register %d rows (%d refused, to show the mistakes), %d risk points, reconciled %s",
                report["rows"], report["rejected"], risk["inserted"], run["counts"])  # fmt: skip
    return dict(run)
