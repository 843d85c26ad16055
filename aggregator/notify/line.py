"""LINE channel: a push message through the LINE Messaging API to a user, group or room id.

LINE Notify was shut down on 31 March 2025; its successor is the Messaging API of a LINE
Official Account: ``POST {base_url}/v2/bot/message/push`` with the channel access token as
``Authorization: Bearer``, a JSON body ``{"to": id, "messages": [...]}`` of one to five
messages (a text of at most 5,000 characters; images as two HTTPS links of at most 2,000).

One delivery is one push. Its idempotency key travels as ``X-Line-Retry-Key`` (a UUID
derived from the key), so a retry after a lost answer is refused by LINE with 409 and the
``X-Line-Accepted-Request-Id`` header instead of being shown twice: that 409 counts as sent.
A 429 pauses the channel for its ``Retry-After`` (the limit is the access token's); a
malformed request (400, 404, 413) can never succeed and is dead at once. The token never
appears in a log line, an error or the delivery log.

``line-bot-sdk`` is not used: the channel needs one POST and its answers, which httpx (already
the webhook's client) sends with the explicit timeouts and the 429/409 handling above; the
SDK would add its own HTTP stack (urllib3 or aiohttp), generated models duplicating these few
fields, and a dependency tree to the aggregator for no behaviour we keep.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from aggregator.notify.deliveries import Delivery
from aggregator.notify.http import alert_http_client
from aggregator.notify.settings import LineSettings
from aggregator.notify.webhook import DeliveryError

__all__ = [
    "MAX_IMAGE_URL",
    "MAX_MESSAGES",
    "MAX_TEXT",
    "PUSH_PATH",
    "RETRY_KEY_HEADER",
    "TARGET_PATTERN",
    "LineSender",
    "push_body",
    "retry_key",
]

logger = logging.getLogger(__name__)

PUSH_PATH = "/v2/bot/message/push"
RETRY_KEY_HEADER = "X-Line-Retry-Key"
ACCEPTED_HEADER = "X-Line-Accepted-Request-Id"
# A LINE user (U), group (C) or room (R) id: the letter and 32 hexadecimal digits.
TARGET_PATTERN = r"^[UCR][0-9a-f]{32}$"
MAX_MESSAGES = 5
MAX_TEXT = 5000  # characters (UTF-16 units) of one text message
MAX_IMAGE_URL = 2000
# Answers that say the request itself is wrong: the same request will never be accepted.
_PERMANENT = {400, 404, 413, 415}
_NAMESPACE = uuid.UUID("5b0f8f4e-8f7c-4d8a-9a61-2f1f0c1d7a10")
_SEND_ERRORS = (httpx.TransportError,)
_TARGET = re.compile(TARGET_PATTERN)


def retry_key(delivery_key: str) -> str:
    """The ``X-Line-Retry-Key`` of a delivery: LINE wants a UUID, stable across attempts."""
    return str(uuid.uuid5(_NAMESPACE, delivery_key))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units (how LINE counts), marked when cut."""
    if _utf16_len(text) <= limit:
        return text
    cut = text[: limit - 1]
    while _utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    return cut + "…"


def push_body(to: str, text: str, image_urls: Sequence[str] = ()) -> dict[str, Any]:
    """The push request body: the text first, then up to four snapshot images."""
    if not _TARGET.match(to):
        raise ValueError(f"not a LINE user, group or room id: {to!r}")
    messages: list[dict[str, Any]] = [{"type": "text", "text": _clip(text, MAX_TEXT)}]
    for url in image_urls:
        if len(messages) == MAX_MESSAGES:
            break
        if url.startswith("https://") and len(url) <= MAX_IMAGE_URL:
            messages.append({"type": "image", "originalContentUrl": url, "previewContentUrl": url})
    return {"to": to, "messages": messages}


def _retry_after(value: str | None, now: datetime, longest: float) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(int(value))
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), longest)


def _line_message(response: httpx.Response) -> str:
    """LINE's own explanation of a refusal (its JSON ``message`` and details), short."""
    try:
        answer = response.json()
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    text = str(answer.get("message", ""))
    details = answer.get("details")
    if isinstance(details, list) and details:
        text += ": " + "; ".join(
            f"{d.get('property', '')} {d.get('message', '')}".strip() for d in details[:3] if isinstance(d, dict)
        )
    return text[:300]


class LineSender:
    """Push one delivery; raise DeliveryError on anything LINE did not accept."""

    def __init__(self, settings: LineSettings) -> None:
        if settings.channel_access_token is None:
            raise ValueError("LINE alerts need a channel access token")
        self._token = settings.channel_access_token
        self._settings = settings
        self._url = settings.base_url.rstrip("/") + PUSH_PATH
        self._client = alert_http_client(settings.connect_timeout_s, settings.read_timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, delivery: Delivery, now: datetime) -> None:
        """Push the delivery's stored body; a 409 for an already accepted retry is success."""
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Content-Type": "application/json; charset=utf-8",
            RETRY_KEY_HEADER: retry_key(delivery.key),
            "User-Agent": "camwatch-alerts/1",
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except _SEND_ERRORS as err:
            raise DeliveryError(f"LINE {self._settings.base_url}: {type(err).__name__}: {err}") from None
        status = response.status_code
        if 200 <= status < 300:
            logger.debug("%s: LINE push accepted (%s)", delivery.key, response.headers.get("X-Line-Request-Id", ""))
            return
        if status == 409 and response.headers.get(ACCEPTED_HEADER):
            logger.info("%s: LINE had already accepted this push (request %s)", delivery.key,
                        response.headers[ACCEPTED_HEADER])  # fmt: skip
            return
        said = _line_message(response)
        message = f"LINE HTTP {status}" + (f": {said}" if said else "")
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After"), now, self._settings.max_retry_after_s)
            raise DeliveryError(message, retry_after_s=wait)
        raise DeliveryError(message, permanent=status in _PERMANENT)
