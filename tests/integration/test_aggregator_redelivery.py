"""A redelivered birth and its events after an aggregator restart, over a REAL Mosquitto: the
store stores nothing twice and does not rewind the cameras (issue 5; ingest's own duplicate
check forgets births when the process restarts, so the store must be safe by itself)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.days import to_ms
from aggregator.service import Service
from aggregator.settings import AggregatorSettings
from aggregator.store import registry
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, Reason, encode
from tests.clock import current
from tests.integration.test_aggregator_e2e import DISTRICT, PEPPER, PROVINCE, SITE
from tests.rig.mosquitto import Broker
from tests.rig.site_client import SiteClient, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py


def _service(mosquitto: Broker, db_path: Path) -> Service:
    settings = AggregatorSettings(db_path=db_path, mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}",
                                  token_pepper=PEPPER)  # type: ignore[arg-type]  # fmt: skip
    service = Service(settings, faults=False, silence_check_s=3600)
    service.start()
    return service


def test_redelivered_birth_and_events_after_restart_are_not_stored_twice(mosquitto: Broker, tmp_path: Path) -> None:
    db_path = tmp_path / "agg.db"
    service = _service(mosquitto, db_path)
    registry.insert_site(service.db, SITE, PROVINCE, DISTRICT, now_ms=to_ms(current()))
    service.db.conn.commit()
    agent = SiteClient(mosquitto.port, SITE, PROVINCE, DISTRICT)
    now = current().replace(microsecond=0)
    birth = encode(Birth(site=SITE, ts=now - timedelta(minutes=5), bd_seq=1, seq=0, cameras=[
        BirthCamera(camera_id=c, state=CameraState.UP, since=now - timedelta(hours=1)) for c in ("cam-a", "cam-b")]))
    history = encode(Events(site=SITE, ts=now, seq=1, events=[
        Event(id=1, camera_id="cam-a", at=now - timedelta(minutes=4), state=CameraState.DOWN, reason=Reason.UNREACHABLE),
        Event(id=2, camera_id="cam-a", at=now - timedelta(minutes=3), state=CameraState.UP),
        Event(id=3, camera_id="cam-a", at=now - timedelta(minutes=2), state=CameraState.DOWN, reason=Reason.NO_VIDEO),
    ]))  # fmt: skip

    def rows() -> int:
        return int(service.db.execute(
            "SELECT COUNT(*) FROM transitions t JOIN camera_inventory c ON c.id = t.camera WHERE c.camera_id = 'cam-a'"
        ).fetchone()[0])  # fmt: skip

    try:
        assert agent.online.wait(20), "aggregator never published its host state"
        agent.send(Kind.BIRTH, birth)
        agent.send(Kind.EVENTS, history)
        wait_until(lambda: any(a.get("event_id") == 3 for a in agent.acks), "ack of event 3")
        before = rows()
        assert before == 4  # the birth's row and three events
        service.stop()
        agent.acks.clear()
        # the aggregator restarts and the broker delivers the same birth and events again
        service = _service(mosquitto, db_path)
        assert agent.online.wait(20)
        agent.send(Kind.BIRTH, birth)
        agent.send(Kind.EVENTS, history)
        fresh = Events(site=SITE, ts=now, seq=2, events=[
            Event(id=4, camera_id="cam-b", at=now - timedelta(minutes=1), state=CameraState.DEGRADED, reason=Reason.FROZEN)])
        agent.send(Kind.EVENTS, encode(fresh))
        wait_until(lambda: any(a.get("event_id") == 4 for a in agent.acks), "ack of event 4 after the restart")
        assert rows() == before
        state = service.store.current(SITE, "cam-a")
        assert state is not None and state[0] is CameraState.DOWN and state[1] is Reason.NO_VIDEO
        assert service.store.current(SITE, "cam-b")[0] is CameraState.DEGRADED  # type: ignore[index]
    finally:
        agent.close()
        service.stop()
