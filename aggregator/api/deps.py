"""Shared API dependencies: the app context, reader connections, the caller and scope rules."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlite_utils import Database

from aggregator.auth import Principal, RateLimiter, authenticate, role_at_least
from aggregator.geography import Geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings

__all__ = [
    "AdminDep",
    "ApiContext",
    "CallerDep",
    "ContextDep",
    "DbDep",
    "ReaderPool",
    "TechnicianDep",
    "get_caller",
    "get_context",
    "get_db",
    "require",
    "visible_provinces",
]


class ReaderPool:
    """One read connection per server thread (SQLite connections are not shared).

    ``close`` (at the app's shutdown) closes every connection and starts a new generation:
    a thread still holding a closed one opens a fresh one on its next request, so an app
    served again (a second lifespan, a second test client) does not answer 500.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[Database] = []
        self._lock = threading.Lock()
        self._generation = 0

    def get(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "generation", -1) != self._generation:
            db = None  # closed by a shutdown since this thread opened it
        if db is None:
            db = open_db(self.path, migrate=False)
            db.execute("PRAGMA query_only = ON")  # a reader can never change the database
            # up to 40 server threads each hold a reader: 16 MiB of page cache each keeps RSS bounded
            db.execute("PRAGMA cache_size = -16384")
            with self._lock:
                self._local.db = db
                self._local.generation = self._generation
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            for db in self._all:
                db.close()
            self._all.clear()


@dataclass
class ApiContext:
    """Everything the routes use, built once by the app factory."""

    settings: AggregatorSettings
    geography: Geography
    pool: ReaderPool
    limiter: RateLimiter
    store: Any = None  # aggregator.store.state.StateStore when serving in-process
    feed: Any = None  # aggregator.feed.Feed
    ingest: Any = None  # aggregator.ingest.consumer.Ingest, for its counters
    extras: dict[str, Any] = field(default_factory=dict)
    # hook: (site_id, camera_id) -> current fault as a dict, or None; set by the faults wiring
    current_fault: Callable[[str, str], dict[str, Any] | None] | None = None


def get_context(request: Request) -> ApiContext:
    """The app's context."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_db(ctx: ContextDep) -> Database:
    """A read-only connection for this thread."""
    return ctx.pool.get()


DbDep = Annotated[Database, Depends(get_db)]
_bearer = HTTPBearer(auto_error=False, description="API token created with `camwatch-aggregator create-token`")


def get_caller(
    ctx: ContextDep, db: DbDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated caller: 401 without a valid token, 429 when over the rate limit."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required", headers=challenge)
    principal = authenticate(db, credentials.credentials, pepper=ctx.settings.token_pepper.get_secret_value())
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token is unknown or revoked", headers=challenge)
    wait = ctx.limiter.take(principal.token_id)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many requests for this token",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )  # fmt: skip
    return principal


CallerDep = Annotated[Principal, Depends(get_caller)]


def require(role: str) -> Callable[[Principal], Principal]:
    """A dependency admitting ``role`` or higher (403 otherwise)."""

    def check(caller: CallerDep) -> Principal:
        if not role_at_least(caller.role, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role} role or higher")
        return caller

    return check


TechnicianDep = Annotated[Principal, Depends(require("technician"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]


def visible_provinces(caller: Principal, province: str | None) -> list[str] | None:
    """Provinces a list may show: the asked one (404 outside the scope), else the scope (None = all)."""
    if province is not None:
        if not caller.sees(province):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"province {province} not found")
        return [province]
    return sorted(caller.provinces) if caller.provinces else None
