"""Fault and notifier settings, routing rules, signatures, back-off and e-mail form (issue 6)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from aggregator.faults.model import Fault, FaultKind, FaultRules, FaultStatus
from aggregator.faults.routing import Channel, RouteBook, RouteSpec
from aggregator.notify.deliveries import Backoff, Delivery
from aggregator.notify.email import build_message
from aggregator.notify.settings import NotifySettings
from aggregator.notify.webhook import sign
from aggregator.schema import open_db
from protocol import CameraState, Reason

SECRET = "a-webhook-secret-of-32-characters"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "webhook", "target": "ftp://x/hook", "secret": SECRET},
        {"channel": "webhook", "target": "http://x/hook"},  # no secret
        {"channel": "webhook", "target": "http://x/hook", "secret": "short"},
        {"channel": "email", "target": "not-an-address"},
        {"channel": "email", "target": "a@b.c, d@e.f"},
        {"channel": "email", "target": "a@b.c", "province": "10", "district": "5001"},  # district outside province
        {"channel": "email", "target": "a@b.c", "level": 9},
        {"channel": "sms", "target": "0812345678"},
        {"channel": "email", "target": "a@b.c", "colour": "red"},
    ],
)
def test_route_spec_refuses_bad_rules(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RouteSpec.model_validate(fields)


def test_settings_forbid_unknown_keys_and_check_bounds() -> None:
    with pytest.raises(ValidationError):
        NotifySettings.model_validate({"group_window": 5})
    with pytest.raises(ValidationError):
        FaultRules.model_validate({"flap_changes": 1})
    with pytest.raises(ValidationError):
        NotifySettings.model_validate({"webhook": {"read_timeout_s": 0}})
    assert NotifySettings.model_validate({"smtp": {"host": "mail.example.org"}}).smtp is not None


def _fault(**fields: object) -> Fault:
    fault = Fault(1, FaultKind.CAMERA, FaultStatus.OPEN, "10", "1001", "s1", "c1", CameraState.DOWN,
                  Reason.UNREACHABLE, NOW, NOW, agency="police")  # fmt: skip
    return dataclasses.replace(fault, **fields)  # type: ignore[arg-type]


def test_routes_match_province_district_agency_kind_and_level() -> None:
    book = RouteBook(open_db(":memory:"))
    book.add(RouteSpec(channel=Channel.EMAIL, target="bkk@x.th", province="10"), NOW)
    book.add(RouteSpec(channel=Channel.EMAIL, target="d1001@x.th", district="1001", fault_kind=FaultKind.SITE), NOW)
    book.add(RouteSpec(channel=Channel.EMAIL, target="police@x.th", agency="police", level=1), NOW)
    book.add(RouteSpec(channel=Channel.EMAIL, target="off@x.th", enabled=False), NOW)
    assert [r.target for r in book.matching(_fault(), 0)] == ["bkk@x.th"]
    assert [r.target for r in book.matching(_fault(kind=FaultKind.SITE), 0)] == ["bkk@x.th", "d1001@x.th"]
    assert [r.target for r in book.matching(_fault(), 1)] == ["police@x.th"]
    assert book.matching(_fault(province="50", district="5001", agency="city"), 0) == []


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), b"1764039600." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1764039600", body) == f"sha256={expected}"
    assert sign(SECRET, "1764039601", body) != sign(SECRET, "1764039600", body)


def test_backoff_doubles_up_to_its_cap() -> None:
    b = Backoff(base_s=2, max_s=60)
    assert [b.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def test_email_is_utf8_with_the_idempotency_key_as_message_id() -> None:
    payload = {"subject": "camwatch: กล้องขัดข้อง", "text_th": "ภาพค้าง", "text_en": "frozen"}
    d = Delivery(1, "abc-1", "email", 1, "tech@example.org", payload, 0, NOW - timedelta(seconds=1))
    msg = build_message(d, "camwatch@example.org")
    assert msg["Message-ID"] == "<abc-1@camwatch>"
    assert msg.get_content().startswith("ภาพค้าง") and "frozen" in msg.get_content()
    assert "กล้องขัดข้อง" in str(msg["Subject"])
