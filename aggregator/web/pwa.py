"""The dashboard as an installable app (issue 15): the web app manifest and the service worker.

The service worker is served from ``/sw.js`` (not under ``/static``) so its scope covers the
whole dashboard at ``/``. Its cache name carries the static files' digest, so a new release
replaces the cached shell; the list it pre-caches is every static file.
"""

from __future__ import annotations

import json
from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from aggregator.web.pages import STATIC_PATH, static_version

__all__ = ["router"]

router = APIRouter(tags=["dashboard"], include_in_schema=False)

_ICONS = (("icon-192.png", "192x192"), ("icon-512.png", "512x512"), ("icon-maskable-512.png", "512x512"))


def manifest() -> dict[str, object]:
    """The web app manifest (start at the fault queue: what a technician opens on a phone)."""
    return {
        "name": "camwatch",
        "short_name": "camwatch",
        "description": "CCTV availability and fault work",
        "lang": "th",
        "start_url": "/#/faults",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": "#0f2a4a",
        "icons": [
            {"src": f"/static/pwa/{name}", "sizes": size, "type": "image/png",
             "purpose": "maskable" if "maskable" in name else "any"}
            for name, size in _ICONS
        ],  # fmt: skip
    }


@lru_cache(maxsize=1)
def _worker() -> str:
    version = static_version()
    shell = ["/", *(f"/static/{p.relative_to(STATIC_PATH).as_posix()}" for p in sorted(STATIC_PATH.rglob("*"))
                    if p.is_file() and p.name != "sw.js")]  # fmt: skip
    shell += [f"/static/app.js?v={version}", f"/static/style.css?v={version}", f"/static/phone.css?v={version}"]
    source = (STATIC_PATH / "pwa" / "sw.js").read_text(encoding="utf-8")
    return source.replace("__VERSION__", version).replace("__SHELL__", json.dumps(shell))


@router.get("/manifest.webmanifest")
def web_manifest() -> JSONResponse:
    """The web app manifest."""
    return JSONResponse(manifest(), media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker, at the root so it controls every dashboard page."""
    return Response(_worker(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})  # fmt: skip
