"""bd_seq and seq rules at the centre, driven message by message through a real Mosquitto (issue 4)."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol import (
    Birth,
    BirthCamera,
    CameraState,
    Command,
    CommandKind,
    Death,
    Event,
    Events,
    Reason,
    decode,
    site_filter,
)
from tests.clock import PINNED, current
from tests.rig.mqtt import Collector
from tests.rig.transport import RawSite, ledger, start_ingest, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py

SITE = "site-r"
CAMS = ["r-cam0", "r-cam1"]
T0 = PINNED - timedelta(hours=2)


def birth(bd_seq: int) -> Birth:
    cams = [BirthCamera(camera_id=c, state=CameraState.UP, since=T0) for c in CAMS]
    return Birth(site=SITE, ts=current(), bd_seq=bd_seq, cameras=cams)


def events(seq: int, *ids: int) -> Events:
    evs = [
        Event(id=i, camera_id=CAMS[i % 2], at=T0 + timedelta(minutes=i),
              state=CameraState.DOWN if (i // 2) % 2 == 0 else CameraState.UP,
              reason=Reason.UNREACHABLE if (i // 2) % 2 == 0 else Reason.NONE)
        for i in ids
    ]
    return Events(site=SITE, ts=current(), seq=seq, events=evs)


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _ids(db: Path) -> list[int]:
    return [e for s, e in ledger(db) if s == SITE]


@pytest.fixture
def rig(tmp_path: Path, mosquitto: Any) -> Any:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, [SITE], reorder_window_s=1.0, rebirth_min_interval_s=0.5)
    site = RawSite(mosquitto, SITE)
    cmds = Collector(mosquitto.port, [site_filter(site=SITE, kind="cmd")])
    yield db, site, cmds, ingest
    cmds.close()
    site.close()
    ingest.stop()


def test_the_same_qos1_message_delivered_twice_is_stored_once(rig: Any) -> None:
    db, site, _, _ = rig
    site.send("birth", birth(1))
    twice = events(1, 1, 2, 3)
    site.send("events", twice)
    site.send("events", twice)
    wait_until(lambda: len(_ids(db)) == 6, what="both deliveries committed")
    per_event = _rows(db, "SELECT event_id, COUNT(*) FROM transitions WHERE event_id IS NOT NULL GROUP BY event_id")
    assert sorted(per_event) == [(1, 1), (2, 1), (3, 1)]


def test_a_death_arriving_after_the_next_birth_is_ignored(rig: Any) -> None:
    db, site, _, _ = rig
    site.send("birth", birth(1))
    site.send("birth", birth(2))  # the agent reconnected before the broker noticed the old link died
    site.send("death", Death(site=SITE, ts=current(), bd_seq=1))  # the old will, late
    site.send("events", events(1, 1))
    wait_until(lambda: _ids(db) == [1], what="event after the late will committed")
    assert _rows(db, "SELECT online FROM sites WHERE site_id = ?", SITE) == [(1,)]
    assert all(s != 3 for (s,) in _rows(db, "SELECT state FROM cameras"))
    site.send("death", Death(site=SITE, ts=current(), bd_seq=2))  # the current session's will
    wait_until(lambda: _rows(db, "SELECT online FROM sites WHERE site_id = ?", SITE) == [(0,)], what="site offline")
    assert {s for (s,) in _rows(db, "SELECT state FROM cameras")} == {3}, "unknown, never down"


def test_a_seq_gap_filled_within_the_reorder_window(rig: Any) -> None:
    db, site, cmds, _ = rig
    site.send("birth", birth(1))
    site.send("events", events(1, 1))
    site.send("events", events(3, 3))  # seq 2 is late
    time.sleep(0.2)
    site.send("events", events(2, 2))
    wait_until(lambda: sorted(_ids(db)) == [1, 2, 3], what="all three committed")
    assert _ids(db) == [1, 2, 3], "released in seq order"
    time.sleep(1.5)  # past the reorder window: a rebirth would have been asked by now
    assert cmds.messages == []


def test_a_seq_gap_not_filled_asks_for_a_rebirth(rig: Any) -> None:
    db, site, cmds, _ = rig
    site.send("birth", birth(1))
    site.send("events", events(1, 1))
    site.send("events", events(3, 3))  # seq 2 never comes
    cmd = decode(Command, cmds.wait_for(1, timeout=10)[0].payload)
    assert cmd.command is CommandKind.REBIRTH
    assert _ids(db) == [1], "messages after the gap are not stored out of order"
    site.send("birth", birth(1))  # the agent births again and replays its outbox
    site.send("events", events(1, 2, 3))
    wait_until(lambda: sorted(_ids(db)) == [1, 2, 3], what="replay committed")


def test_events_without_a_session_ask_for_a_rebirth(rig: Any) -> None:
    db, site, cmds, _ = rig
    site.send("events", events(7, 1))
    cmd = decode(Command, cmds.wait_for(1, timeout=10)[0].payload)
    assert cmd.command is CommandKind.REBIRTH
    site.send("birth", birth(3))
    site.send("events", events(1, 1))
    wait_until(lambda: _ids(db) == [1], what="event committed after the birth")


def test_a_heartbeat_with_a_waiting_outbox_gets_the_last_ack_again(rig: Any, mosquitto: Any) -> None:
    """An application ack lost with a connection is repeated: the agent's outbox never stalls."""
    from protocol import Ack, Heartbeat

    db, site, _, _ = rig
    acks = Collector(mosquitto.port, [site_filter(site=SITE, kind="ack")])
    try:
        site.send("birth", birth(1))
        site.send("events", events(1, 1, 2))
        first = decode(Ack, acks.wait_for(1)[0].payload)
        assert first.event_id == 2
        site.send("heartbeat", Heartbeat(site=SITE, ts=current(), seq=2, outbox_depth=0))
        site.send("heartbeat", Heartbeat(site=SITE, ts=current(), seq=3, outbox_depth=2))
        assert [decode(Ack, m.payload).event_id for m in acks.wait_for(2)] == [2, 2]
        site.send("events", events(4, 3))
        wait_until(lambda: any(decode(Ack, m.payload).event_id == 3 for m in acks.messages), what="ack of 3")
        assert [decode(Ack, m.payload).event_id for m in acks.messages] == [2, 2, 3], \
            "repeated for the waiting outbox only, then the next commit"
        assert _ids(db) == [1, 2, 3]
    finally:
        acks.close()
