"""The dashboard as an installable app (issue 15): the manifest, the service worker served from
the root with the release's cache name and every static file to pre-cache, and the committed
icons being exactly what the icon script draws."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from aggregator.web import STATIC_DIR
from aggregator.web.pages import static_version
from aggregator.web.pwa_icons import draw_icon
from tests.rig.callers import header_app


def test_manifest_and_service_worker_are_served_from_the_root(tmp_path: Path) -> None:
    with TestClient(header_app(tmp_path / "camwatch.db")) as client:
        manifest = client.get("/manifest.webmanifest")
        worker = client.get("/sw.js")
        shell = client.get("/").text
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/#/faults", "/", "standalone")
    assert {i["src"] for i in body["icons"]} == {f"/static/pwa/{n}" for n in
                                                ("icon-192.png", "icon-512.png", "icon-maskable-512.png")}  # fmt: skip
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert "__VERSION__" not in worker.text and "__SHELL__" not in worker.text
    assert f'const VERSION = "{static_version()}";' in worker.text  # a new release: a new cache
    listed = json.loads(worker.text.split("const SHELL = ", 1)[1].split(";\n", 1)[0])
    assert "/" in listed and f"/static/app.js?v={static_version()}" in listed and "/static/pwa/offline.js" in listed
    assert '<link rel="manifest" href="/manifest.webmanifest">' in shell


def test_committed_icons_are_what_the_script_draws() -> None:
    assert (STATIC_DIR / "pwa" / "icon-192.png").read_bytes() == draw_icon(192)
    assert (STATIC_DIR / "pwa" / "icon-maskable-512.png").read_bytes() == draw_icon(512, safe=0.8)
