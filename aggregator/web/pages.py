"""The dashboard's HTML shell: one page; the ES modules route between views by URL hash.

The shell carries no data and no secret, so it needs no token: the modules sign in with the
user's API token (kept in the tab's sessionStorage) and call the API themselves. A strict
Content-Security-Policy allows only this origin's scripts, so injected markup cannot run.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

__all__ = ["CSP", "STATIC_PATH", "router", "static_version"]

_HERE = Path(__file__).parent
STATIC_PATH = _HERE / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"])
    )


@lru_cache(maxsize=1)
def static_version() -> str:
    """A digest of the static files: a new release busts browser caches, an old one keeps them."""
    digest = hashlib.sha256()
    for path in sorted((_HERE / "static").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    """The dashboard shell (Thai by default; the page remembers the user's choice)."""
    lang = "en" if request.query_params.get("lang") == "en" else "th"
    html = _environment().get_template("index.html").render(
        lang=lang, static="/static", version=static_version()
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/ui", response_class=RedirectResponse)
def ui_alias() -> RedirectResponse:
    """Old bookmarks and the demo's printed link may say /ui: send them to the shell."""
    return RedirectResponse("/", status_code=307)
