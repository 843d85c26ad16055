"""bdSeq/seq reader rules after Sparkplug B (issue 2) and birth splitting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    Birth,
    BirthAssembler,
    BirthCamera,
    CameraInventory,
    CameraState,
    InvalidMessage,
    PayloadTooLarge,
    SeqVerdict,
    SessionTracker,
    death_matches,
    encode,
    next_seq,
    seq_distance,
    split_birth,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_seq_wraps_255_to_0() -> None:
    assert next_seq(0) == 1
    assert next_seq(255) == 0
    assert seq_distance(255, 0) == 1
    assert seq_distance(250, 3) == 9


def test_late_death_of_an_older_session_is_ignored() -> None:
    tracker = SessionTracker()
    tracker.on_birth(bd_seq=4)
    tracker.on_birth(bd_seq=5)  # reconnected before the broker sent the old will
    assert tracker.on_death(4) is False
    assert tracker.online
    assert tracker.on_death(5) is True
    assert not tracker.online
    assert not death_matches(None, 0)


def test_bd_seq_wrap_still_matches() -> None:
    tracker = SessionTracker()
    tracker.on_birth(bd_seq=255)
    tracker.on_birth(bd_seq=next_seq(255))
    assert tracker.bd_seq == 0
    assert tracker.on_death(255) is False
    assert tracker.on_death(0) is True


def test_gap_detection_counts_missing_messages() -> None:
    tracker = SessionTracker()
    assert tracker.on_message(3) == (SeqVerdict.NO_SESSION, 0)
    tracker.on_birth(bd_seq=0, seq=0)
    assert tracker.on_message(1) == (SeqVerdict.IN_ORDER, 0)
    assert tracker.on_message(4) == (SeqVerdict.GAP, 2)
    assert tracker.on_message(5) == (SeqVerdict.IN_ORDER, 0)
    # a straggler from before the gap is old, not a new gap
    assert tracker.on_message(2) == (SeqVerdict.IN_ORDER, 0)
    assert tracker.expected_seq == 6


@given(st.integers(0, 255), st.integers(1, 600))
def test_in_order_stream_never_reports_a_gap(start: int, count: int) -> None:
    tracker = SessionTracker()
    tracker.on_birth(bd_seq=1, seq=start)
    seq = start
    for _ in range(count):
        seq = next_seq(seq)
        assert tracker.on_message(seq)[0] is SeqVerdict.IN_ORDER


def _birth(n: int) -> Birth:
    cameras = [
        BirthCamera(
            camera_id=f"SN{i:06d}:VideoSource_{i % 4}",
            name=f"Camera {i}",
            state=CameraState.UP,
            since=NOW,
            inventory=CameraInventory(maker="Hikvision", model="DS-2CD2143G2-I", serial=f"SN{i:06d}"),
        )
        for i in range(n)
    ]
    return Birth(site="big-site", ts=NOW, bd_seq=9, cameras=cameras)


@given(st.integers(0, 400), st.integers(4_000, 40_000))
def test_split_birth_respects_the_limit_and_reassembles(n: int, limit: int) -> None:
    birth = _birth(n)
    parts = split_birth(birth, max_bytes=limit)
    assert all(len(encode(p, max_bytes=limit)) <= limit for p in parts)
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert [p.seq for p in parts] == list(range(len(parts)))
    assembler = BirthAssembler()
    results = [assembler.add(p) for p in reversed(parts)]  # any arrival order
    assert all(r is None for r in results[:-1])
    whole = results[-1]
    assert whole is not None
    assert whole.cameras == birth.cameras
    assert assembler.pending_sites() == []


def test_newer_session_discards_an_incomplete_birth() -> None:
    parts = split_birth(_birth(300), max_bytes=20_000)
    assert len(parts) > 2
    assembler = BirthAssembler()
    assert assembler.add(parts[0]) is None
    newer = [p.model_copy(update={"bd_seq": 10}) for p in parts]
    results = [assembler.add(p) for p in newer]
    assert results[-1] is not None and len(results[-1].cameras) == 300


def test_inconsistent_part_counts_are_refused() -> None:
    parts = split_birth(_birth(300), max_bytes=20_000)
    assembler = BirthAssembler()
    assembler.add(parts[0])
    with pytest.raises(InvalidMessage, match="parts"):
        assembler.add(parts[1].model_copy(update={"parts": parts[1].parts + 1}))


def test_part_beyond_parts_is_invalid() -> None:
    with pytest.raises(ValueError, match="beyond"):
        Birth(site="s", ts=NOW, bd_seq=0, part=3, parts=2)


def test_a_camera_too_large_for_any_part_is_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        split_birth(_birth(10), max_bytes=300)
