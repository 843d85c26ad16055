"""The dashboard while a maintenance window is active: the nation page's cameras per state show
the covered cameras as maintenance, with the API's numbers, a named legend and a note, in
English and Thai (headless Chromium against a real aggregator fed through real MQTT)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import SITES, DashboardStack, shot

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def district_window(stack: DashboardStack) -> Iterator[int]:
    """District 1002 (site t-bkk-2) under planned works from a minute ago for an hour."""
    now = stack.server_now()
    window = stack.api("/api/v1/maintenance", method="POST", body={
        "target_kind": "district", "target_id": "1002", "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "note": "browser test"})  # fmt: skip
    try:
        yield int(window["id"])
    finally:
        stack.api(f"/api/v1/maintenance/{window['id']}", method="DELETE")


def test_nation_page_counts_cameras_under_a_window_as_maintenance(
    stack: DashboardStack, open_page: Any, district_window: int
) -> None:  # fmt: skip
    covered = len(next(s for s in SITES if s.district == "1002").cameras)
    stack.wait_api(lambda: stack.api("/api/v1/nation")["states"]["maintenance"] == covered,
                   "the covered cameras as maintenance in the API")  # fmt: skip
    page = open_page(stack.aggregator.admin_token, "en")
    page.wait_for_selector("#province-table tbody tr")
    states = stack.api("/api/v1/nation")["states"]
    assert states["maintenance"] == covered
    for state, n in states.items():
        assert page.inner_text(f"#state-counts tr[data-state={state}] td.num") == f"{n:,}"
    assert page.inner_text("#state-counts tr[data-state=maintenance] .state") == "maintenance"
    assert "planned maintenance window" in page.inner_text(".maintenance-note")
    # the province table's state bars: the tooltip counts them, the legend names every colour
    bkk = next(p for p in stack.api("/api/v1/provinces") if p["code"] == "10")
    title = page.get_attribute("#province-table tr[data-code='10'] .statebar", "title") or ""
    assert f"maintenance {bkk['states']['maintenance']}" in title and bkk["states"]["maintenance"] == covered
    assert page.inner_text(".state-legend [data-state=maintenance]") == "maintenance"
    assert page.locator(".state-legend [data-state]").count() == 5
    shot(page, "nation-maintenance-en")

    # the province page: its districts' bars and legend, its own counts
    page.click("#province-table tr[data-code='10'] a")
    page.wait_for_selector("#districts-table tbody tr")
    assert page.inner_text("#state-counts tr[data-state=maintenance] td.num") == f"{covered:,}"
    assert page.inner_text(".state-legend [data-state=maintenance]") == "maintenance"

    thai = open_page(stack.aggregator.admin_token, "th")
    thai.wait_for_selector("#province-table tbody tr")
    assert thai.inner_text("#state-counts tr[data-state=maintenance] .state") == "ซ่อมบำรุง"
    assert thai.inner_text("#state-counts tr[data-state=maintenance] td.num") == f"{covered:,}"
    assert thai.inner_text(".state-legend [data-state=maintenance]") == "ซ่อมบำรุง"
    assert "ซ่อมบำรุงตามแผน" in thai.inner_text(".maintenance-note")
    shot(thai, "nation-maintenance-th")
