"""Poison from enrolled sites never stops the national picture (issue 13), on the shipped
``camwatch-aggregator serve`` reading a real Mosquitto.

Two hundred sites publish valid events; between them come the payloads that once stalled
ingest (deep nesting, invalid UTF-8, an oversize message) and 10,000 random mutations of
valid messages from ten more sites. Every valid event is stored exactly once, every bad
payload is quarantined with its reason, the process never restarts and /healthz says ok.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store import registry
from protocol import (
    Birth,
    BirthCamera,
    CameraState,
    Event,
    Events,
    Kind,
    Reason,
    encode,
    site_topic,
)
from tests.clock import child_environ
from tests.rig.mosquitto import Broker
from tests.rig.ports import free_port
from tests.rig.site_client import SiteClient, wait_until
from tests.rig.transport import ROOT
from tests.unit.test_protocol_poison import _mutate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PROVINCE, DISTRICT = "10", "1001"
VALID_SITES = [f"pv-{i:03d}" for i in range(200)]
FUZZ_SITES = [f"fz-{i:02d}" for i in range(10)]
EVENTS_PER_SITE = 5
# Mutations of valid messages per fuzz site and round: 10 sites x 5 rounds x 200 = 10,000.
FUZZ_PER_ROUND = 200
POISON = {
    "deep arrays": b"[" * 1000 + b"]" * 1000,
    "deep objects": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "invalid utf-8": b'{"v":"1.0","site":"pv-00","ts":"\xc3\x28"}',
    "oversize": b"[" * (10 * 1024 * 1024),
}


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@contextmanager
def _serve(mosquitto: Broker, db_dir: Path, logs: Path, now: datetime) -> Iterator[tuple[Path, str, subprocess.Popen[bytes]]]:
    """``camwatch-aggregator serve`` in its own process, on the test's pinned clock (tests/rig/pinned.py)."""
    db_path = db_dir / "centre.db"
    db = open_db(db_path)
    load_geography(db)  # the DOPA codes the sites' rows refer to
    now_ms = int(now.timestamp() * 1000)
    for site in VALID_SITES + FUZZ_SITES:
        registry.insert_site(db, site, PROVINCE, DISTRICT, now_ms=now_ms)
    db.conn.commit()
    db.close()
    port = free_port()
    env = child_environ(dict(os.environ, PYTHONPATH=str(ROOT), CAMWATCH_DB_PATH=str(db_path), CAMWATCH_API_PORT=str(port),
                             CAMWATCH_MQTT_URL=f"mqtt://127.0.0.1:{mosquitto.port}"))  # fmt: skip
    log = (logs / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.rig.pinned", "aggregator", "serve"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _reachable(url), "serve answering /healthz", timeout=60)
        yield db_path, url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def serve(mosquitto: Broker, tmp_path: Path, now: datetime) -> Iterator[tuple[Path, str, subprocess.Popen[bytes]]]:
    with _serve(mosquitto, tmp_path, tmp_path, now) as running:
        yield running


def _reachable(url: str) -> bool:
    try:
        return _get(f"{url}/healthz")[0] in (200, 503)
    except OSError:
        return False


def _events(site: str, seq: int, event_id: int, at: datetime) -> bytes:
    state = CameraState.DOWN if event_id % 2 else CameraState.UP
    reason = Reason.UNREACHABLE if state is CameraState.DOWN else Reason.NONE
    return encode(Events(site=site, ts=at, seq=seq, events=[
        Event(id=event_id, camera_id="cam-1", at=at, state=state, reason=reason)]))  # fmt: skip


def test_poison_and_fuzz_never_stall_ingest_and_every_valid_event_lands_once(
    mosquitto: Broker, serve: tuple[Path, str, subprocess.Popen[bytes]], now: datetime
) -> None:
    db_path, url, proc = serve
    start = now - timedelta(hours=1)
    clients = {s: SiteClient(mosquitto.port, s, PROVINCE, DISTRICT) for s in VALID_SITES + FUZZ_SITES}
    rng = random.Random(13)
    fuzzed = 0
    try:
        pending: list[mqtt.MQTTMessageInfo] = []

        def publish(site: str, payload: bytes) -> None:  # QoS 1, PUBACKs awaited once per round
            pending.append(clients[site].client.publish(site_topic(PROVINCE, DISTRICT, site, Kind.EVENTS), payload, qos=1))

        for client in clients.values():
            assert client.online.wait(30), "the aggregator never published its host state"
            pending.append(client.client.publish(site_topic(PROVINCE, DISTRICT, client.site, Kind.BIRTH), encode(Birth(
                site=client.site, ts=start, bd_seq=1, seq=0, cameras=[
                    BirthCamera(camera_id="cam-1", state=CameraState.UP, since=start - timedelta(hours=1))])), qos=1))
        for n in range(1, EVENTS_PER_SITE + 1):
            at = start + timedelta(minutes=n)
            for site in VALID_SITES:
                publish(site, _events(site, n, n, at))
            for payload in POISON.values():  # on a valid site's own topic, between its events
                publish(VALID_SITES[n % len(VALID_SITES)], payload)
            for site in FUZZ_SITES:
                for _ in range(FUZZ_PER_ROUND):
                    publish(site, _mutate(_events(site, n, n, at), rng))
                    fuzzed += 1
            for info in pending:  # each site's messages go in order on its own connection
                info.wait_for_publish(30)
            pending.clear()
        # the last valid event of every site is acknowledged: nothing stalled behind the poison
        wait_until(lambda: all(clients[s].acked >= EVENTS_PER_SITE for s in VALID_SITES),
                   "every valid site's last event acknowledged", timeout=120)  # fmt: skip
        def quarantined() -> dict[str, int]:
            db = open_db(db_path, migrate=False)
            try:
                return dict(db.execute("SELECT reason, count FROM quarantine_counts").fetchall())
            finally:
                db.close()

        # the bad payloads sent after the last valid ones may still be on their way
        reasons = wait_until(lambda: (lambda r: r if r.get("oversize", 0) >= EVENTS_PER_SITE
                                      and r.get("malformed_json", 0) >= 3 * EVENTS_PER_SITE else None)(quarantined()),
                             "every poison payload quarantined", timeout=120)  # fmt: skip
        db = open_db(db_path, migrate=False)
        try:
            stored = db.execute(
                "SELECT s.site_id, t.event_id, COUNT(*) FROM transitions t JOIN sites s ON s.id = t.site "
                "WHERE s.site_id LIKE 'pv-%' AND t.event_id IS NOT NULL GROUP BY 1, 2").fetchall()  # fmt: skip
        finally:
            db.close()
        assert {(s, e) for s, e, _ in stored} == {(s, n) for s in VALID_SITES for n in range(1, EVENTS_PER_SITE + 1)}
        assert {c for _, _, c in stored} == {1}  # each exactly once
        assert reasons.get("malformed_json", 0) >= 3 * EVENTS_PER_SITE  # deep arrays, deep objects, utf-8
        assert reasons.get("oversize", 0) == EVENTS_PER_SITE
        assert sum(reasons.values()) >= 4 * EVENTS_PER_SITE + fuzzed // 2  # most mutations are refused
        assert proc.poll() is None, "serve exited"
        status, health = _get(f"{url}/healthz")
        assert status == 200 and health["status"] == "ok" and health["reasons"] == [], health
    finally:
        for client in clients.values():
            client.close()


def test_healthz_says_503_with_the_reason_while_the_broker_is_gone(
    mosquitto: Broker, serve: tuple[Path, str, subprocess.Popen[bytes]]
) -> None:
    _, url, _ = serve
    wait_until(lambda: _get(f"{url}/healthz")[0] == 200, "healthy with the broker up")
    mosquitto.stop()
    status, health = wait_until(lambda: (lambda a: a if a[0] == 503 else None)(_get(f"{url}/healthz")),
                                "503 once the broker is gone")  # fmt: skip
    assert health["ingest_connected"] is False
    assert [r.split(":")[0] for r in health["reasons"]] == ["ingest_disconnected"]  # type: ignore[union-attr]
    assert str(mosquitto.port) in health["reasons"][0]  # type: ignore[index]
    mosquitto.start()
    wait_until(lambda: _get(f"{url}/healthz")[0] == 200, "healthy again once the broker is back", timeout=60)


@contextmanager
def _writer_blocker(db_dir: Path) -> Iterator[tuple[Callable[[], None], Callable[[], None]]]:
    """(block, release) for the store's writes. As root (CI): the database lives on a 16 MiB
    tmpfs the test fills with a file (SQLITE_FULL at once). Otherwise: another connection
    holds the write lock (each write fails after the store's busy timeout, slower)."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(db_dir)], check=True)
        filler = db_dir / "filler"

        def fill() -> None:
            try:
                with filler.open("wb") as f:
                    while True:
                        f.write(b"\0" * 65536)
            except OSError:
                pass  # ENOSPC: the disk is full

        try:
            yield fill, lambda: filler.unlink()
        finally:
            subprocess.run(["umount", "-l", str(db_dir)], check=False)
    else:
        holder: list[sqlite3.Connection] = []

        def hold() -> None:
            conn = sqlite3.connect(db_dir / "centre.db", timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            holder.append(conn)

        def release() -> None:
            holder.pop().execute("ROLLBACK")

        yield hold, release


def test_a_writer_that_cannot_commit_turns_healthz_503_and_nothing_is_lost(
    mosquitto: Broker, tmp_path: Path, now: datetime
) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    start = now - timedelta(hours=1)
    with _writer_blocker(db_dir) as (block, release), _serve(mosquitto, db_dir, tmp_path, now) as (_, url, proc):
        site = SiteClient(mosquitto.port, VALID_SITES[0], PROVINCE, DISTRICT)
        try:
            assert site.online.wait(30), "the aggregator never published its host state"
            site.send(Kind.BIRTH, encode(Birth(site=site.site, ts=start, bd_seq=1, seq=0, cameras=[
                BirthCamera(camera_id="cam-1", state=CameraState.UP, since=start - timedelta(hours=1))])))
            site.send(Kind.EVENTS, _events(site.site, 1, 1, start + timedelta(minutes=1)))
            wait_until(lambda: site.acked >= 1, "event 1 acknowledged")
            assert _get(f"{url}/healthz")[0] == 200
            block()
            site.send(Kind.EVENTS, _events(site.site, 2, 2, start + timedelta(minutes=2)))
            status, health = wait_until(lambda: (lambda a: a if a[0] == 503 else None)(_get(f"{url}/healthz")),
                                        "503 while the writer cannot commit", timeout=90)  # fmt: skip
            assert any(str(r).startswith("writer_failing") for r in health["reasons"]), health  # type: ignore[union-attr]
            assert site.acked == 1  # nothing acknowledged that was not stored
            release()
            wait_until(lambda: site.acked >= 2, "event 2 stored and acknowledged once the writer can commit", timeout=90)
            wait_until(lambda: _get(f"{url}/healthz")[0] == 200, "healthy again")
            assert proc.poll() is None, "serve exited"
        finally:
            site.close()
