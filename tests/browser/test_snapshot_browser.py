"""The camera page's snapshot in headless Chromium: a technician clicks "request snapshot", the
real aggregator publishes the command over real MQTT, the site's real publisher hands it to the
real snapshot taker, which grabs from the real RTSP rig; the page shows the picture (a blob URL,
never a token in a URL) with its time. A viewer sees the picture but no button."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agent.config import CameraConfig
from agent.snapshot import SnapshotTaker
from tests.browser.conftest import DashboardStack, shot
from tests.rig.rtsp_server import HEIGHT, WIDTH, RtspServer

pytest_plugins = ["tests.rig.rtsp"]
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
SITE, CAM = "t-bkk-1", "t-bkk-1-cam0"


@pytest.fixture
def taker(stack: DashboardStack, rtsp_server: RtspServer) -> Iterator[SnapshotTaker]:
    """The simulated site answers snapshot commands for one camera from the RTSP rig."""
    camera = CameraConfig(id=CAM, address="127.0.0.1", onvif_port=None, stream_uri=rtsp_server.uri("moving"))
    publisher = stack.sites[SITE].publisher
    taker = SnapshotTaker(SITE, cameras=lambda: [camera], credentials=lambda c: [],
                          stream_uri=lambda c: c.stream_uri, publish=publisher.publish_reply)  # fmt: skip
    publisher.on_command = taker.handle
    try:
        yield taker
    finally:
        publisher.on_command = None
        taker.close()


def test_technician_requests_a_snapshot_and_sees_it(stack: DashboardStack, open_page: Any, taker: SnapshotTaker) -> None:
    hash_ = f"#/camera/{SITE}/{CAM}"
    viewer = open_page(stack.aggregator.viewer_token, "en", hash_)
    viewer.wait_for_selector("#snapshot-box")
    assert "No snapshot was requested." in viewer.inner_text("#snapshot")
    assert viewer.locator("#snapshot-request").count() == 0  # viewers cannot ask

    tech = open_page(stack.aggregator.technician_token, "th", hash_)
    tech.wait_for_selector("#snapshot-request")
    assert tech.inner_text("#snapshot-request") == "ขอภาพ"
    tech.click("#snapshot-request")
    tech.wait_for_selector("#snapshot img")
    tech.wait_for_selector("#snapshot-status[data-state='done']", state="attached")
    src = tech.get_attribute("#snapshot img", "src")
    assert src is not None and src.startswith("blob:")
    size = tech.evaluate("() => { const i = document.querySelector('#snapshot img'); "
                         "return i.complete ? [i.naturalWidth, i.naturalHeight] : null; }")
    if size is None:  # still decoding: wait for the element's load, not for a time
        tech.wait_for_function("() => document.querySelector('#snapshot img').complete")
        size = tech.evaluate("() => [document.querySelector('#snapshot img').naturalWidth, "
                             "document.querySelector('#snapshot img').naturalHeight]")
    assert size == [WIDTH, HEIGHT]
    assert "ถ่ายเมื่อ" in tech.inner_text("#snapshot-time")
    shot(tech, "camera-snapshot-th")

    viewer.reload()
    viewer.wait_for_selector("#snapshot img")
    assert taker.published == 1
