"""A populated aggregator app for API fuzzing and secret checks.

Two sites in two provinces arrive through the real :class:`StateStore` (births carrying
camera credentials in their stream URIs, then events), the real fault service opens faults
from the store's transitions, an administrator's webhook route holds a secret, and one real
token per role exists. Everything a test might look for in an answer is kept in
:class:`ApiRig` so it can assert that no secret ever comes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlite_utils import Database

from aggregator.app import create_app
from aggregator.auth import create_token
from aggregator.faults.routing import Channel, RouteSpec
from aggregator.faults.service import FaultService
from aggregator.geography import load_geography
from aggregator.ingest.quarantine import Quarantine
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.maintenance import TargetKind, WindowSpec
from aggregator.store.state import Inbound, StateStore
from protocol import (
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    SiteInfo,
    SiteTopic,
    decode_site_message,
)
from protocol.errors import ProtocolError
from tests.clock import PINNED, travel

__all__ = ["CAMERA_PASSWORD", "MQTT_PASSWORD", "PEPPER", "WEBHOOK_SECRET", "ApiRig", "api_rig", "fingerprint"]

PEPPER = "fuzz-pepper-0123456789abcdef"
CAMERA_PASSWORD = "CamPass-7f3a9e"  # in every stream URI the agents report
MQTT_PASSWORD = "MqttPass-51c0d2e8"  # the aggregator's broker password
WEBHOOK_SECRET = "HookSecret-0a1b2c3d4e5f"  # the seeded webhook route's HMAC key
ROLES = ("admin", "technician", "viewer", "scoped")


@dataclass
class ApiRig:
    """The client, its database file and the values that must never appear in answers."""

    client: TestClient
    db_path: Path
    tokens: dict[str, str]  # who -> bearer token

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def secrets(self) -> dict[str, str]:
        """Every secret value with a label (used as: none of these in any answer)."""
        found = {f"token of {who}": token for who, token in self.tokens.items()}
        found.update(camera_password=CAMERA_PASSWORD, mqtt_password=MQTT_PASSWORD, webhook_secret=WEBHOOK_SECRET,
                     token_pepper=PEPPER)  # fmt: skip
        return found


def fingerprint(db: Database) -> tuple[tuple[str, int, int], ...]:
    """Each table's name, row count and highest rowid: changes whenever a row is added or removed."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    out = []
    for name in sorted(names):
        try:
            count, top = db.execute(f'SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM "{name}"').fetchone()
        except Exception:  # WITHOUT ROWID tables have no rowid
            count, top = db.execute(f'SELECT COUNT(*), 0 FROM "{name}"').fetchone()
        out.append((name, int(count), int(top)))
    return tuple(out)


def _birth(at: datetime, site: str, province: str, district: str, cams: dict[str, CameraState]) -> Inbound:
    cameras = [
        BirthCamera(
            camera_id=cam, state=state, since=at,
            reason=Reason.NONE if state is CameraState.UP else Reason.UNREACHABLE,
            inventory=CameraInventory(
                maker="Hikvision", model="DS-2CD", firmware="V5.7", serial=f"SN-{cam}",
                stream_uri=f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.5:554/{cam}",
                snapshot_uri=f"http://admin:{CAMERA_PASSWORD}@10.0.0.5/snap/{cam}.jpg",
            ),
        )
        for cam, state in cams.items()
    ]  # fmt: skip
    msg = Birth(site=site, ts=at, bd_seq=0, site_info=SiteInfo(name=f"Site {site}", agency="police"), cameras=cameras)
    return Inbound(SiteTopic(province, district, site, Kind.BIRTH), msg, at)


def _quarantine_bad_birth(db: Database, now: datetime) -> None:
    """A birth refused by the real decoder, recorded as ingest records it: its payload holds a password."""
    topic = "camwatch/v1/10/1001/bkk-1/birth"
    payload = _birth(now, "bkk-1", "10", "1001", {"cam-z": CameraState.UP}).message.model_dump(mode="json")
    payload["cameras"][0]["inventory"]["width"] = f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.9/"  # wrong type
    try:
        decode_site_message(topic, json.dumps(payload))
    except ProtocolError as err:
        Quarantine(db).add(topic, json.dumps(payload).encode(), err.reason, str(err), now=now)
    else:
        raise AssertionError("the decoder accepted a birth with a URI as the width")


def api_rig(tmp_path: Path, now: datetime = PINNED) -> Iterator[ApiRig]:
    """Build the populated database and app at ``now`` (the clock pinned there meanwhile: the
    API reads it itself); yield a rig with a running TestClient."""
    with travel(now):
        yield from _api_rig(tmp_path, now)


def _api_rig(tmp_path: Path, now: datetime) -> Iterator[ApiRig]:
    start = now - timedelta(days=2)
    path = tmp_path / "camwatch.db"
    db = open_db(path)
    geo = load_geography(db)
    store = StateStore(db, geo, start=start)
    store.apply([
        _birth(start, "bkk-1", "10", "1001", {"cam-a": CameraState.UP, "cam-b": CameraState.DOWN}),
        _birth(start, "cm-1", "50", "5001", {"cam-x": CameraState.UP, "cam-y": CameraState.DEGRADED}),
    ])  # fmt: skip
    events = Events(site="bkk-1", ts=now, seq=1, events=[
        Event(id=1, camera_id="cam-a", at=now - timedelta(hours=3), state=CameraState.DOWN, reason=Reason.UNREACHABLE,
              details={"uri": f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.5:554/cam-a"}),
        Event(id=2, camera_id="cam-a", at=now - timedelta(hours=2), state=CameraState.UP)])  # fmt: skip
    result = store.apply([Inbound(SiteTopic("10", "1001", "bkk-1", Kind.EVENTS), events, now)])
    _quarantine_bad_birth(db, now)
    faults = FaultService(lambda: open_db(path), clock=lambda: now)
    faults.routes.add(RouteSpec(name="ops", channel=Channel.WEBHOOK, target="https://hooks.example.test/camwatch",
                                secret=SecretStr(WEBHOOK_SECRET)), now)  # fmt: skip
    faults.calendar.add(WindowSpec(target_kind=TargetKind.SITE, target_id="cm-1", starts_at=now + timedelta(days=1),
                                   ends_at=now + timedelta(days=1, hours=2), note="lens cleaning"), now)  # fmt: skip
    faults.feed(result.transitions, now)
    tokens = {
        who: create_token(db, who, role, provinces, pepper=PEPPER, geography=geo)[1]
        for who, role, provinces in (("admin", "admin", []), ("technician", "technician", []),
                                     ("viewer", "viewer", []), ("scoped", "technician", ["10"]))
    }  # fmt: skip
    settings = AggregatorSettings(db_path=path, token_pepper=SecretStr(PEPPER), mqtt_password=SecretStr(MQTT_PASSWORD),
                                  rate_limit_per_s=10000, rate_limit_burst=100000)  # fmt: skip
    app = create_app(settings, geo, store=store, fault_service=faults)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield ApiRig(client, path, tokens)
    finally:
        faults.stop()
        db.close()
