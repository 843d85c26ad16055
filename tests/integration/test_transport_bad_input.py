"""Bad payloads are quarantined with the right reason while ingest goes on (issue 4)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.ingest.quarantine import Quarantine
from protocol import Birth, BirthCamera, CameraState, Event, Events, encode
from tests.clock import current
from tests.rig.transport import RawSite, ledger, start_ingest, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py

SITE = "site-q"


def _good(seq: int, event_id: int) -> Events:
    return Events(site=SITE, ts=current(), seq=seq, events=[
        Event(id=event_id, camera_id="q-cam0", at=current() - timedelta(minutes=10 - event_id),
              state=CameraState.DOWN if event_id % 2 else CameraState.UP)])


def test_each_bad_payload_is_quarantined_with_its_reason(tmp_path: Path, mosquitto: Any) -> None:
    db = tmp_path / "centre.db"
    ingest = start_ingest(db, mosquitto, [SITE])
    site = RawSite(mosquitto, SITE)
    stranger = RawSite(mosquitto, "site-unknown")
    liar = RawSite(mosquitto, SITE, district="1002")  # the site is enrolled in 1001
    try:
        site.send("birth", Birth(site=SITE, ts=current(), bd_seq=1, cameras=[
            BirthCamera(camera_id="q-cam0", state=CameraState.UP, since=current() - timedelta(hours=1))]))
        good = json.loads(encode(_good(1, 1)))
        site.send("events", None, raw=b'{"v": "1.0", "site": ')
        site.send("events", None, raw=json.dumps({**good, "v": "2.0"}).encode())
        site.send("events", None, raw=json.dumps({**good, "pad": "x" * (300 * 1024)}).encode())
        future = {**good, "events": [{**good["events"][0], "at": "2099-01-01T00:00:00Z"}]}
        site.send("events", None, raw=json.dumps(future).encode())
        ancient = {**good, "ts": "1970-01-01T00:00:00Z"}
        site.send("events", None, raw=json.dumps(ancient).encode())
        site.send("events", None, raw=json.dumps({**good, "site": "site-other"}).encode())
        stranger.send("events", Events(**{**_good(1, 1).model_dump(), "site": "site-unknown"}))
        liar.send("events", _good(1, 1))
        site.send("events", _good(1, 1))  # ingest goes on: a good message after all the bad ones
        wait_until(lambda: ledger(db) == [(SITE, 1)], what="the good event committed")
        expected = {
            "malformed_json": 1, "unsupported_version": 1, "oversize": 1, "invalid_message": 2,
            "site_mismatch": 1, "unknown_site": 1, "wrong_location": 1,
        }
        counts = Quarantine(ingest.db).counts()
        assert counts == expected
        stats = ingest.stats()
        assert stats["quarantined"] == sum(expected.values())
        assert stats["committed"] == 2 and stats["connected"] == 1  # the birth and the good events
        rows = Quarantine(ingest.db).recent()
        oversize = next(r for r in rows if r.reason == "oversize")
        assert len(oversize.head) == 1024 and oversize.size > 300 * 1024
        assert any("more than a day ahead" in r.detail for r in rows if r.reason == "invalid_message")
        assert any(r.topic.endswith("/site-unknown/events") for r in rows if r.reason == "unknown_site")
    finally:
        for c in (site, stranger, liar):
            c.close()
        ingest.stop()


def test_the_quarantine_is_bounded_but_counts_everything(tmp_path: Path) -> None:
    from aggregator.schema import open_db

    q = Quarantine(open_db(tmp_path / "q.db"), max_rows=50)
    for i in range(120):
        q.add("camwatch/v1/10/1001/s/events", b"x" * 5000, "malformed_json", f"bad {i}")
    assert len(q.recent(1000)) == 50
    assert q.recent(1)[0].detail == "bad 119"
    assert q.counts() == {"malformed_json": 120}
