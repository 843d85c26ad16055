"""The operators' dashboard: HTML shell, static ES modules (no build step) and report routes.

The aggregator's app factory calls :func:`include_dashboard` once with its own dependencies
(who is asking, a read-only database connection); everything the dashboard shows comes from
the versioned API with the user's bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from aggregator.web.pages import router as pages_router

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "include_dashboard"]

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"


def include_dashboard(
    app: FastAPI, *, principal: Callable[..., Any], database: Callable[..., Any]
) -> None:
    """Add the dashboard pages, its static files and the report API to ``app``.

    ``principal`` is the app's dependency returning the authenticated caller (with ``role``
    and ``provinces``); ``database`` yields a read-only database connection.
    """
    from aggregator.api.reports import build_router

    app.include_router(pages_router)
    app.include_router(build_router(principal, database))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
