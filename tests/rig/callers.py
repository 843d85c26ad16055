"""An app whose caller is chosen by request headers: unit tests of routes' roles and scopes.

The real app (``create_app``) with one dependency replaced, the FastAPI way for tests:
``get_caller`` reads ``X-Role``, ``X-Provinces`` (comma-separated) and ``X-Name`` instead
of checking a bearer token. Everything else (context, readers, role and scope rules) is real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header

from aggregator.api.deps import get_caller
from aggregator.app import create_app
from aggregator.auth import Principal
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings

PEPPER = "test-pepper-0123456789"


def header_caller(
    x_role: str = Header("viewer"), x_provinces: str = Header(""), x_name: str = Header("anon")
) -> Principal:
    return Principal(0, x_name, x_role, frozenset(p for p in x_provinces.split(",") if p))


def who(role: str, provinces: str = "", name: str = "somchai") -> dict[str, str]:
    """Headers naming a caller."""
    return {"X-Role": role, "X-Provinces": provinces, "X-Name": name}


def header_app(db_path: Path, **parts: Any) -> FastAPI:
    """``create_app`` over ``db_path`` (with ``parts``), the caller taken from the headers."""
    db = open_db(db_path)
    geography = load_geography(db)
    db.close()
    settings = AggregatorSettings(db_path=db_path, token_pepper=PEPPER)  # type: ignore[arg-type]
    app = create_app(settings, geography, **parts)
    app.dependency_overrides[get_caller] = header_caller
    return app
