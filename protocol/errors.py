"""Errors raised when a payload or topic does not follow the camwatch wire contract.

Every error carries a short machine-readable ``reason`` (used by the aggregator to
count and quarantine bad payloads) and a human message naming the field and why.

    ProtocolError
    ├── TopicError            topic string malformed or a segment invalid
    ├── PayloadTooLarge       payload over the configured maximum
    ├── MalformedPayload      not JSON, or JSON that is not an object
    ├── UnsupportedVersion    another major version of the protocol
    ├── InvalidMessage        a field has the wrong type, value or time
    └── SiteMismatch          the payload names a site other than its topic's
"""

from __future__ import annotations

__all__ = [
    "InvalidMessage",
    "MalformedPayload",
    "PayloadTooLarge",
    "ProtocolError",
    "SiteMismatch",
    "TopicError",
    "UnsupportedVersion",
]


class ProtocolError(ValueError):
    """A topic or payload broke the wire contract."""

    reason = "protocol_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TopicError(ProtocolError):
    """The topic is not a valid camwatch topic."""

    reason = "bad_topic"


class PayloadTooLarge(ProtocolError):
    """The payload exceeds the maximum message size."""

    reason = "oversize"


class MalformedPayload(ProtocolError):
    """The payload is not a JSON object."""

    reason = "malformed_json"


class UnsupportedVersion(ProtocolError):
    """The payload speaks another major version of the protocol."""

    reason = "unsupported_version"


class InvalidMessage(ProtocolError):
    """A field of the payload is missing, of the wrong type or out of range."""

    reason = "invalid_message"


class SiteMismatch(ProtocolError):
    """The payload's site differs from the site in its topic."""

    reason = "site_mismatch"
