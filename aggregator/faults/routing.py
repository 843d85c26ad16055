"""Routing rules: which recipients (webhook URL, e-mail address, LINE id) get which faults.

A rule matches on province, district, agency and fault kind (an empty field matches
anything) and on the escalation level: level 0 gets new faults, level 1 gets faults still
unacknowledged after the first escalation delay, and so on. MQTT needs no rule: every live
alert goes to its province/district topic and technician apps subscribe to theirs.
A webhook secret is write-only: it never leaves the database through the API. A LINE route
names a user, group or room id (the channel access token is a setting, not per route);
``images`` lets it carry the camera's last snapshot.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from sqlite_utils import Database

from aggregator.faults.model import Fault, FaultKind
from aggregator.notify.line import TARGET_PATTERN as LINE_TARGET
from aggregator.timetext import iso

__all__ = ["Channel", "Route", "RouteBook", "RouteSpec", "migrate_routes", "migrate_routes_v2"]

ROUTES = "alert_routes"


class Channel(StrEnum):
    """Channels that have recipients."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    LINE = "line"


class RouteSpec(BaseModel):
    """A rule as an administrator writes it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100)
    channel: Channel
    target: str = Field(
        min_length=3, max_length=500, description="Webhook URL, e-mail address, or LINE user/group/room id"
    )
    secret: SecretStr | None = Field(default=None, description="Webhook HMAC key (write-only)")
    province: str | None = Field(default=None, pattern=r"^[1-9][0-9]$")
    district: str | None = Field(default=None, pattern=r"^[1-9][0-9]{3}$")
    agency: str | None = Field(default=None, max_length=200)
    fault_kind: FaultKind | None = None
    level: int = Field(default=0, ge=0, le=5, description="Escalation level this rule serves")
    enabled: bool = True
    images: bool = Field(default=False, description="LINE: send the camera's last snapshot with the alert")

    @model_validator(mode="after")
    def _target_fits_channel(self) -> RouteSpec:
        if self.channel is Channel.WEBHOOK:
            if not self.target.startswith(("http://", "https://")):
                raise ValueError("a webhook target must be an http(s) URL")
            if self.secret is None or len(self.secret.get_secret_value()) < 16:
                raise ValueError("a webhook needs a secret of at least 16 characters")
        if self.channel is Channel.EMAIL and ("@" not in self.target or " " in self.target):
            raise ValueError("an e-mail target must be one address")
        if self.channel is Channel.LINE and not re.match(LINE_TARGET, self.target):
            raise ValueError("a LINE target must be a user, group or room id (U, C or R and 32 hex digits)")
        if self.channel is Channel.LINE and self.secret is not None:
            raise ValueError("a LINE route has no secret: the channel access token is the line.* setting")
        if self.images and self.channel is not Channel.LINE:
            raise ValueError("only a LINE route carries images")
        if self.district and self.province and not self.district.startswith(self.province):
            raise ValueError("the district is not in the province")
        return self


@dataclass(frozen=True, slots=True)
class Route:
    """A stored rule (without its secret)."""

    id: int
    name: str
    channel: Channel
    target: str
    province: str | None
    district: str | None
    agency: str | None
    fault_kind: FaultKind | None
    level: int
    enabled: bool
    has_secret: bool
    images: bool = False

    def matches(self, fault: Fault, level: int) -> bool:
        """Whether this rule wants this fault at this escalation level."""
        return (
            self.enabled
            and self.level == level
            and (self.province is None or self.province == fault.province)
            and (self.district is None or self.district == fault.district)
            and (self.agency is None or self.agency == fault.agency)
            and (self.fault_kind is None or self.fault_kind is fault.kind)
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form for the API (no secret)."""
        return {
            "id": self.id,
            "name": self.name,
            "channel": self.channel.value,
            "target": self.target,
            "province": self.province,
            "district": self.district,
            "agency": self.agency,
            "fault_kind": self.fault_kind.value if self.fault_kind else None,
            "level": self.level,
            "enabled": self.enabled,
            "has_secret": self.has_secret,
            "images": self.images,
        }


def migrate_routes(db: Database) -> None:
    """Create the routing rules table."""
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {ROUTES} (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL,
            target TEXT NOT NULL,
            secret TEXT,
            province TEXT,
            district TEXT,
            agency TEXT,
            fault_kind TEXT,
            level INTEGER NOT NULL DEFAULT 0,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )"""
    )


def migrate_routes_v2(db: Database) -> None:
    """LINE routes may carry images."""
    columns = {c.name for c in db[ROUTES].columns}
    if "images" not in columns:
        db.execute(f"ALTER TABLE {ROUTES} ADD COLUMN images INTEGER NOT NULL DEFAULT 0")


def _route(row: dict[str, Any]) -> Route:
    return Route(
        id=int(row["id"]),
        name=row["name"] or "",
        channel=Channel(row["channel"]),
        target=row["target"],
        province=row["province"],
        district=row["district"],
        agency=row["agency"],
        fault_kind=FaultKind(row["fault_kind"]) if row["fault_kind"] else None,
        level=int(row["level"]),
        enabled=bool(row["enabled"]),
        has_secret=bool(row["secret"]),
        images=bool(row.get("images", 0)),
    )


class RouteBook:
    """The rules, cached in memory and swapped whole on every change (readers take no lock)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._routes: tuple[Route, ...] = ()
        self.reload()

    def reload(self) -> None:
        """Read the rules from the database again."""
        rows = self._db.query(f"SELECT * FROM {ROUTES} ORDER BY id")
        self._routes = tuple(_route(r) for r in rows)

    def routes(self) -> tuple[Route, ...]:
        """Every rule."""
        return self._routes

    def get(self, route_id: int) -> Route | None:
        """One rule by id."""
        return next((r for r in self._routes if r.id == route_id), None)

    def add(self, spec: RouteSpec, now: datetime) -> Route:
        """Store a rule."""
        row = {
            "name": spec.name,
            "channel": spec.channel.value,
            "target": spec.target,
            "secret": spec.secret.get_secret_value() if spec.secret else None,
            "province": spec.province,
            "district": spec.district,
            "agency": spec.agency,
            "fault_kind": spec.fault_kind.value if spec.fault_kind else None,
            "level": spec.level,
            "enabled": int(spec.enabled),
            "images": int(spec.images),
            "created_at": iso(now),
        }
        with self._lock:
            with self._db.conn:
                cur = self._db.execute(
                    f"INSERT INTO {ROUTES} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
            self.reload()
        route = self.get(int(cur.lastrowid or 0))
        assert route is not None
        return route

    def delete(self, route_id: int) -> bool:
        """Remove a rule; False when there was none."""
        with self._lock:
            with self._db.conn:
                cur = self._db.execute(f"DELETE FROM {ROUTES} WHERE id = ?", [route_id])
            self.reload()
        return cur.rowcount > 0

    def secret(self, route_id: int) -> str | None:
        """The webhook key of a rule, for signing only."""
        row = self._db.execute(f"SELECT secret FROM {ROUTES} WHERE id = ?", [route_id]).fetchone()
        return str(row[0]) if row and row[0] else None

    def matching(self, fault: Fault, level: int) -> list[Route]:
        """The rules that want this fault at this level."""
        return [r for r in self._routes if r.matches(fault, level)]
