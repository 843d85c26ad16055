"""Shared API dependencies: the app context, the caller, and the one place roles and scopes are checked.

Every route takes its parts from here as ``Annotated`` aliases (``ContextDep``, ``DbDep``,
``CallerDep``, ``TechnicianDep``, ``AdminDep``, ``FaultsDep``). The rules, written once:

* no valid token (unknown, revoked or expired): 401; over the token's rate: 429;
* a role below the route's: 403, checked before the request body is read
  (:mod:`aggregator.api.bodies`), so a viewer never learns a route's body rules;
* anything outside the token's provinces: 404, the same answer as for what does not exist,
  so a scope cannot be probed (:func:`ensure_visible`, :func:`visible_provinces`);
* national figures (the nation, agencies, a whole-country run) need an unscoped token: 403
  (:func:`require_national`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlite_utils import Database

from aggregator.api.metrics import IngestMeter
from aggregator.api.readers import ReaderPool
from aggregator.audit.tablefile import TableLimits
from aggregator.auth import Principal, RateLimiter, authenticate, role_at_least
from aggregator.faults.service import FaultService
from aggregator.feed import Feed
from aggregator.geography import Geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.state import StateStore

__all__ = [
    "FEED_KEEPALIVE_S",
    "AdminDep",
    "ApiContext",
    "CallerDep",
    "ContextDep",
    "DbDep",
    "FaultsDep",
    "InProvince",
    "IngestPort",
    "NationalAdminDep",
    "TechnicianDep",
    "ensure_visible",
    "get_caller",
    "get_context",
    "get_db",
    "get_faults",
    "require_admin",
    "require_national",
    "require_national_admin",
    "require_role",
    "require_technician",
    "scope_of",
    "utc_now",
    "visible",
    "visible_provinces",
]

# A comment line this often on the live feed keeps proxies from closing an idle stream and
# lets the server notice a client that went away.
FEED_KEEPALIVE_S = 15.0


def utc_now() -> datetime:
    """The real clock (UTC); tests pin another through ``create_app(clock=...)``."""
    return datetime.now(UTC)


class IngestPort(Protocol):
    """What the API uses of the running MQTT ingest (:class:`aggregator.ingest.consumer.Ingest`)."""

    @property
    def connected(self) -> bool: ...

    def stats(self) -> dict[str, int | float]: ...

    def health(self, now: datetime | None = None) -> list[str]: ...

    def request_snapshot(self, province: str, district: str, site: str, camera_id: str) -> str | None: ...


@dataclass
class ApiContext:
    """Everything the routes use, built once by the app factory."""

    settings: AggregatorSettings
    geography: Geography
    pool: ReaderPool
    limiter: RateLimiter
    clock: Callable[[], datetime] = utc_now
    store: StateStore | None = None  # the writer's memory when serving in-process
    feed: Feed | None = None
    ingest: IngestPort | None = None
    faults: FaultService | None = None
    meter: IngestMeter | None = None
    feed_keepalive_s: float = FEED_KEEPALIVE_S
    feed_recheck_s: float = 2.0  # an open feed checks its token this often (api.feed_recheck_s)
    audit_limits: TableLimits = field(default_factory=TableLimits)

    @contextmanager
    def writer(self) -> Iterator[Database]:
        """A connection that may write (the readers are ``query_only``), closed afterwards.
        Only the audit's imports, runs and overrides write through the API."""
        db = open_db(self.pool.path, migrate=False)
        try:
            yield db
        finally:
            db.close()


def get_context(request: Request) -> ApiContext:
    """The app's context."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_db(ctx: ContextDep) -> Iterator[Database]:
    """A read-only connection of this request's own, in one snapshot (aggregator.api.readers)."""
    with ctx.pool.reading() as db:
        yield db


DbDep = Annotated[Database, Depends(get_db)]
_bearer = HTTPBearer(auto_error=False, description="API token created with `camwatch-aggregator create-token`")


def get_caller(
    ctx: ContextDep, db: DbDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated caller: 401 without a valid token, 429 when over the rate limit."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required", headers=challenge)
    principal = authenticate(db, credentials.credentials, pepper=ctx.settings.token_pepper.get_secret_value(),
                             now=ctx.clock())  # fmt: skip
    if principal is None:  # one answer for unknown, revoked and expired: nothing to tell them apart by
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token is unknown, revoked or expired",
                            headers=challenge)  # fmt: skip
    wait = ctx.limiter.take(principal.token_id)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many requests for this token",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )  # fmt: skip
    return principal


CallerDep = Annotated[Principal, Depends(get_caller)]


def require_role(caller: Principal, role: str) -> Principal:
    """``caller`` when its role is ``role`` or higher; 403 otherwise."""
    if not role_at_least(caller.role, role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role} role or higher")
    return caller


def require_technician(caller: CallerDep) -> Principal:
    """The caller, a technician or an administrator (403 otherwise)."""
    return require_role(caller, "technician")


def require_admin(caller: CallerDep) -> Principal:
    """The caller, an administrator (403 otherwise)."""
    return require_role(caller, "admin")


TechnicianDep = Annotated[Principal, Depends(require_technician)]
AdminDep = Annotated[Principal, Depends(require_admin)]


def require_national(caller: Principal) -> None:
    """403 for a token limited to some provinces: national figures need an unscoped token."""
    if caller.provinces:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token is limited to some provinces; ask per province")


def require_national_admin(caller: AdminDep) -> Principal:
    """The caller, an administrator whose token is not limited to provinces (403 otherwise):
    settings of the whole country, such as alert routing."""
    require_national(caller)
    return caller


NationalAdminDep = Annotated[Principal, Depends(require_national_admin)]


def scope_of(caller: Principal) -> list[str] | None:
    """The caller's provinces, sorted (None = every province)."""
    return sorted(caller.provinces) if caller.provinces else None


def ensure_visible(caller: Principal, province: str | None, what: str) -> None:
    """404 "``what`` not found" when ``province`` is None (nothing there) or outside the scope."""
    if province is None or not caller.sees(province):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


class InProvince(Protocol):
    """Anything that belongs to a province (a site, a camera, a fault)."""

    @property
    def province(self) -> str: ...


T = TypeVar("T", bound=InProvince)


def visible(caller: Principal, item: T | None, what: str) -> T:
    """``item`` when it exists and is in the caller's provinces; 404 "``what`` not found" otherwise."""
    ensure_visible(caller, item.province if item is not None else None, what)
    assert item is not None  # ensure_visible refused None
    return item


def visible_provinces(caller: Principal, province: str | None) -> list[str] | None:
    """Provinces a list may show: the asked one (404 outside the scope), else the scope (None = all)."""
    if province is not None:
        ensure_visible(caller, province, f"province {province}")
        return [province]
    return scope_of(caller)


def get_faults(ctx: ContextDep) -> FaultService:
    """The running fault service (503 when this app runs without one)."""
    if ctx.faults is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the fault service is not running")
    return ctx.faults


FaultsDep = Annotated[FaultService, Depends(get_faults)]
