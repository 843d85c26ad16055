"""Live feed buffers and API tokens (issue 5)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from aggregator.auth import (
    RateLimiter,
    authenticate,
    create_token,
    hash_token,
    list_tokens,
    revoke_token,
    role_at_least,
)
from aggregator.feed import Feed, FeedEvent, format_sse
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.state import ApplyResult, Transition
from protocol import CameraState, Reason
from tests.clock import PINNED as NOW


def _transition(province: str, camera: str = "c1") -> Transition:
    return Transition("s1", province, province + "01", camera, CameraState.UP, CameraState.DOWN, Reason.UNREACHABLE,
                      datetime(2026, 11, 1, tzinfo=UTC), False)  # fmt: skip


def test_feed_filters_by_province_and_rolls_up() -> None:
    counts = {"1001": [3, 0, 1, 0, 0], "5001": [2, 0, 0, 0, 0]}
    clock = [100.0]
    feed = Feed(lambda: counts, clock=lambda: clock[0])

    async def run() -> tuple[list[FeedEvent], list[FeedEvent]]:
        loop = asyncio.get_running_loop()
        bkk = feed.subscribe(["10"], loop)
        everyone = feed.subscribe(None, loop)
        feed.on_applied(ApplyResult(transitions=[_transition("10"), _transition("50")]))
        mine, _ = await bkk.take(1.0)
        all_events, _ = await everyone.take(1.0)
        return mine, all_events

    mine, all_events = asyncio.run(run())
    assert [(e.kind, e.province) for e in mine] == [("state", "10"), ("rollup", "10")]
    assert mine[1].data == {"province": "10", "states": {"up": 3, "degraded": 0, "down": 1, "unknown": 0, "maintenance": 0}}
    assert [(e.kind, e.province) for e in all_events] == [("state", "10"), ("state", "50"), ("rollup", "10"), ("rollup", "50")]
    assert format_sse(mine[0]).startswith("event: state\ndata: {")


def test_slow_client_is_told_and_publisher_never_blocks() -> None:
    feed = Feed(lambda: {"1001": [1, 0, 0, 0, 0]}, buffer=10)

    async def run() -> tuple[list[FeedEvent], bool, int, FeedEvent]:
        client = feed.subscribe(None, asyncio.get_running_loop())
        # the client reads nothing while 1000 changes are published: publishing still returns
        for i in range(1000):
            feed.on_applied(ApplyResult(transitions=[_transition("10", f"c{i}")]))
        events, overflowed = await client.take(1.0)
        return events, overflowed, client.dropped, feed.snapshot(client.provinces)

    events, overflowed, dropped, snapshot = asyncio.run(run())
    assert overflowed and dropped > 900 and len(events) <= 10
    assert snapshot.kind == "snapshot" and snapshot.data["provinces"]["10"]["up"] == 1


@pytest.fixture
def db():  # type: ignore[no-untyped-def]
    database = open_db(":memory:")
    load_geography(database)
    return database


def test_tokens_are_stored_hashed_and_revocable(db) -> None:  # type: ignore[no-untyped-def]
    geo = load_geography(db)
    token_id, token = create_token(db, "ops", "technician", ["10", "50"], pepper="p" * 16, geography=geo)
    stored = db.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    assert token not in stored and stored == hash_token(token, "p" * 16)
    who = authenticate(db, token, pepper="p" * 16, now=NOW)
    assert who is not None and who.role == "technician" and who.provinces == frozenset({"10", "50"})
    assert who.sees("10") and not who.sees("20")
    assert authenticate(db, token, pepper="another-pepper!!", now=NOW) is None
    assert revoke_token(db, token_id) and not revoke_token(db, token_id)
    assert authenticate(db, token, pepper="p" * 16, now=NOW) is None
    assert list_tokens(db)[0].revoked is not None
    with pytest.raises(ValueError):
        create_token(db, "x", "root", [], pepper="p", geography=geo)
    with pytest.raises(ValueError):
        create_token(db, "x", "viewer", ["99"], pepper="p", geography=geo)


def test_roles_are_ordered() -> None:
    assert role_at_least("admin", "technician") and role_at_least("technician", "viewer")
    assert not role_at_least("viewer", "technician")


def test_rate_limiter_token_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take(1) for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take(1) > 0
    assert limiter.take(2) == 0.0  # per token
    now[0] += 0.5
    assert limiter.take(1) == 0.0


def test_settings_refuse_default_secrets_outside_development() -> None:
    with pytest.raises(ValueError, match="CAMWATCH_MQTT_PASSWORD"):
        AggregatorSettings(environment="production")
    ok = AggregatorSettings(environment="production", mqtt_password="a-long-broker-secret", token_pepper="a-long-pepper-secret")  # type: ignore[arg-type]
    assert ok.token_pepper.get_secret_value() not in repr(ok)
    with pytest.raises(ValueError):
        AggregatorSettings(unknown_field=1)  # type: ignore[call-arg]
