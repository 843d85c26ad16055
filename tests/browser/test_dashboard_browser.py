"""The dashboard in headless Chromium against a real aggregator fed through real MQTT.

Covers: the nation page shows the API's numbers; drill-down province -> district -> site ->
camera; a state change published over MQTT appears on an open page without reload (and a
lost feed is announced); a technician acknowledges and resolves a fault while a viewer gets
no buttons and the API refuses; Thai text renders with real glyphs; the token stays out of
URLs and logs. Screenshots of the main pages land in artifacts/browser/.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from aggregator.days import to_ms
from aggregator.thaidate import month_text
from protocol import CameraState, Reason
from tests.browser.conftest import CAMERAS, DashboardStack, shot

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def test_nation_page_shows_the_apis_numbers(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "en")
    page.wait_for_selector("#province-table tbody tr")
    nation = stack.api("/api/v1/nation")
    assert page.inner_text("#fig-cameras .value") == f"{CAMERAS:,}" == f"{nation['cameras']:,}"
    states = nation["states"]
    known = states["up"] + states["degraded"] + states["down"]
    assert page.inner_text("#fig-available-now .value") == _pct((states["up"] + states["degraded"]) / known)
    assert page.inner_text("#fig-usable-now .value") == _pct(states["up"] / known)
    for state, n in states.items():
        assert page.inner_text(f"#state-counts tr[data-state={state}] td.num") == f"{n:,}"
    # every province of the API is a table row with the API's camera count, and a map shape
    provinces = stack.api("/api/v1/provinces")
    assert len(provinces) == 77
    assert page.locator("#province-table tbody tr").count() == 77
    assert page.locator("#province-map path").count() == 77
    bkk = next(p for p in provinces if p["code"] == "10")
    assert page.inner_text("#province-table tr[data-code='10'] td:nth-child(3)") == str(bkk["cameras"])
    assert page.get_attribute("#province-map path[data-code='10']", "data-available") != ""
    assert page.get_attribute("#province-map path[data-code='20']", "data-available") == ""  # no cameras there
    w24 = stack.api("/api/v1/availability?level=nation&window=last_24h")
    assert w24["available"] is not None
    assert float(page.get_attribute("#fig-24h", "data-available")) == pytest.approx(w24["available"])
    assert page.inner_text("#fig-24h .value").startswith(_pct(w24["available"]))
    assert page.inner_text("#asof").strip() != ""
    shot(page, "nation-en")


def test_drill_down_reaches_a_camera(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "en")
    page.click("#province-table tr[data-code='10'] a")
    page.wait_for_selector("#districts-table tbody tr a")
    shot(page, "province-10")
    page.click("#districts-table a[href='#/district/1001']")
    page.wait_for_selector("#sites-table a[href='#/site/t-bkk-1']")
    shot(page, "district-1001")
    page.click("#sites-table a[href='#/site/t-bkk-1']")
    page.wait_for_selector("#cameras-table tbody tr a")
    assert page.locator("#cameras-table tbody tr").count() == 4
    shot(page, "site-t-bkk-1")
    page.click("#cameras-table a[href='#/camera/t-bkk-1/t-bkk-1-cam2']")
    page.wait_for_selector("#inventory")
    assert "t-bkk-1-cam2" in page.inner_text("#inventory")
    assert page.get_attribute("#camera-state", "data-state") == "up"
    assert page.locator("#day-bars .bar").count() == 30
    assert page.inner_text("#camera-changes") == "No change seen."  # issue 16: its change events
    assert re.search(r"#/camera/t-bkk-1/t-bkk-1-cam2$", page.url)
    shot(page, "camera-t-bkk-1-cam2")


def test_state_change_over_mqtt_appears_without_reload(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "en", "#/camera/t-bkk-2/t-bkk-2-cam1")
    page.wait_for_selector("#camera-state[data-state='up']")
    page.wait_for_selector("#feed-status[data-state='live']")
    page.evaluate("window.__marker = 'same page'")
    stack.sites["t-bkk-2"].set("t-bkk-2-cam1", CameraState.DOWN, Reason.STREAM_FAILED)
    page.wait_for_selector("#camera-state[data-state='down']")
    assert page.get_attribute("#camera-reason", "data-reason") == "stream_failed"
    assert "stream failed" in page.inner_text("#camera-state")  # the reason in words
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    shot(page, "camera-live-down")
    stack.sites["t-bkk-2"].set("t-bkk-2-cam1", CameraState.UP, Reason.NONE)
    page.wait_for_selector("#camera-state[data-state='up']")


def _open_fault(stack: DashboardStack, site: str, cam: str) -> dict[str, Any]:
    stack.sites[site].set(cam, CameraState.DOWN, Reason.UNREACHABLE)
    found: dict[str, Any] = {}

    def has_fault() -> bool:
        rows = stack.api(f"/api/v1/faults?active=true&site={site}&camera_id={cam}")
        if rows:
            found.update(rows[0])
        return bool(rows)

    stack.wait_api(has_fault, f"a fault on {site}/{cam}")
    return found


def test_technician_acknowledges_and_viewer_cannot(stack: DashboardStack, open_page: Any) -> None:
    fault = _open_fault(stack, "t-cm-1", "t-cm-1-cam0")
    viewer = open_page(stack.aggregator.viewer_token, "en", "#/faults")
    viewer.wait_for_selector("#fault-table tbody tr:has-text('t-cm-1-cam0')")
    assert viewer.locator("#fault-table button.ack").count() == 0
    assert viewer.locator("#viewer-note").is_visible()
    shot(viewer, "faults-viewer")
    # the API refuses a viewer whatever the page shows
    assert stack.status(f"/api/v1/faults/{fault['id']}/acknowledge", stack.aggregator.viewer_token, "POST", {}) == 403

    tech = open_page(stack.aggregator.technician_token, "th", "#/faults")
    row = tech.locator("#fault-table tbody tr", has_text="t-cm-1-cam0")
    row.locator("button.ack").click()
    tech.wait_for_selector(f"#fault-message:has-text('#{fault['id']}')")
    stack.wait_api(lambda: stack.api(f"/api/v1/faults/{fault['id']}")["status"] == "acknowledged", "acknowledged")
    # The page redraws the queue after the action: write the note only into the redrawn row
    # (an acknowledged fault has no acknowledge button), or the redraw drops what was typed.
    tech.wait_for_selector("#fault-table tbody tr:has-text('t-cm-1-cam0') button.ack", state="detached")
    shot(tech, "faults-technician-th")
    row = tech.locator("#fault-table tbody tr", has_text="t-cm-1-cam0")
    row.locator("textarea.fault-note").fill("เปลี่ยนสาย LAN แล้ว")
    # A redraw while the note is being written (here: sorting by number) keeps what was typed.
    row.locator("textarea.fault-note").evaluate("el => { el.dataset.drawn = 'before'; }")
    tech.locator("#fault-table th[data-sort='id']").click()
    tech.wait_for_selector("#fault-table tbody tr:has-text('t-cm-1-cam0') textarea.fault-note:not([data-drawn])")
    assert row.locator("textarea.fault-note").input_value() == "เปลี่ยนสาย LAN แล้ว"
    # the camera is still down: resolving is refused, and the page says why in Thai
    row.locator("button.resolve").click()
    tech.wait_for_selector("#fault-message.error:has-text('ยังปิดงานไม่ได้')")
    assert "camera t-cm-1-cam0 is still down" in tech.inner_text("#fault-message")
    assert stack.api(f"/api/v1/faults/{fault['id']}")["status"] == "acknowledged"
    shot(tech, "faults-resolve-refused-th")
    row = tech.locator("#fault-table tbody tr", has_text="t-cm-1-cam0")
    row.locator("textarea.fault-note").fill("เปลี่ยนสาย LAN แล้ว")
    row.locator("button.wontfix").click()
    stack.wait_api(lambda: stack.api(f"/api/v1/faults/{fault['id']}")["status"] == "wont_fix", "closed as won't fix")
    detail = stack.api(f"/api/v1/faults/{fault['id']}")
    assert detail["note"] == "เปลี่ยนสาย LAN แล้ว" or "เปลี่ยนสาย LAN แล้ว" in str(detail["history"])
    stack.sites["t-cm-1"].set("t-cm-1-cam0", CameraState.UP, Reason.NONE)


def test_thai_text_renders_with_real_glyphs(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "th")
    page.wait_for_selector("#province-table tbody tr")
    assert page.inner_text("#nation-figures h1") == "ประเทศไทย"
    assert page.inner_text("#province-table tr[data-code='10'] a") == "กรุงเทพมหานคร"
    # Two different Thai words of equal length: with a Thai font they draw differently; as
    # missing-glyph boxes ("tofu") they would be identical pictures.
    page.evaluate("""() => {
        for (const [id, text] of [["g1", "กขคงจฉ"], ["g2", "ฉจงคขก"]]) {
            const s = document.createElement("span"); s.id = id; s.textContent = text;
            s.style.cssText = "font-size:40px;position:fixed;left:0;top:" + (id === "g1" ? 0 : 60) + "px;background:#fff";
            document.body.append(s);
        }
    }""")
    a, b = page.locator("#g1").screenshot(), page.locator("#g2").screenshot()
    assert a != b
    page.evaluate("() => { document.getElementById('g1').remove(); document.getElementById('g2').remove(); }")
    shot(page, "nation-th")
    page.click("#lang")  # switch to English without reloading
    page.wait_for_selector("#nation-figures h1:has-text('Thailand')")
    assert page.inner_text("#province-table tr[data-code='10'] a") == "Bangkok"


def test_lost_feed_is_announced(stack: DashboardStack, browser: Any) -> None:
    ctx = browser.new_context()
    try:
        ctx.add_init_script("localStorage.setItem('camwatch.lang', 'en');")
        ctx.route("**/api/v1/feed", lambda route: route.abort())
        page = ctx.new_page()
        page.goto(f"{stack.url}/")
        page.fill("#token", stack.aggregator.viewer_token)
        page.click("#signin button[type=submit]")
        page.wait_for_selector("#feed-lost:visible")
        assert page.get_attribute("#feed-status", "data-state") == "lost"
        assert "feed lost" in page.inner_text("#feed-lost").lower()
        shot(page, "feed-lost")
    finally:
        ctx.close()


def test_token_stays_out_of_urls_and_logs(stack: DashboardStack, open_page: Any) -> None:
    token = stack.aggregator.admin_token
    page = open_page(token, "en")
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(page.url.split("#")[0] + "#/province/50")
    page.wait_for_selector("#districts-table tbody tr")
    assert seen and all(token not in u for u in seen)
    assert token not in page.url
    assert page.evaluate("sessionStorage.getItem('camwatch.token')") == token  # this tab only
    assert page.evaluate("localStorage.getItem('camwatch.token')") is None
    assert token not in (stack.workdir / "aggregator.log").read_text(errors="replace")


def test_committee_report_page_and_printable_view(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "th", "#/reports")
    page.wait_for_selector("#report-table tbody tr")
    assert page.locator("#report-table tbody tr").count() == 78  # 77 provinces and the total
    assert page.inner_text("#report-table thead th:nth-child(4)") == "พร้อมใช้งาน"
    bkk = page.locator("#report-table tbody tr", has_text="กรุงเทพมหานคร")
    assert bkk.locator("td").nth(2).inner_text() == "7"  # Bangkok's cameras in the test fleet
    shot(page, "report-th")
    with page.context.expect_page() as printable:
        page.click("text=หน้าพิมพ์")
    view = printable.value
    view.wait_for_selector("#areas tbody tr")
    assert view.url.startswith("blob:") and stack.aggregator.admin_token not in view.url
    assert "กรุงเทพมหานคร" in view.inner_text("#areas")
    shot(view, "report-printable-th")
    # the committee pack (issue 14): printable with its charts, Thai month and Buddhist year; and its PDF
    month = page.input_value("#report-month")
    with page.context.expect_page() as pack:
        page.click("#report-pack")
    view = pack.value
    view.wait_for_selector("#sec-ranking svg.chart")
    assert month_text(month, "th") in view.inner_text("#pack-title") and "declared_but_broken" not in view.content()
    with page.expect_download() as got:
        page.click("#report-pack-pdf")
    assert got.value.suggested_filename == f"camwatch-pack-{month}-th.pdf"
    assert Path(got.value.path()).read_bytes().startswith(b"%PDF-")


def test_nation_map_and_table_follow_the_feed(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "en")
    cell = "#province-table tr[data-code='50'] td:nth-child(4)"
    page.wait_for_selector(f"{cell}:has-text('100.0%')")
    page.wait_for_selector("#feed-status[data-state='live']")
    page.evaluate("window.__marker = 'same page'")
    stack.sites["t-cm-1"].set("t-cm-1-cam2", CameraState.DOWN, Reason.UNREACHABLE)
    page.wait_for_selector(f"{cell}:has-text('66.7%')")  # 2 of Chiang Mai's 3 cameras
    assert page.get_attribute("#province-map path[data-code='50']", "data-available") == str(2 / 3)
    assert page.evaluate("window.__marker") == "same page"
    stack.sites["t-cm-1"].set("t-cm-1-cam2", CameraState.UP, Reason.NONE)
    page.wait_for_selector(f"{cell}:has-text('100.0%')")


def test_province_scoped_viewer_starts_at_its_province(stack: DashboardStack, open_page: Any) -> None:
    token = stack.aggregator.mint("viewer", ["50"])
    page = open_page(token, "en")
    page.wait_for_selector("#districts-table tbody tr")
    assert page.url.endswith("#/province/50")
    assert page.inner_text("#area-figures h1") == "Province Chiang Mai"
    assert not page.is_visible("#nav a[href='#/nation']")
    assert stack.status("/api/v1/nation", token) == 403  # the API refuses the national view anyway
    assert stack.status("/api/v1/provinces/10", token) == 404


def test_recording_column_and_camera_recording_line(stack: DashboardStack, open_page: Any) -> None:
    """Issue 16: a site's heartbeat recording figures show as the cameras list's recording column
    and the camera page's recording line; a live-but-not-recording camera is degraded."""
    from datetime import timedelta

    from protocol import CameraRecording, RecorderStorage, StorageStatus

    now = stack.server_now()
    site = stack.sites["t-bkk-1"]
    site.publisher.recording_figures = lambda: (
        {"t-bkk-1-cam1": CameraRecording(recorder="nvr-1", newest=now - timedelta(minutes=1),
                                         oldest=now - timedelta(days=40), retention_required_days=30,
                                         retention_kept_days=40.0),
         "t-bkk-1-cam2": CameraRecording(recorder="nvr-1", newest=now - timedelta(hours=2),
                                         oldest=now - timedelta(days=12), retention_required_days=30,
                                         retention_kept_days=12.0)},
        {"nvr-1": RecorderStorage(status=StorageStatus.OK, free_bytes=10**12, total_bytes=4 * 10**12)},
    )
    site.set("t-bkk-1-cam2", CameraState.DEGRADED, Reason.NOT_RECORDING)
    stack.wait_api(lambda: (stack.api("/api/v1/cameras/t-bkk-1/t-bkk-1-cam2").get("recording") or {}).get(
        "kept_days") == 12.0, "recording figures at the centre")
    try:
        page = open_page(stack.aggregator.admin_token, "en", "#/site/t-bkk-1")
        page.wait_for_selector("#cameras-table .rec-bad")
        assert page.locator("#cameras-table .rec").count() == 2  # the two cameras with figures
        assert "12 of 30 days kept" in page.inner_text("#cameras-table .rec-bad")
        page.goto(page.url.split("#")[0] + "#/camera/t-bkk-1/t-bkk-1-cam2")
        page.wait_for_selector("#camera-recording[data-compliant='false'] .rec-bar .rec-short")
        assert page.get_attribute("#camera-reason", "data-reason") == "not_recording"
        assert "nvr-1" in page.inner_text("#camera-recording") and "not recording" in page.inner_text("#camera-state")
        shot(page, "camera-not-recording")
    finally:
        site.set("t-bkk-1-cam2", CameraState.UP, Reason.NONE)


def test_a_token_that_expires_while_signed_in_signs_the_dashboard_out(stack: DashboardStack, open_page: Any) -> None:
    token = stack.aggregator.mint("viewer", name="expiring phone")
    page = open_page(token, "en")
    page.wait_for_selector("#feed-status[data-state='live']")
    assert stack.aggregator.db_path is not None
    with closing(sqlite3.connect(stack.aggregator.db_path, timeout=30)) as db, db:  # its time ran out a second ago
        db.execute("UPDATE api_tokens SET expires_ms = ? WHERE name = 'expiring phone'",
                   [to_ms(stack.server_now()) - 1000])  # fmt: skip
    # the server closes the feed (api.feed_recheck_s), its reconnect gets 401: back to sign-in
    page.wait_for_selector("#signin-error:has-text('token')")
    assert page.evaluate("sessionStorage.getItem('camwatch.token')") is None
    assert stack.status("/api/v1/me", token) == 401
