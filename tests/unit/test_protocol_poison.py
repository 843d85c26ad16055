"""Whatever bytes a site publishes, decoding raises only the protocol's own errors (issue 13).

A ``RecursionError`` from ``"[" * 1000 + "]" * 1000`` once escaped the codec and stalled
ingest for the whole country: every path out of the decoder must be a ProtocolError so the
reader can quarantine the delivery and go on.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    CameraState,
    Event,
    Events,
    Heartbeat,
    ProtocolError,
    decode_site_message,
    encode,
)
from protocol.errors import MalformedPayload, PayloadTooLarge

NOW = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
TOPIC = "camwatch/v1/10/1001/s1/events"
HEARTBEAT_TOPIC = "camwatch/v1/10/1001/s1/heartbeat"


def _valid_events() -> bytes:
    events = [Event(id=i, camera_id=f"cam-{i}", at=NOW - timedelta(seconds=i), state=CameraState.DOWN)
              for i in range(1, 4)]  # fmt: skip
    return encode(Events(site="s1", ts=NOW, seq=7, events=events))


def _valid_heartbeat() -> bytes:
    return encode(Heartbeat(site="s1", ts=NOW, seq=8, cameras={"cam-1": CameraState.UP}))


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'{"v":"1.0","site":"s1","events":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"\xff\xfe\x00{",
        b'{"v": "1.0", "site": "s1\xc3\x28"}',
        b"",
        b"\x00" * 64,
    ],
    ids=["deep-arrays", "deep-objects", "deep-in-field", "utf16-garbage", "invalid-utf8", "empty", "nul-bytes"],
)
def test_hostile_payloads_are_protocol_errors(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_site_message(TOPIC, payload, now=NOW)
    assert caught.value.reason in {"malformed_json", "invalid_message", "unsupported_version"}


def test_deep_nesting_is_named_as_such() -> None:
    with pytest.raises(MalformedPayload, match="nested too deeply"):
        decode_site_message(TOPIC, b"[" * 100_000 + b"]" * 100_000, now=NOW)


def test_ten_megabytes_are_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_site_message(TOPIC, b"[" * (10 * 1024 * 1024), now=NOW)


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One random edit of a valid payload: flip, insert, delete, duplicate or truncate."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(len(out)) if out else 0
        if op == 0 and out:
            out[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[at:at] = bytes([rng.choice(b'{}[]":,0123456789-eE.\\u\x00\xff')])
        elif op == 2 and out:
            del out[at]
        elif op == 3:
            out[at:at] = out[at:at + rng.randint(1, 40)]
        else:
            del out[at:]
    return bytes(out)


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_valid_messages_never_escape_as_anything_else(seed: int) -> None:
    rng = random.Random(seed)
    for topic, payload in ((TOPIC, _valid_events()), (HEARTBEAT_TOPIC, _valid_heartbeat())):
        mutated = _mutate(payload, rng)
        try:
            decode_site_message(topic, mutated, now=NOW)
        except ProtocolError:
            pass  # refused with a reason: what the reader quarantines
