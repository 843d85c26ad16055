"""Webhook channel: a JSON POST signed with HMAC-SHA256, carrying its idempotency key.

The receiver checks ``X-Camwatch-Signature: sha256=<hex>`` where the hex digest is
``HMAC-SHA256(secret, timestamp + "." + body)`` and ``timestamp`` is the
``X-Camwatch-Timestamp`` header (seconds since the epoch); signing the timestamp lets the
receiver refuse replays of old requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime

import httpx

from aggregator.notify.deliveries import Delivery
from aggregator.notify.http import alert_http_client
from aggregator.notify.settings import WebhookSettings

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryError",
    "WebhookSender",
    "sign",
]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Camwatch-Signature"
TIMESTAMP_HEADER = "X-Camwatch-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# What a failed POST can raise: transport errors (refused, reset, DNS) and every timeout.
_SEND_ERRORS = (httpx.TransportError,)


class DeliveryError(Exception):
    """A delivery attempt failed; it will be retried with back-off.

    ``retry_after_s``: the recipient asked to wait this long (HTTP 429 Retry-After) before
    anything more is sent on the channel. ``permanent``: the recipient refused the message
    itself (a malformed request), so retrying cannot help and the delivery is dead at once.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.permanent = permanent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSender:
    """Send one delivery; raise DeliveryError on anything but a 2xx answer."""

    def __init__(self, secret_for: Callable[[int], str | None], settings: WebhookSettings | None = None) -> None:
        """``secret_for(route_id)`` gives the route's signing secret (None: unsigned)."""
        settings = settings or WebhookSettings()
        self._secret_for = secret_for
        self._client = alert_http_client(settings.connect_timeout_s, settings.read_timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, delivery: Delivery, now: datetime) -> None:
        """POST the delivery's payload to its recipient."""
        secret = self._secret_for(delivery.route_id)
        if secret is None:
            raise DeliveryError(f"route {delivery.route_id}: no webhook secret")
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            TIMESTAMP_HEADER: timestamp,
            IDEMPOTENCY_HEADER: delivery.key,
            "User-Agent": "camwatch-alerts/1",
        }
        try:
            response = self._client.post(delivery.recipient, content=body, headers=headers)
        except _SEND_ERRORS as err:
            raise DeliveryError(f"{type(err).__name__}: {err}") from err
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code}")
        logger.debug("%s: webhook delivered to route %s", delivery.key, delivery.route_id)
