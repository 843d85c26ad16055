"""Topic building and parsing (issue 2: every segment validated)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    HOST_STATE_TOPIC,
    Kind,
    TopicError,
    agent_subscriptions,
    alert_topic,
    parse_site_topic,
    site_filter,
    site_topic,
    validate_site_id,
)

provinces = st.integers(10, 99).map(str)
site_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True)


@st.composite
def topic_parts(draw: st.DrawFn) -> tuple[str, str, str, Kind]:
    province = draw(provinces)
    district = province + draw(st.integers(1, 99).map(lambda n: f"{n:02d}"))
    return province, district, draw(site_ids), draw(st.sampled_from(list(Kind)))


@given(topic_parts())
def test_site_topic_round_trips(parts: tuple[str, str, str, Kind]) -> None:
    topic = site_topic(*parts)
    parsed = parse_site_topic(topic)
    assert (parsed.province, parsed.district, parsed.site, parsed.kind) == parts
    assert str(parsed) == topic


def test_topic_layout_is_the_documented_one() -> None:
    assert site_topic("10", "1001", "bkk-0001", Kind.EVENTS) == "camwatch/v1/10/1001/bkk-0001/events"
    assert HOST_STATE_TOPIC == "camwatch/v1/host/state"
    assert alert_topic("50", "5001") == "camwatch/v1/alerts/50/5001"


@pytest.mark.parametrize(
    ("province", "district", "site", "needle"),
    [
        ("1", "1001", "s", "province"),
        ("1a", "1001", "s", "province"),
        ("+", "1001", "s", "province"),
        ("10", "101", "s", "district"),
        ("10", "5001", "s", "not in province"),
        ("10", "1001", "", "site id"),
        ("10", "1001", "a/b", "site id"),
        ("10", "1001", "a+b", "site id"),
        ("10", "1001", "a#", "site id"),
        ("10", "1001", "x" * 65, "site id"),
        ("10", "1001", "ไทย", "site id"),
    ],
)
def test_bad_segments_are_refused_with_the_segment_named(
    province: str, district: str, site: str, needle: str
) -> None:
    with pytest.raises(TopicError, match=needle):
        site_topic(province, district, site, Kind.BIRTH)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "camwatch/v1/10/1001/s1",
        "camwatch/v2/10/1001/s1/birth",
        "camwatch/v1/10/1001/s1/birth/extra",
        "camwatch/v1/10/1001/s1/nonsense",
        "camwatch/v1/10/1001//birth",
        "camwatch/v1/10/1001/s1/" + "x" * 300,
    ],
)
def test_parse_refuses_malformed_topics(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_site_topic(topic)


def test_filters_and_agent_subscriptions() -> None:
    assert site_filter() == "camwatch/v1/+/+/+/+"
    assert site_filter(kind=Kind.EVENTS) == "camwatch/v1/+/+/+/events"
    assert site_filter("10") == "camwatch/v1/10/+/+/+"
    assert agent_subscriptions("10", "1001", "s1") == [
        "camwatch/v1/10/1001/s1/ack",
        "camwatch/v1/10/1001/s1/cmd",
        HOST_STATE_TOPIC,
    ]
    with pytest.raises(TopicError):
        site_filter(site="a/b")


def test_kind_direction() -> None:
    assert {k for k in Kind if k.from_agent} == {
        Kind.BIRTH, Kind.DEATH, Kind.EVENTS, Kind.HEARTBEAT, Kind.SNAPSHOT
    }


@pytest.mark.parametrize("site", [".", "..", "-", "-rf", "_x", "$SYS", ".hidden"])
def test_site_ids_start_with_a_letter_or_digit(site: str) -> None:
    """A site id is a broker username and client id too: no dot names, options or $ names (issue 13)."""
    with pytest.raises(TopicError, match="starting with a letter or digit"):
        validate_site_id(site)
