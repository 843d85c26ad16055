"""The operators' dashboard: the HTML shell and its static ES modules (no build step).

Pages only: everything the dashboard shows comes from the versioned API (aggregator/api/)
with the user's bearer token. The app factory (aggregator/app.py) includes :data:`router`
and mounts :data:`STATIC_DIR` at ``/static``.
"""

from __future__ import annotations

from pathlib import Path

from aggregator.web.pages import router

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "router"]

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
