"""The audit pages as a provincial officer would use them (issue 14), in headless Chromium
against a real aggregator fed through real MQTT: drop a register with mistakes, read the
refusals in Thai with the officer's own values, import, reconcile, fix one camera in the edit
form, download the refused lines, fix and upload them again, see the reconciliation change;
an officer of another province sees none of it; two officers editing one camera: the second
gets a clear conflict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import DashboardStack, shot

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(300)]

# Cameras t-cm-1-cam0..2 of the test fleet report serials TCM1CAM0..2 (deploy/demo/fleet.py).
REGISTER = (
    "รหัสกล้อง,จังหวัด,อำเภอ,สถานที่ติดตั้ง,ละติจูด,ลองจิจูด,หมายเลขเครื่อง,สถานะ,วันที่ติดตั้ง\n"
    "CM-1,เชียงใหม่,เมือง,ประตูท่าแพ,18.7877,98.9931,TCM1CAM0,ชำรุด,1 ม.ค. 2562\n"
    "CM-2,เชียงใหม่,เมือง,คูเมือง,18.7880,98.9935,TCM1CAM1,ใช้งานได้,1 ม.ค. 2562\n"
    "CM-3,เชียงใหม่,เมือง,ประตูช้างเผือก,18.7960,98.9860,TCM1CAM2,พัง,1 ม.ค. 2562\n"
    "CM-4,กรุงเทพมหานคร,บางรัก,สีลม,13.7286,100.534,B1,ใช้งานได้,1 ม.ค. 2562\n"
    "CM-5,เชียงใหม่,เมือง,ประตูสวนดอก,north,98.9800,X5,ชำรุด,1 ม.ค. 2562\n"
)
# Chang Phueak gate is CM-3's position (radius 50 m); Warorot market has no camera near it.
RISK = ("ชื่อจุดเสี่ยง,ประเภท,ละติจูด,ลองจิจูด,รัศมี,จังหวัด\n"
        "ประตูช้างเผือก,อุบัติเหตุ,18.7960,98.9860,50,เชียงใหม่\n"
        "ตลาดวโรรส,อาชญากรรม,18.7900,99.0000,100,เชียงใหม่\n")


def drop_file(page: Any, selector: str, name: str, text: str) -> None:
    """Drop a file on an element, as dragging it from the desktop does."""
    page.evaluate("""([selector, name, text]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], name, { type: "text/csv" }));
        document.querySelector(selector).dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", [selector, name, text])  # fmt: skip


def count(page: Any, key: str) -> str:
    return str(page.inner_text(f"#register-counts tr[data-k={key}] td"))


def summary_cell(page: Any, klass: str) -> str:
    return str(page.inner_text(f"#summary-table tr[data-province='50'] td[data-class={klass}]"))


def test_provincial_officer_audits_the_register(stack: DashboardStack, open_page: Any, tmp_path: Path) -> None:
    officer = stack.aggregator.mint("admin", ["50"], name="somchai")
    page = open_page(officer, "th", "#/audit/register")
    page.wait_for_selector("#register-drop")
    drop_file(page, "#register-drop", "chiang-mai.csv", REGISTER)
    page.wait_for_selector("#register-preview #register-rejections")
    assert (count(page, "inserted"), count(page, "rejected")) == ("2", "3")
    assert stack.api("/api/v1/audit/declared", officer) == []  # a preview saves nothing
    reasons = page.inner_text("#register-rejections tr[data-line='4'] .reasons")
    assert "สถานะ 'พัง' ไม่ใช่ ใช้งานได้/ชำรุด/รอซ่อม/ไม่ทราบ" in reasons
    assert "พัง" in page.inner_text("#register-rejections tr[data-line='4'] .values")
    assert "อยู่นอกจังหวัดที่ท่านรับผิดชอบ" in page.inner_text("#register-rejections tr[data-line='5'] .reasons")
    assert "ละติจูด 'north' ไม่ใช่ตัวเลข" in page.inner_text("#register-rejections tr[data-line='6'] .reasons")
    shot(page, "audit-register-preview-th")
    page.click("#register-import")
    page.wait_for_selector("#register-done")
    page.wait_for_selector("#imports-table .download-rejected")

    # Reconcile: the register calls CM-1 broken, the agents see it working.
    page.goto(f"{stack.url}/#/audit/reconcile")
    page.click("#reconcile-run")
    page.wait_for_selector("#broken-works li")
    assert summary_cell(page, "verified") == "2" and summary_cell(page, "ghost") == "0"
    assert page.inner_text("#broken-works li").startswith("ประตูท่าแพ")
    assert page.inner_text("#summary-table th:nth-child(2)") == "ตรงกับทะเบียน"
    shot(page, "audit-reconcile-th")

    # Risk points on the province map: CM-3 (t-cm-1-cam2) was refused, so no camera stands at
    # Chang Phueak gate yet; the market has none near it at all.
    risk = upload(stack, officer, RISK, path="/api/v1/audit/risk-points")
    assert risk["inserted"] == 2, risk
    page.goto(f"{stack.url}/#/audit/risk")
    page.wait_for_selector("#risk-map g.risk")
    assert page.locator("#risk-map path.province").count() == 1  # Chiang Mai's outline, not a plain plot
    assert page.locator("#risk-table tr[data-covered=false]").count() == 2

    # Fix CM-1 in the edit form: the register's status was wrong.
    page.goto(f"{stack.url}/#/audit/declared/{quote('50|id|CM-1', safe='')}")
    page.wait_for_selector("#declared-editor #edit-status")
    page.fill("#edit-status", "ใช้งานได้")
    page.click("#editor-save")
    page.wait_for_selector("#editor-message.ok")
    page.wait_for_selector("#declared-trail tr[data-action=edit]")
    assert "somchai" in page.inner_text("#declared-trail tr[data-action=edit]")
    row = "#declared-table tr[data-key='50|id|CM-1'] .status"
    page.wait_for_selector(f"{row}:text-is('ใช้งานได้')")

    # Download the refused lines, fix them, upload them again.
    page.goto(f"{stack.url}/#/audit/register")
    with page.expect_download() as info:
        page.click("#imports-table .download-rejected")
    fixed = tmp_path / "fixed.csv"
    info.value.save_as(fixed)
    text = fixed.read_text(encoding="utf-8-sig")
    assert "CM-3" in text and "พัง" in text and "1 ม.ค. 2562" in text and "เหตุที่ไม่รับ" in text
    fixed.write_text(text.replace("พัง", "รอซ่อม").replace("north", "18.7890"), encoding="utf-8")
    page.set_input_files("#register-file", str(fixed))
    page.wait_for_selector("#register-preview")
    assert (count(page, "inserted"), count(page, "rejected")) == ("2", "1")  # the Bangkok row stays refused
    page.click("#register-import")
    page.wait_for_selector("#register-done")

    # The reconciliation changes: CM-3 now verified (and flagged), CM-5 declared but never seen.
    page.goto(f"{stack.url}/#/audit/reconcile")
    page.click("#reconcile-run")
    page.wait_for_selector("#summary-table tr[data-province='50'] td[data-class=ghost]:text-is('1')")
    assert summary_cell(page, "verified") == "3"
    flagged = page.inner_text("#broken-works")
    assert "ประตูช้างเผือก" in flagged and "ประตูท่าแพ" not in flagged
    shot(page, "audit-reconcile-after-th")

    # The risk map changes: CM-3's camera now stands at the gate (paired in place), usable.
    page.goto(f"{stack.url}/#/audit/risk")
    page.wait_for_selector("#risk-table tr[data-name='ประตูช้างเผือก'][data-covered=true]")
    assert page.get_attribute("#risk-table tbody tr:first-child", "data-name") == "ตลาดวโรรส"  # uncovered first
    assert page.locator("#risk-map g[data-name='ประตูช้างเผือก'] circle.camera.usable[data-camera='t-cm-1/t-cm-1-cam2']").count() == 1
    shot(page, "audit-risk-map-th")

    # The province's plans: CM-5 (declared broken, never seen) to repair and to link, the market
    # to cover; the officer fills the repair line, then certifies the audit.
    page.goto(f"{stack.url}/#/audit/plans/50")
    line = "#repair-table tr[data-item='camera:50|id|CM-5']"
    page.wait_for_selector(line)
    page.fill(f"{line} input[name=action]", "ส่งซ่อมและติดตั้ง gateway")
    page.fill(f"{line} input[name=cost_baht]", "15000")
    page.click(f"{line} .save-entry")
    page.wait_for_selector(f"{line} .saved.ok")
    assert "ตลาดวโรรส" in page.inner_text("#install-table tbody tr:first-child .adds")
    assert page.locator("#link-plan tr[data-key='50|id|CM-5']").count() == 1
    page.fill("#certify-officer", "นายสมชาย ใจดี ปลัดจังหวัดเชียงใหม่")
    page.click("#certify")
    page.wait_for_selector("#certification-state:text-is('ไม่มีการแก้ไขหลังการรับรอง')")
    assert page.input_value(f"{line} input[name=cost_baht]") == "15000"
    camera = stack.api(f"/api/v1/audit/declared/{quote('50|id|CM-2', safe='')}", officer)
    edit_status(stack, officer, "50|id|CM-2", camera["version"], {"agency": "เทศบาลนครเชียงใหม่"})
    page.reload()
    page.wait_for_selector("#certification-state:text-is('มีการแก้ไขหลังการรับรอง')")
    assert "นายสมชาย ใจดี" in page.inner_text("#certified-by")
    shot(page, "audit-plans-th")
    page.goto(f"{stack.url}/#/audit/completeness")
    page.wait_for_selector("#completeness-table tr[data-province='50'] td[data-k=certified]")
    assert "นายสมชาย" in page.inner_text("#completeness-table tr[data-province='50'] td[data-k=certified]")

    # An officer of another province sees none of it.
    bkk = stack.aggregator.mint("admin", ["10"], name="bkk-officer")
    other = open_page(bkk, "en", "#/audit/declared")
    other.wait_for_selector("#declared-table")
    assert other.locator("#declared-table tbody tr").count() == 0
    other.goto(f"{stack.url}/#/audit/register")
    other.wait_for_selector("#imports-table")
    assert other.locator("#imports-table tbody tr").count() == 0
    other.goto(f"{stack.url}/#/audit/reconcile")
    other.wait_for_selector("#summary-table")
    assert other.locator("#summary-table tr[data-province='50']").count() == 0
    assert stack.status(f"/api/v1/audit/declared/{quote('50|id|CM-1', safe='')}", bkk) == 404
    assert stack.status("/api/v1/audit/plans/50/repair", bkk) == 404
    other.goto(f"{stack.url}/#/audit/completeness")
    other.wait_for_selector("#completeness h1, #completeness-table, #completeness p")
    assert other.locator("#completeness-table tr[data-province='50']").count() == 0


def test_two_officers_editing_one_camera(stack: DashboardStack, open_page: Any) -> None:
    first = stack.aggregator.mint("admin", ["50"], name="somying")
    second = stack.aggregator.mint("admin", ["50"], name="somsak")
    key = "50|id|TWO-1"
    register = ("รหัสกล้อง,จังหวัด,อำเภอ,สถานที่ติดตั้ง,ละติจูด,ลองจิจูด,สถานะ\n"
                "TWO-1,เชียงใหม่,เมือง,วัดเจดีย์หลวง,18.7869,98.9867,ใช้งานได้\n")
    imported = upload(stack, first, register)
    assert imported["inserted"] == 1
    hash_ = f"#/audit/declared/{quote(key, safe='')}"
    a = open_page(first, "th", hash_)
    b = open_page(second, "th", hash_)
    for page in (a, b):
        page.wait_for_selector("#declared-editor #edit-agency")
    a.fill("#edit-agency", "เทศบาลนครเชียงใหม่")
    a.click("#editor-save")
    a.wait_for_selector("#editor-message.ok")
    b.fill("#edit-location", "วัดเจดีย์หลวงวรวิหาร")
    b.click("#editor-save")
    b.wait_for_selector("#editor-conflict:not([hidden])")
    conflict = b.inner_text("#editor-conflict")
    assert "มีผู้อื่นบันทึกกล้องนี้ก่อนท่าน" in conflict and "กล้องนี้ถูกแก้ไขโดย somying" in conflict
    shot(b, "audit-edit-conflict-th")
    stored = stack.api(f"/api/v1/audit/declared/{quote(key, safe='')}", first)
    assert (stored["location"], stored["agency"], stored["version"]) == ("วัดเจดีย์หลวง", "เทศบาลนครเชียงใหม่", 2)
    # Reload, and the second officer's change goes through on the current version.
    b.click("#editor-reload")
    b.wait_for_selector("#editor-version:has-text('2')")
    b.fill("#edit-location", "วัดเจดีย์หลวงวรวิหาร")
    b.click("#editor-save")
    b.wait_for_selector("#editor-message.ok")
    assert stack.api(f"/api/v1/audit/declared/{quote(key, safe='')}", first)["version"] == 3


def edit_status(stack: DashboardStack, token: str, key: str, version: int, changes: dict[str, str]) -> int:
    """PATCH one declared camera with its If-Match version; answer the HTTP status."""
    import urllib.request

    req = urllib.request.Request(f"{stack.url}/api/v1/audit/declared/{quote(key, safe='')}", method="PATCH",
                                 data=json.dumps(changes).encode())  # fmt: skip
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    req.add_header("If-Match", f'"{version}"')
    with urllib.request.urlopen(req, timeout=10) as res:
        return int(res.status)


def upload(stack: DashboardStack, token: str, register: str, path: str = "/api/v1/audit/register") -> Any:
    """Import a register (or risk points) through the API (multipart), as the officer's upload does."""
    import urllib.request

    boundary = "camwatch-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{register}\r\n--{boundary}--\r\n").encode()
    req = urllib.request.Request(stack.url + path, data=body, method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())
