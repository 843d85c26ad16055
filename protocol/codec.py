"""Encode and decode wire messages with the size, version, time and topic checks.

Readers call :func:`decode_site_message` with the topic and raw bytes an MQTT client
handed them; every failure is a :class:`~protocol.errors.ProtocolError` whose ``reason``
the aggregator counts and whose message names the field and why.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import ValidationError

from .errors import (
    InvalidMessage,
    MalformedPayload,
    PayloadTooLarge,
    ProtocolError,
    SiteMismatch,
    UnsupportedVersion,
)
from .messages import (
    PROTOCOL_MAJOR,
    Ack,
    Birth,
    Command,
    Death,
    Events,
    Heartbeat,
    Message,
    SiteMessage,
    Snapshot,
)
from .topics import Kind, SiteTopic, parse_site_topic

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MODEL_FOR_KIND",
    "decode",
    "decode_site_message",
    "encode",
]

# Mosquitto's default message_size_limit is far larger; 256 KiB keeps one message
# within a single TCP window on a 4G uplink and bounds the aggregator's per-message work.
DEFAULT_MAX_BYTES = 256 * 1024

MODEL_FOR_KIND: dict[Kind, type[SiteMessage]] = {
    Kind.BIRTH: Birth,
    Kind.DEATH: Death,
    Kind.EVENTS: Events,
    Kind.HEARTBEAT: Heartbeat,
    Kind.ACK: Ack,
    Kind.CMD: Command,
    Kind.SNAPSHOT: Snapshot,
}

M = TypeVar("M", bound=Message)

# What a payload's 'v' starts with when its major version is ours: the pattern on
# Message.v already guaranteed digits, so this prefix is the whole check for nearly
# every message; anything else goes through the full check and its precise errors.
_OUR_MAJOR_PREFIX = f"{PROTOCOL_MAJOR}."
# Topics parsed and checked once, then reused: a national fleet publishes on about four
# topics per site (15,600 sites), and parsing one costs as much as decoding a heartbeat.
# Only valid topics are kept (a refused topic raises, and lru_cache keeps no exceptions),
# and the bound keeps a flood of made-up topics from growing it.
_TOPIC_CACHE_SIZE = 131_072
_parse_topic = lru_cache(maxsize=_TOPIC_CACHE_SIZE)(parse_site_topic)


def encode(message: Message, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Serialise ``message`` to compact JSON, refusing anything over ``max_bytes``."""
    data = message.model_dump_json(exclude_none=True).encode()
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{type(message).__name__} is {len(data)} bytes, over the limit of {max_bytes}"
        )
    return data


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors()[:5]:
        loc = ".".join(str(p) for p in item["loc"]) or "(message)"
        parts.append(f"{loc}: {item['msg']}")
    more = err.error_count() - len(parts)
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def _check_version(obj: dict[str, Any]) -> None:
    version = obj.get("v")
    if version is None:
        raise InvalidMessage("v: field required (protocol version MAJOR.MINOR)")
    if not isinstance(version, str) or "." not in version:
        raise InvalidMessage(f"v: {version!r} is not a MAJOR.MINOR version string")
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) != PROTOCOL_MAJOR:
        raise UnsupportedVersion(
            f"v: protocol version {version!r} is not supported; this reader speaks {PROTOCOL_MAJOR}.x"
        )


def decode(
    model: type[M],
    payload: bytes | bytearray | memoryview | str,
    *,
    now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> M:
    """Parse ``payload`` as ``model``, with every wire check applied.

    ``now`` is the reader's clock (UTC) for the "not more than a day ahead" rule; it
    defaults to the current time.
    """
    if isinstance(payload, str):
        payload = payload.encode()
    if len(payload) > max_bytes:
        raise PayloadTooLarge(f"payload is {len(payload)} bytes, over the limit of {max_bytes}")
    context = {"now": now or datetime.now(UTC)}
    data = bytes(payload)
    try:
        # Fast path: pydantic parses and validates the JSON in one pass (about twice
        # as fast as json.loads + model_validate, see bench/protocol_bench.py).
        message = model.model_validate_json(data, context=context)
    except ValidationError as fast_err:
        # Slow path, only for bad payloads: find the most precise reason to report.
        try:
            obj = json.loads(data)
        except RecursionError as err:
            # "[[[[...]]]]" from any site: Python's parser runs out of stack; pydantic's own
            # parser already refused it above with its nesting limit.
            raise MalformedPayload("payload is nested too deeply to be a camwatch message") from err
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise MalformedPayload(f"payload is not valid JSON: {err}") from err
        if not isinstance(obj, dict):
            raise MalformedPayload(f"payload is JSON {type(obj).__name__}, expected an object") from None
        _check_version(obj)
        raise InvalidMessage(f"{model.__name__}: {_describe(fast_err)}") from fast_err
    # 'v' has a default for senders building messages, but must be on the wire.
    if not ("v" in message.model_fields_set and message.v.startswith(_OUR_MAJOR_PREFIX)):
        _check_version({"v": message.v} if "v" in message.model_fields_set else {})
    return message


def decode_site_message(
    topic: str,
    payload: bytes | bytearray | memoryview | str,
    *,
    now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[SiteTopic, SiteMessage]:
    """Parse a message received on a site topic and check it names the topic's site.

    Raises only :class:`~protocol.errors.ProtocolError`: whatever a payload does to a parser
    (a reader must be able to quarantine any delivery and go on) is reported as malformed."""
    parsed = _parse_topic(topic) if isinstance(topic, str) else parse_site_topic(topic)
    try:
        message = decode(MODEL_FOR_KIND[parsed.kind], payload, now=now, max_bytes=max_bytes)
    except ProtocolError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, UnicodeError) as err:
        # A parser failing in a way nobody foresaw must not escape to the reader's loop.
        raise MalformedPayload(f"payload could not be parsed ({type(err).__name__}: {err})"[:300]) from err
    if message.site != parsed.site:
        raise SiteMismatch(f"site: payload names {message.site!r} but the topic is {parsed.site!r}'s")
    return parsed, message
