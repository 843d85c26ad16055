"""The ingest's settings section: which broker, as whom, and how deliveries are batched."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from aggregator.settings.base import DEFAULT_SECRET, Section
from protocol import DEFAULT_MAX_BYTES, TopicError, validate_province

__all__ = ["IngestSettings", "endpoint"]

# A batch is committed when it has this many messages or this much time passed since its
# first: big enough to amortise the fsync, short enough that live alerts stay live.
_BATCH_MAX = 1000
_BATCH_WAIT_S = 0.05
# A week: a centre upgrade or a long outage never loses the queued messages of the session.
_SESSION_EXPIRY_S = 7 * 24 * 3600
_SCHEMES = {"mqtt": 1883, "mqtts": 8883}


def endpoint(url: str) -> tuple[str, int]:
    """(host, port) of a checked broker URL (1883, or 8883 for mqtts://, when it names no port)."""
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or _SCHEMES[parts.scheme]


class IngestSettings(Section):
    """Broker connection and batching of the aggregator's MQTT ingest.

    >>> IngestSettings(url="mqtts://broker.example:8883").port
    8883
    """

    url: str = Field(default="mqtt://127.0.0.1:1883", description="Broker URL, mqtt://HOST[:PORT] or mqtts:// (TLS)")
    fallback_urls: tuple[str, ...] = Field(
        default=(), max_length=8,
        description="Brokers to move to, in order, when the current one is unreachable (a national aggregator: "
        "the other national broker); same scheme as url, a persistent session on each; in the environment, "
        "comma-separated",
    )  # fmt: skip
    broker_probe_s: float = Field(
        default=10.0, ge=1, le=600,
        description="With fallback_urls: how often every configured broker is looked at (the one in use by its "
        "connection, each other one by an anonymous TCP/TLS + MQTT CONNECT probe, no credentials); two failed looks "
        "in a row open its 'broker down' fault, one answer resolves it",
    )  # fmt: skip
    username: str | None = Field(default="aggregator", max_length=64, description="Broker user name (none: anonymous)")
    password: SecretStr = Field(default=SecretStr(DEFAULT_SECRET), description="Broker password")
    cafile: Path | None = Field(default=None, description="CA bundle for mqtts:// (none: the system CAs)")
    client_id: str = Field(
        default="camwatch-aggregator", min_length=1, max_length=64,
        description="MQTT client id; keep it stable: the broker keeps the persistent session under it",
    )  # fmt: skip
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keep-alive")
    session_expiry_s: int = Field(
        default=_SESSION_EXPIRY_S, ge=0, le=30 * 24 * 3600,
        description="How long the broker queues messages for a stopped aggregator",
    )  # fmt: skip
    batch_max: int = Field(default=_BATCH_MAX, ge=1, le=100_000, description="Messages committed in one transaction at most")
    batch_wait_s: float = Field(
        default=_BATCH_WAIT_S, ge=0, le=5, description="Longest wait for a batch to fill after its first message"
    )
    # Mosquitto keeps one client's QoS 1 order, so a gap is real loss; a few seconds
    # covers a bridge's reordering before asking the agent to birth and replay.
    reorder_window_s: float = Field(default=5.0, ge=0, le=600, description="How long a sequence gap may wait to fill")
    rebirth_min_interval_s: float = Field(
        default=30.0, ge=0, le=3600, description="Shortest time between two rebirth requests to one site"
    )
    max_payload_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, ge=1024, le=64 * 1024 * 1024, description="Largest message accepted"
    )
    require_enrolled: bool = Field(default=True, description="Quarantine messages of sites that are not enrolled")
    host_name: str = Field(
        default_factory=socket.gethostname, min_length=1, max_length=100,
        description="Name in the retained host state (default: this machine's host name)",
    )  # fmt: skip

    # Sparkplug's primary host: exactly one aggregator per site acknowledges, commands and
    # publishes the host state the agents follow; a provincial control room is a secondary.
    role: Literal["primary", "secondary"] = Field(
        default="primary",
        description="primary: acknowledges events, sends rebirths and commands, publishes the host state; "
        "secondary: only reads (a provincial control room beside the national primary)",
    )  # fmt: skip
    province: str | None = Field(
        default=None, description="Read only this province's sites (a provincial aggregator; none: every province)"
    )

    @field_validator("province")
    @classmethod
    def _province(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_province(value)
        except TopicError as err:
            raise ValueError(str(err)) from None

    @property
    def primary(self) -> bool:
        """Whether this aggregator is the primary host (acks, commands, host state)."""
        return self.role == "primary"

    @field_validator("fallback_urls", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """An environment variable gives one string: URLs separated by commas."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("fallback_urls")
    @classmethod
    def _fallbacks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            cls._mqtt_url(url)
        return value

    @model_validator(mode="after")
    def _same_scheme(self) -> IngestSettings:
        if any(urlsplit(u).scheme != urlsplit(self.url).scheme for u in self.fallback_urls):
            raise ValueError("fallback_urls must use the same scheme as url (one TLS setting for all)")
        return self

    @property
    def urls(self) -> list[tuple[str, int]]:
        """(host, port) of the broker and of each fallback, in the order ingest tries them."""
        return [endpoint(u) for u in (self.url, *self.fallback_urls)]

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT], not scheme {parts.scheme or '(none)'!r}")
        if not parts.hostname:
            raise ValueError("names no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be only scheme, host and port (credentials are separate settings)")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError as err:
            raise ValueError(f"has a bad port: {err}") from None
        return value

    @property
    def tls(self) -> bool:
        """Whether the broker is reached over TLS (mqtts://)."""
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        """The broker's host name or address."""
        return urlsplit(self.url).hostname or "localhost"

    @property
    def port(self) -> int:
        """The broker's port (1883, or 8883 for mqtts://, when the URL names none)."""
        parts = urlsplit(self.url)
        return parts.port or _SCHEMES[parts.scheme]
