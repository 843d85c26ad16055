"""The fault queue holds a country (issue 15), in headless Chromium against a real aggregator:
with 5,000 open faults the oldest is first and the total says 5,000; the page keeps the user's
place; a live change is announced and does not move the row under the pointer until asked.
The phone-first layout: no page scrolls sideways at 390x844 (and 360) or 1366x900; a
technician acknowledges, assigns and resolves with parts and cost from a fault card, "near
me" first; the header search finds a camera by serial; the PWA's manifest, icons, service
worker and offline shell showing the last loaded queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aggregator.schema import open_db
from aggregator.timetext import iso
from protocol import CameraState, Reason
from tests.browser.conftest import DashboardStack, shot
from tests.rig.faults import open_fault_rows

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]
FIRST_ID = 1_000_000  # far above the faults the stack's own sites open
START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _insert(stack: DashboardStack, rows: list[dict[str, Any]]) -> None:
    assert stack.aggregator.db_path is not None
    db = open_db(stack.aggregator.db_path, migrate=False)
    try:
        with db.conn:
            db["faults"].insert_all(rows)  # type: ignore[union-attr]
    finally:
        db.close()


def _first_id(page: Any) -> str:
    return str(page.inner_text("#fault-table tbody tr:first-child td:first-child"))


def test_five_thousand_open_faults_oldest_first_and_a_change_does_not_move_the_rows(
    stack: DashboardStack, open_page: Any
) -> None:  # fmt: skip
    _insert(stack, open_fault_rows(5000, START, provinces=("30",), first_id=FIRST_ID))
    page = open_page(stack.aggregator.admin_token, "en", "#/faults")
    page.wait_for_selector("#fault-table tbody tr")
    page.select_option("#main select[name=province]", "30")  # Nakhon Ratchasima: only the seeded faults
    page.wait_for_selector(f"#fault-table tbody tr:first-child td:first-child:text-is('{FIRST_ID}')")
    assert page.inner_text(".pager .muted") == "1–50 of 5,000"
    shot(page, "fault-queue-5000")

    # the user's place survives leaving the page and coming back
    page.click(".pager button:has-text('Next')")
    page.wait_for_selector(f"#fault-table tbody tr:first-child td:first-child:text-is('{FIRST_ID + 50}')")
    page.evaluate("location.hash = '#/nation'")
    page.wait_for_selector("#province-table tbody tr")
    page.evaluate("location.hash = '#/faults'")
    page.wait_for_selector(f"#fault-table tbody tr:first-child td:first-child:text-is('{FIRST_ID + 50}')")
    assert page.input_value("#main select[name=province]") == "30"
    assert page.inner_text(".pager .muted") == "51–100 of 5,000"

    # a fault older than all opens while the pointer rests on the first row: announced, not applied
    row = page.locator("#fault-table tbody tr").first
    row.hover()
    before = row.bounding_box()
    _insert(stack, open_fault_rows(1, START - timedelta(days=1), provinces=("30",), first_id=FIRST_ID + 10_000))
    site = stack.sites["t-bkk-1"]
    site.set("t-bkk-1-cam3", CameraState.DEGRADED, Reason.BLURRED)  # any live change wakes the page
    try:
        page.wait_for_selector("#queue-changed:not([hidden])")
        assert "1 new" in page.inner_text("#queue-changed") and "5,001" in page.inner_text("#queue-changed")
        assert _first_id(page) == str(FIRST_ID + 50)  # the row under the pointer stayed
        assert page.locator("#fault-table tbody tr").first.bounding_box() == before
        page.click("#queue-apply")
        page.wait_for_selector(f"#fault-table tbody tr:first-child td:first-child:text-is('{FIRST_ID + 49}')")
        assert page.inner_text(".pager .muted") == "51–100 of 5,001"
        assert page.is_hidden("#queue-changed")
    finally:
        site.set("t-bkk-1-cam3", CameraState.UP, Reason.NONE)


# --- phone-first layout, global search and the PWA (issue 15) --------------------------------

PHONE = (390, 844)
DESKTOP = (1366, 900)
# Every page of the dashboard, and what shows once its data is drawn.
PAGES = (
    ("#/nation", "#province-table tbody tr"), ("#/province/10", "#main h1"), ("#/district/1001", "#main table tbody tr"),
    ("#/site/t-bkk-1", "#main table tbody tr"), ("#/camera/t-bkk-1/t-bkk-1-cam0", "#camera-state"),
    ("#/faults", "#fault-table tbody tr"), ("#/reports", "#main h1"), ("#/audit/register", "#main h1"),
    ("#/audit/declared", "#main h1"), ("#/audit/reconcile", "#main h1"), ("#/audit/risk", "#main h1"),
)  # fmt: skip
BKK_PLACE = {"name": "Sanam Luang gate 2", "agency": "BMA", "address": "Na Phra That Rd, Phra Nakhon",
             "lat": 13.7563, "lon": 100.4931, "phone": "02 123 4567"}  # fmt: skip


def _overflow(page: Any) -> int:
    """How far the page scrolls sideways (0: it fits)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


def test_every_page_fits_a_phone_and_a_desktop_without_horizontal_scroll(stack: DashboardStack, open_page: Any) -> None:
    for viewport in (PHONE, DESKTOP):
        page = open_page(stack.aggregator.admin_token, "th", "#/nation", viewport=viewport)
        wide = {}
        for hash_, ready in PAGES:
            page.evaluate(f"location.hash = '{hash_}'")
            page.wait_for_selector(f"#main .view[data-route='{hash_}'] {ready.removeprefix('#main ')}", state="attached")
            wide[hash_] = _overflow(page)
            if viewport == PHONE and hash_ in ("#/nation", "#/faults"):
                shot(page, f"phone-{hash_.strip('#/').replace('/', '-')}")
                page.set_viewport_size({"width": 360, "height": 740})
                wide[f"{hash_} at 360"] = _overflow(page)
                page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
        assert {k: v for k, v in wide.items() if v > 0} == {}, f"pages that scroll sideways at {viewport}"


def test_technician_acknowledges_assigns_and_resolves_from_the_phone(stack: DashboardStack, open_page: Any) -> None:
    stack.api("/api/v1/sites/t-bkk-1", method="PATCH", body=BKK_PLACE)
    site = stack.sites["t-bkk-1"]
    site.set("t-bkk-1-cam1", CameraState.DOWN, Reason.UNREACHABLE)
    found: dict[str, Any] = {}

    def opened() -> bool:
        rows = stack.api("/api/v1/faults?active=true&site=t-bkk-1&camera_id=t-bkk-1-cam1")
        found.update(rows[0] if rows else {})
        return bool(rows)

    stack.wait_api(opened, "a fault on t-bkk-1-cam1")
    fault_id = found["id"]
    page = open_page(stack.aggregator.technician_token, "en", "#/faults", viewport=PHONE,
                     geolocation={"latitude": 13.75, "longitude": 100.5}, permissions=["geolocation"])  # fmt: skip
    page.wait_for_selector("#fault-cards .fault-card")
    assert page.is_hidden("#fault-table")
    page.click("#near-me")  # the browser's position: Bangkok's site first, with its distance
    card = page.locator(f".fault-card[data-id='{fault_id}']")
    card.wait_for()
    assert page.locator(".fault-card").first.get_attribute("data-id") == str(fault_id)
    assert "km away" in card.inner_text()
    assert "Sanam Luang gate 2" in card.inner_text() and "Na Phra That Rd" in card.inner_text()
    assert card.locator("a.directions").get_attribute("href") == \
        "https://www.google.com/maps/dir/?api=1&destination=13.7563,100.4931"
    assert card.locator(".card-snapshot").count() == 1
    shot(page, "phone-fault-card")

    card.locator("button.ack").click()  # one tap
    page.wait_for_selector(f".fault-card[data-id='{fault_id}'][data-status='acknowledged']")
    assert stack.api(f"/api/v1/faults/{fault_id}")["acknowledged_by"] == "demo-technician"
    card.locator(".assign-to summary").click()
    card.locator("input.assignee").fill("Somchai")
    card.locator("button.assign-named").click()
    page.wait_for_selector(f".fault-card[data-id='{fault_id}'] .card-assignee:has-text('Somchai')")
    card.locator("button.assign-me").click()  # and back to me
    page.wait_for_selector(f".fault-card[data-id='{fault_id}'] .card-assignee:has-text('demo-technician')")
    assert stack.api(f"/api/v1/faults/{fault_id}")["assignee"] == "demo-technician"

    # The repair: the camera comes back (the fault resolves itself); the note, parts and cost
    # written on the card are kept with the technician's name.
    card.locator(".resolve-form summary").click()
    card.locator("textarea.repair-note").fill("replaced the PoE injector")
    card.locator("input.repair-parts").fill("PoE injector 48 V")
    card.locator("input.repair-cost").fill("1250.50")
    site.set("t-bkk-1-cam1", CameraState.UP, Reason.NONE)
    stack.wait_api(lambda: stack.api(f"/api/v1/faults/{fault_id}")["status"] == "resolved", "the fault resolved")
    card.locator("button.resolve").click()
    stack.wait_api(lambda: stack.api(f"/api/v1/faults/{fault_id}")["parts"] == "PoE injector 48 V", "the repair note")
    done = stack.api(f"/api/v1/faults/{fault_id}")
    assert (done["note"], done["cost"], done["resolved_by"]) == ("replaced the PoE injector", 1250.5, "demo-technician")


def test_global_search_finds_a_camera_by_serial(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.viewer_token, "en", "#/nation", viewport=PHONE)
    page.fill("#global-search-input", "tbkk1cam2")  # the fleet's serial is TBKK1CAM2
    page.click("#global-search-results a.search-camera:has-text('t-bkk-1-cam2')")
    page.wait_for_selector("#main .view[data-route='#/camera/t-bkk-1/t-bkk-1-cam2'] #camera-state")
    page.fill("#global-search-input", "Bangkok")
    page.wait_for_selector("#global-search-results a.search-site")
    assert _overflow(page) <= 0


def test_pwa_manifest_service_worker_and_offline_shell(stack: DashboardStack, open_page: Any) -> None:
    import urllib.request

    with urllib.request.urlopen(stack.url + "/manifest.webmanifest", timeout=10) as res:
        manifest = json.loads(res.read())
    assert manifest["start_url"] == "/#/faults" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        with urllib.request.urlopen(stack.url + icon["src"], timeout=10) as res:
            assert res.read(8) == b"\x89PNG\r\n\x1a\n"
    if not stack.api("/api/v1/faults?active=true&limit=1"):  # run alone: something to keep
        _insert(stack, open_fault_rows(3, START, provinces=("30",), first_id=FIRST_ID + 30_000))
    page = open_page(stack.aggregator.technician_token, "en", "#/faults", viewport=PHONE)
    page.wait_for_selector("#fault-cards .fault-card")
    first = page.locator("#fault-cards .fault-card").first.get_attribute("data-id")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector("#offline-mark")
        assert page.inner_text("#offline-mark") == "Offline"
        assert page.locator("#offline-queue .fault-card").first.get_attribute("data-id") == first
        assert page.locator("#offline-queue button").count() == 0  # nothing can be sent offline
        shot(page, "phone-offline-queue")
    finally:
        page.context.set_offline(False)


def test_console_time_range_map_zoom_and_new_area_fault_alert(stack: DashboardStack, open_page: Any) -> None:
    page = open_page(stack.aggregator.admin_token, "en", "#/nation", permissions=["notifications"])
    page.wait_for_selector("#province-table tbody tr")
    # the time range drives a range card, the map and the table: in one request, not one per province
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.click("#range-picker button[data-range='7d']")
    page.wait_for_selector("#fig-range[data-range='7d']")
    assert sum("/api/v1/availability/provinces?" in u for u in asked) == 1, asked
    assert not any("level=province" in u for u in asked), asked
    week = stack.api("/api/v1/availability?level=province&key=10&window=last_7d")
    shown = page.get_attribute("#province-map path[data-code='10']", "data-available")
    assert (float(shown) if shown else None) == week["available"]
    # zoom to Bangkok and around: six provinces framed and named
    page.click("#map-zoom-bangkok")
    page.wait_for_selector("#province-map[data-zoom='bangkok'] text.map-label[data-code='12']")
    assert page.locator("#province-map text.map-label").count() == 6
    assert page.text_content("#province-map text.map-label[data-code='10']") == "Bangkok"
    shot(page, "console-range-zoom")
    # opted in, a site fault opening in scope is announced as new since the last look
    page.check("#alerts-opt")
    now = stack.server_now()
    opened = iso(now + timedelta(seconds=5))
    row = {**open_fault_rows(1, now, provinces=("10",), first_id=FIRST_ID + 20_000)[0], "kind": "site",
           "camera_id": None, "site": "t-bkk-2", "district": "1002", "opened_at": opened, "first_opened_at": opened}
    _insert(stack, [row])
    stack.sites["t-bkk-1"].set("t-bkk-1-cam3", CameraState.DEGRADED, Reason.BLURRED)  # feed activity
    try:
        page.wait_for_selector("#new-since:not([hidden])[data-count='1'][data-alerted='1']")
        assert page.inner_text("#new-since") == "1 new since you last looked"
        page.click("#new-since")
        page.wait_for_selector("#new-since[hidden]", state="attached")
    finally:
        stack.sites["t-bkk-1"].set("t-bkk-1-cam3", CameraState.UP, Reason.NONE)


def test_admin_edits_a_sites_place_with_the_registers_position(stack: DashboardStack, open_page: Any) -> None:
    import httpx

    from tests.unit.test_audit_api import register_csv

    csv = register_csv([["R-PN-1", "กรุงเทพมหานคร", "พระนคร", "Sanam Luang north gate", 13.75661, 100.49252,
                         "TBKK1CAM0", "ใช้งานได้"]])  # fmt: skip
    auth = {"Authorization": f"Bearer {stack.aggregator.admin_token}"}
    imported = httpx.post(stack.url + "/api/v1/audit/register", headers=auth, files={"file": ("r.csv", csv, "text/csv")},
                          timeout=30)  # fmt: skip
    assert imported.status_code == 200, imported.text
    assert httpx.post(stack.url + "/api/v1/audit/reconcile", headers=auth, json={}, timeout=60).status_code == 200
    page = open_page(stack.aggregator.admin_token, "en", "#/site/t-bkk-2", viewport=PHONE)
    page.wait_for_selector("#site-edit-link")
    page.evaluate("location.hash = '#/site/t-bkk-1/edit'")
    page.wait_for_selector("#register-positions button.use-position")
    page.fill("#place-name", "Sanam Luang north gate")
    page.click("#register-positions button.use-position")
    assert page.input_value("#place-lat") == "13.75661" and page.input_value("#place-address") != ""
    page.fill("#place-phone", "02 222 0000")
    page.click("#place-form button[type=submit]")
    page.wait_for_selector("#place-message.ok")
    site = stack.api("/api/v1/sites/t-bkk-1")
    assert (site["name"], site["lat"], site["lon"], site["phone"]) == ("Sanam Luang north gate", 13.75661, 100.49252,
                                                                       "02 222 0000")  # fmt: skip
    assert _overflow(page) <= 0
    # a position in another province is refused, with the API's reason shown
    page.fill("#place-lat", "18.7877")
    page.fill("#place-lon", "98.9931")
    page.click("#place-form button[type=submit]")
    page.wait_for_selector("#place-message.error")
    assert stack.api("/api/v1/sites/t-bkk-1")["lat"] == 13.75661
