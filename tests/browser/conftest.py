"""Fixtures for the dashboard's browser tests: a real aggregator fed through real MQTT, and
headless Chromium (Debian's, driven by Playwright; never a downloaded browser).

One stack per test module: Mosquitto, ``camwatch-aggregator serve`` (via the demo's own
service code), three sites publishing through the real agent Outbox + Publisher, and one
browser. Screenshots go to ``artifacts/browser/`` (gitignored).
"""

from __future__ import annotations

import json
import random
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from deploy.demo.fleet import SimSite, SimulatedSite
from deploy.demo.services import AggregatorProcess, Stack, start_aggregator, wait_http
from tests.rig.mosquitto import Broker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
# How long a page may take to show what the test waits for on this shared 2-core machine.
UI_TIMEOUT_MS = 20_000
# One API call from the test (the aggregator answers in milliseconds).
API_TIMEOUT_S = 10.0

SITES = (
    SimSite("t-bkk-1", "10", "1001", "Bangkok 1", tuple(f"t-bkk-1-cam{i}" for i in range(4)), 0.0),
    SimSite("t-bkk-2", "10", "1002", "Bangkok 2", tuple(f"t-bkk-2-cam{i}" for i in range(3)), 0.0),
    SimSite("t-cm-1", "50", "5001", "Chiang Mai 1", tuple(f"t-cm-1-cam{i}" for i in range(3)), 0.0),
)
CAMERAS = sum(len(s.cameras) for s in SITES)


@dataclass
class DashboardStack:
    """The running aggregator, its tokens and the publishing sites."""

    aggregator: AggregatorProcess
    sites: dict[str, SimulatedSite]
    workdir: Path

    @property
    def url(self) -> str:
        return self.aggregator.url

    def api(self, path: str, token: str | None = None, method: str = "GET", body: Any = None) -> Any:
        """Call the API as ``token`` (admin by default); return the decoded JSON."""
        req = urllib.request.Request(self.url + path, method=method)
        req.add_header("Authorization", f"Bearer {token or self.aggregator.admin_token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, data=data, timeout=API_TIMEOUT_S) as res:
            return json.loads(res.read() or b"null")

    def server_now(self) -> datetime:
        """The aggregator's clock, from its HTTP ``Date`` header (to the second). The stack runs
        in its own processes on their clock: a test's times are the server's, not this process's."""
        with urllib.request.urlopen(self.url + "/healthz", timeout=API_TIMEOUT_S) as res:
            return parsedate_to_datetime(res.headers["Date"])

    def status(self, path: str, token: str, method: str = "GET", body: Any = None) -> int:
        """The HTTP status of one call (for refusals)."""
        try:
            self.api(path, token, method, body)
        except urllib.error.HTTPError as err:
            return err.code
        return 200

    def wait_api(self, predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        """Wait until ``predicate()`` holds (readiness, not a timed assertion)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except (urllib.error.URLError, OSError, KeyError, TypeError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardStack]:
    """Mosquitto + aggregator + three publishing sites, for one test module."""
    workdir = tmp_path_factory.mktemp("dashboard")
    services = Stack()
    sites: dict[str, SimulatedSite] = {}
    broker = Broker(workdir / "broker", persistence=False).start()
    services.add("Mosquitto", broker.kill)
    try:
        enrol = [(s.site_id, s.province, s.district) for s in SITES]
        aggregator = start_aggregator(services, workdir, broker.port, 0, enrol)
        wait_http(f"{aggregator.url}/healthz", 60.0)
        for spec in SITES:
            site = SimulatedSite(spec, "127.0.0.1", broker.port, workdir, random.Random(1), jitter_s=0.0, heartbeat_s=5.0)
            sites[spec.site_id] = site
            services.add(spec.site_id, site.stop)
            site.start()
        ds = DashboardStack(aggregator, sites, workdir)
        ds.wait_api(lambda: ds.api("/api/v1/nation")["cameras"] == CAMERAS, f"{CAMERAS} cameras in the API")
        yield ds
    finally:
        services.stop_all()
        if services.dead():
            log = workdir / "aggregator.log"
            if log.exists():
                print(log.read_text()[-4000:])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run scripts/setup.sh test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def open_page(browser: Any, stack: DashboardStack) -> Iterator[Callable[..., Any]]:
    """Open the dashboard signed in with ``token`` in ``lang``; every page is closed after the test."""
    contexts: list[Any] = []

    def make(token: str, lang: str = "en", hash_: str = "#/nation", viewport: tuple[int, int] = (1366, 900),
             **options: Any) -> Any:  # fmt: skip
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  locale="th-TH" if lang == "th" else "en-GB", **options)  # fmt: skip
        contexts.append(ctx)
        ctx.add_init_script(f"localStorage.setItem('camwatch.lang', '{lang}');")
        page = ctx.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{stack.url}/{hash_}")
        page.fill("#token", token)
        page.click("#signin button[type=submit]")
        page.wait_for_selector("#who[data-role]")
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def clean_artifacts() -> None:
    """Remove screenshots of an earlier run."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
