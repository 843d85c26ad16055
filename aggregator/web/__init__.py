"""The operators' dashboard: the HTML shell and its static ES modules (no build step).

Pages only: everything the dashboard shows comes from the versioned API (aggregator/api/)
with the user's bearer token. The app factory (aggregator/app.py) includes :data:`router`
and mounts :data:`STATIC_DIR` at ``/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from aggregator.web import pages, pwa

router = APIRouter()
router.include_router(pages.router)
router.include_router(pwa.router)  # manifest and service worker (issue 15)

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "router"]

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
