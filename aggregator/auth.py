"""API bearer tokens: created by an admin CLI command, stored hashed, with roles and province scope.

A token is 32 random bytes (``cw_`` + URL-safe base64) shown once at creation and never
again; the database keeps only HMAC-SHA256(pepper, token). Tokens carry so much entropy
that a slow password hash buys nothing, while the pepper (a process secret, not in the
database) means a stolen database alone cannot even confirm a guess.

Roles are ordered: viewer < technician < admin. An empty province scope means the whole
country. :class:`RateLimiter` is a token bucket per API token (429 when empty).

A token may expire (``expires_ms``; NULL = never, as every token made before expiry existed):
a leaked phone token then stops working on its own. It is valid while ``now < expires``, so
from the expiry second on it answers as an unknown one; an administrator may renew it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from aggregator.days import from_ms, to_ms
from aggregator.geography import Geography, UnknownArea

__all__ = [
    "ROLES",
    "Principal",
    "RateLimiter",
    "TokenInfo",
    "authenticate",
    "create_token",
    "hash_token",
    "list_tokens",
    "migrate_token_expiry",
    "renew_token",
    "revoke_token",
    "role_at_least",
]

ROLES = ("viewer", "technician", "admin")
_PREFIX = "cw_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, name, role and provinces (empty = all)."""

    token_id: int
    name: str
    role: str
    provinces: frozenset[str]
    expires: datetime | None = None  # None: never; a phone's holder can see when to ask for a new one

    def sees(self, province: str) -> bool:
        """Whether this caller may see things in ``province``."""
        return not self.provinces or province in self.provinces


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed (never the token or its hash)."""

    id: int
    name: str
    role: str
    provinces: tuple[str, ...]
    created: datetime
    revoked: datetime | None
    expires: datetime | None = None  # None: never

    def expired(self, now: datetime) -> bool:
        """Whether the token no longer works at ``now`` because its time ran out."""
        return self.expires is not None and now >= self.expires


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` is ``needed`` or higher."""
    return ROLES.index(role) >= ROLES.index(needed)


def hash_token(token: str, pepper: str) -> str:
    """The stored form of ``token``: hex HMAC-SHA256 keyed with the pepper."""
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_token(
    db: Database, name: str, role: str, provinces: list[str], *, pepper: str, geography: Geography,
    now: datetime | None = None, expires: datetime | None = None,
) -> tuple[int, str]:  # fmt: skip
    """Create a token valid until ``expires`` (None: never); return ``(id, token)``. The token
    is shown to the caller once only."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: must be one of {', '.join(ROLES)}")
    if not name or len(name) > 100:
        raise ValueError("name: 1-100 characters")
    for code in provinces:
        try:
            geography.province(code)
        except UnknownArea as err:
            raise ValueError(str(err)) from err
    created = now or datetime.now(UTC)
    if expires is not None and expires <= created:
        raise ValueError("expiry: must be after the token's creation")
    token = _PREFIX + secrets.token_urlsafe(32)
    with db.atomic():
        cur = db.execute(
            "INSERT INTO api_tokens(name, token_hash, role, provinces, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)",
            [name, hash_token(token, pepper), role, ",".join(sorted(set(provinces))), to_ms(created),
             None if expires is None else to_ms(expires)],
        )
    assert cur.lastrowid is not None
    return int(cur.lastrowid), token


def list_tokens(db: Database) -> list[TokenInfo]:
    """Every token, newest first, without secrets."""
    rows = db.execute(
        "SELECT id, name, role, provinces, created_ms, revoked_ms, expires_ms FROM api_tokens ORDER BY id DESC"
    ).fetchall()
    return [
        TokenInfo(r[0], r[1], r[2], tuple(p for p in r[3].split(",") if p), from_ms(r[4]),
                  from_ms(r[5]) if r[5] is not None else None, from_ms(r[6]) if r[6] is not None else None)  # fmt: skip
        for r in rows
    ]


def revoke_token(db: Database, token_id: int, *, now: datetime | None = None) -> bool:
    """Revoke token ``token_id``; False if there is no such live token."""
    with db.atomic():
        cur = db.execute(
            "UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
            [to_ms(now or datetime.now(UTC)), token_id],
        )
    return cur.rowcount == 1


def renew_token(db: Database, token_id: int, expires: datetime | None, *, now: datetime) -> bool:
    """Make token ``token_id`` valid until ``expires`` (None: never), an expired one too; False if
    there is no such unrevoked token. A revoked token stays revoked: make a new one instead."""
    if expires is not None and expires <= now:
        raise ValueError("expiry: must be in the future")
    with db.atomic():
        cur = db.execute(
            "UPDATE api_tokens SET expires_ms = ? WHERE id = ? AND revoked_ms IS NULL",
            [None if expires is None else to_ms(expires), token_id],
        )
    return cur.rowcount == 1


def authenticate(db: Database, token: str, *, pepper: str, now: datetime) -> Principal | None:
    """The principal a presented token stands for at ``now``, or None (unknown, malformed,
    revoked or expired: the caller answers all of them alike)."""
    if not token.startswith(_PREFIX) or len(token) > 200:
        return None
    row = db.execute(
        "SELECT id, name, role, provinces, expires_ms FROM api_tokens WHERE token_hash = ? AND revoked_ms IS NULL "
        "AND (expires_ms IS NULL OR expires_ms > ?)",
        [hash_token(token, pepper), to_ms(now)],
    ).fetchone()
    if row is None:
        return None
    return Principal(row[0], row[1], row[2], frozenset(p for p in row[3].split(",") if p),
                     None if row[4] is None else from_ms(row[4]))


def migrate_token_expiry(db: Database) -> None:
    """Give tokens an expiry (listed in aggregator/schema.py as token_expiry_v1). Existing tokens
    get NULL: they keep working, as they did, until an administrator renews or revokes them."""
    db.conn.execute("ALTER TABLE api_tokens ADD COLUMN expires_ms INTEGER")


class RateLimiter:
    """Token bucket per key: ``rate`` requests/s sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: int) -> float:
        """Take one request for ``key``: 0.0 if allowed, else seconds until one is."""
        now = self._clock()
        with self._lock:
            level, last = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (1.0 - level) / self.rate
