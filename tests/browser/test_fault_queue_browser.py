"""The fault queue holds a country (issue 15), in headless Chromium against a real aggregator:
with 5,000 open faults the oldest is first and the total says 5,000; the page keeps the user's
place; a live change is announced and does not move the row under the pointer until asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aggregator.schema import open_db
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
        assert "5,001" in page.inner_text("#queue-changed")
        assert _first_id(page) == str(FIRST_ID + 50)  # the row under the pointer stayed
        assert page.locator("#fault-table tbody tr").first.bounding_box() == before
        page.click("#queue-apply")
        page.wait_for_selector(f"#fault-table tbody tr:first-child td:first-child:text-is('{FIRST_ID + 49}')")
        assert page.inner_text(".pager .muted") == "51–100 of 5,001"
        assert page.is_hidden("#queue-changed")
    finally:
        site.set("t-bkk-1-cam3", CameraState.UP, Reason.NONE)
