"""Message encode/decode with every wire check (issue 2: bad input, compatibility, size)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    Ack,
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Command,
    CommandKind,
    Death,
    Event,
    Events,
    Heartbeat,
    HostState,
    InvalidMessage,
    MalformedPayload,
    PayloadTooLarge,
    Reason,
    SiteMismatch,
    TopicError,
    UnsupportedVersion,
    decode,
    decode_site_message,
    encode,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOPIC = "camwatch/v1/10/1001/bkk-0001/events"

times = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2026, 11, 25), timezones=st.just(UTC)
)
camera_ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,128}", fullmatch=True)
details = st.dictionaries(
    st.text(max_size=10),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)),
    max_size=5,
)
events = st.builds(
    Event,
    id=st.integers(1, 2**63 - 1),
    camera_id=camera_ids,
    at=times,
    state=st.sampled_from(list(CameraState)),
    reason=st.sampled_from(list(Reason)),
    details=details,
    historical=st.booleans(),
)


def _events(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "v": "1.0",
        "site": "bkk-0001",
        "ts": "2026-11-25T11:59:00Z",
        "seq": 4,
        "events": [
            {
                "id": 17,
                "camera_id": "SN123:VideoSource_1",
                "at": "2026-11-25T11:58:00Z",
                "state": "down",
                "reason": "unreachable",
            }
        ],
    }
    body.update(overrides)
    return body


@given(st.lists(events, min_size=1, max_size=20), times, st.integers(0, 255))
def test_events_round_trip(batch: list[Event], ts: datetime, seq: int) -> None:
    message = Events(site="s1", ts=ts, seq=seq, events=batch)
    assert decode(Events, encode(message), now=NOW) == message


def test_every_kind_round_trips_through_its_topic() -> None:
    cam = BirthCamera(camera_id="SN1:vs0", state=CameraState.UP, since=NOW)
    messages = {
        "birth": Birth(site="bkk-0001", ts=NOW, bd_seq=7, cameras=[cam]),
        "death": Death(site="bkk-0001", ts=NOW, bd_seq=7),
        "events": Events(
            site="bkk-0001",
            ts=NOW,
            seq=1,
            events=[Event(id=1, camera_id="SN1:vs0", at=NOW, state=CameraState.DOWN, reason=Reason.UNREACHABLE)],
        ),
        "heartbeat": Heartbeat(site="bkk-0001", ts=NOW, seq=2, cameras={"SN1:vs0": CameraState.UP}),
        "ack": Ack(site="bkk-0001", ts=NOW, event_id=1),
        "cmd": Command(site="bkk-0001", ts=NOW, cmd_id="c1", command=CommandKind.REBIRTH),
    }
    for kind, message in messages.items():
        parsed_topic, decoded = decode_site_message(
            f"camwatch/v1/10/1001/bkk-0001/{kind}", encode(message), now=NOW
        )
        assert decoded == message
        assert parsed_topic.kind.value == kind


def test_unknown_fields_are_ignored_within_the_major_version() -> None:
    body = _events(v="1.7", future_field={"x": 1})
    body["events"][0]["new_thing"] = 3  # type: ignore[index]
    _, message = decode_site_message(TOPIC, json.dumps(body), now=NOW)
    assert isinstance(message, Events)
    assert message.events[0].id == 17


@pytest.mark.parametrize(
    ("payload", "error", "needle"),
    [
        (b"{not json", MalformedPayload, "not valid JSON"),
        (b"\xff\xfe", MalformedPayload, "not valid JSON"),
        (b"[1, 2]", MalformedPayload, "expected an object"),
        (json.dumps(_events(v="2.0")).encode(), UnsupportedVersion, "2.0"),
        (json.dumps(_events(v=1)).encode(), InvalidMessage, "MAJOR.MINOR"),
        (json.dumps({k: v for k, v in _events().items() if k != "v"}).encode(), InvalidMessage, "v: field required"),
        (json.dumps(_events(seq="four")).encode(), InvalidMessage, "seq"),
        (json.dumps(_events(seq=256)).encode(), InvalidMessage, "seq"),
        (json.dumps(_events(events=[])).encode(), InvalidMessage, "events"),
        (json.dumps(_events(ts="1999-12-31T23:59:59Z")).encode(), InvalidMessage, "before 2000"),
        (json.dumps(_events(ts="2026-11-27T12:00:00Z")).encode(), InvalidMessage, "more than a day ahead"),
        (json.dumps(_events(ts="2026-11-25T11:59:00")).encode(), InvalidMessage, "timezone"),
        (json.dumps(_events(site="other-site")).encode(), SiteMismatch, "other-site"),
    ],
)
def test_bad_payloads_are_refused_with_a_precise_reason(
    payload: bytes, error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match=needle):
        decode_site_message(TOPIC, payload, now=NOW)


def test_event_field_errors_name_the_field_path() -> None:
    body = _events()
    body["events"][0]["state"] = "exploded"  # type: ignore[index]
    with pytest.raises(InvalidMessage, match=r"events\.0\.state"):
        decode_site_message(TOPIC, json.dumps(body), now=NOW)


def test_error_reasons_are_stable_codes_for_counting() -> None:
    assert MalformedPayload.reason == "malformed_json"
    assert UnsupportedVersion.reason == "unsupported_version"
    assert PayloadTooLarge.reason == "oversize"
    assert SiteMismatch.reason == "site_mismatch"
    assert InvalidMessage.reason == "invalid_message"
    assert TopicError.reason == "bad_topic"


def test_oversize_is_refused_on_both_sides() -> None:
    payload = json.dumps(_events()).encode()
    with pytest.raises(PayloadTooLarge, match="over the limit of 100"):
        decode_site_message(TOPIC, payload, now=NOW, max_bytes=100)
    big = Events(
        site="s1",
        ts=NOW,
        seq=0,
        events=[Event(id=i + 1, camera_id=f"cam{i}", at=NOW, state=CameraState.UP) for i in range(2000)],
    )
    with pytest.raises(PayloadTooLarge):
        encode(big, max_bytes=10_000)


def test_default_time_check_uses_the_current_clock(now: datetime) -> None:
    ahead = now + timedelta(days=2)  # the decoder reads the (pinned) clock itself
    message = Ack(site="s1", ts=ahead, event_id=1)
    with pytest.raises(InvalidMessage, match="ahead"):
        decode(Ack, encode(message))


def test_credentials_never_travel_in_stream_uris() -> None:
    inventory = CameraInventory(
        stream_uri="rtsp://admin:s3cret@10.0.0.14:554/Streaming/Channels/101",
        snapshot_uri="http://admin:s3cret@[fe80::1]:8080/snap.jpg",
    )
    data = encode(Birth(site="s1", ts=NOW, bd_seq=0, cameras=[
        BirthCamera(camera_id="c1", state=CameraState.UP, since=NOW, inventory=inventory)
    ]))
    assert b"s3cret" not in data and b"admin" not in data
    assert inventory.stream_uri == "rtsp://10.0.0.14:554/Streaming/Channels/101"
    assert inventory.snapshot_uri == "http://[fe80::1]:8080/snap.jpg"


def test_host_state_is_not_a_site_message() -> None:
    state = HostState(online=True, ts=NOW, host="central-1")
    assert decode(HostState, encode(state), now=NOW) == state


def test_wire_json_is_compact_and_omits_nulls() -> None:
    data = encode(Ack(site="s1", ts=NOW, event_id=5))
    assert data == b'{"v":"1.1","site":"s1","ts":"2026-11-25T12:00:00Z","event_id":5}'
