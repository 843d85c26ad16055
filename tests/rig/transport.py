"""Transport test rig: agents (outbox + publisher) and ingest wired to a real Mosquitto.

The store behind ingest is the aggregator's real :class:`aggregator.store.state.StateStore` when
it is importable; the scenario checks read which (site, event id) pairs it committed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.outbox import Outbox
from agent.publisher import Publisher, PublisherSettings
from protocol import BirthCamera, CameraState, Reason
from tests.clock import child_environ, current
from tests.rig.mosquitto import Broker

ROOT = Path(__file__).resolve().parents[2]
PROVINCE, DISTRICT = "10", "1001"


@dataclass(frozen=True)
class Change:
    """A state change as agent/health.py hands it to the outbox."""

    camera_id: str
    state: CameraState
    reason: Reason
    at: datetime
    details: dict[str, str | int | float | bool | None] = field(default_factory=dict)


def changes(camera_ids: Sequence[str], n: int, *, start: datetime | None = None, step_s: float = 60.0) -> Iterator[Change]:
    """``n`` alternating up/down changes spread over the cameras, ``step_s`` apart in edge time."""
    t0 = start or current() - timedelta(seconds=step_s * n)
    for i in range(n):
        cam = camera_ids[i % len(camera_ids)]
        down = (i // len(camera_ids)) % 2 == 0
        yield Change(
            camera_id=cam,
            state=CameraState.DOWN if down else CameraState.UP,
            reason=Reason.UNREACHABLE if down else Reason.NONE,
            at=t0 + timedelta(seconds=step_s * i),
        )


def wait_until(predicate: Callable[[], bool], timeout: float = 45.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


class Agent:
    """One site's outbox and publisher in this process, with what it produced."""

    def __init__(self, workdir: Path, broker: Broker, site: str, *, cameras: int = 3, **options: Any) -> None:
        self.site = site
        self.camera_ids = [f"{site}-cam{i}" for i in range(cameras)]
        self.produced: set[int] = set()
        self.made: list[Change] = []  # every change recorded, for timeline checks
        self.states: dict[str, BirthCamera] = {}
        self.outbox = Outbox(workdir / f"{site}.outbox.sqlite3", max_events=options.pop("max_events", 100_000))
        settings = PublisherSettings(
            site=site,
            province=options.pop("province", PROVINCE),
            district=options.pop("district", DISTRICT),
            host=broker.host,
            port=options.pop("port", broker.port),
            tls=options.pop("tls", False),
            username=options.pop("username", None),
            password=options.pop("password", None),
            heartbeat_interval_s=options.pop("heartbeat_interval_s", 2.0),
            jitter_s=options.pop("jitter_s", 0.0),
            keepalive_s=options.pop("keepalive_s", 5),
            **options,
        )
        self.publisher = Publisher(settings, self.outbox, snapshot=self.snapshot)
        now = current() - timedelta(days=1)
        for cam in self.camera_ids:
            self.states[cam] = BirthCamera(camera_id=cam, state=CameraState.UP, since=now)

    def snapshot(self) -> list[BirthCamera]:
        return list(self.states.values())

    def record(self, change: Change) -> None:
        before = self.outbox.last_event_id()
        self.outbox.record(change)
        after = self.outbox.last_event_id()
        if after > before:
            self.produced.add(after)
        self.made.append(change)
        previous = self.states.get(change.camera_id)
        update = {"state": change.state, "reason": change.reason, "since": change.at}
        self.states[change.camera_id] = (
            previous.model_copy(update=update) if previous is not None
            else BirthCamera(camera_id=change.camera_id, **update)
        )
        self.publisher.notify()

    def emit(self, n: int, **kw: Any) -> list[Change]:
        made = list(changes(self.camera_ids, n, **kw))
        for change in made:
            self.record(change)
        return made

    def start(self) -> Agent:
        self.publisher.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_stopped", False):
            return
        self._stopped = True
        self.publisher.stop()
        self.outbox.close()


def committed_pairs(db_path: Path) -> list[tuple[str, int]]:
    """Every (site, event id) the store committed, with repeats if any was stored twice."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT site, event_id FROM ledger").fetchall()
    finally:
        conn.close()
    return [(str(s), int(e)) for s, e in rows]


def ingest_command(db_path: Path, broker: Broker, **env: str) -> tuple[list[str], dict[str, str]]:
    """Command line and environment to run tests/rig/ingest_main.py as a separate process."""
    environ = child_environ()  # the child keeps the test's pinned clock
    environ.update(
        CAMWATCH_TEST_DB=str(db_path),
        CAMWATCH_TEST_BROKER_PORT=str(broker.port),
        PYTHONPATH=str(ROOT),
    )
    environ.update(env)
    return [sys.executable, "-m", "tests.rig.ingest_main"], environ


class IngestProcess:
    """Ingest running in its own process, so a test can kill -9 it at a chosen point."""

    def __init__(self, workdir: Path, db_path: Path, broker: Broker, **env: str) -> None:
        self.db_path = db_path
        self.log_path = workdir / f"ingest-{time.monotonic_ns()}.log"
        cmd, environ = ingest_command(db_path, broker, **env)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait/kill
        self.process = subprocess.Popen(cmd, env=environ, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# -- the centre side ------------------------------------------------------------------------


class RecordingStore:
    """The real StateStore, plus a ledger of every event it committed, in the same transaction.

    The ledger lets a scenario compare what the agent produced with what the store stored;
    the store's own transitions table shows whether anything was applied twice.
    """

    def __init__(self, db: Any, store: Any) -> None:
        self.db = db
        self.store = store
        db.execute("CREATE TABLE IF NOT EXISTS ledger (site TEXT, event_id INTEGER, batch INTEGER)")
        self.batches = 0

    def apply(self, items: Sequence[Any]) -> Any:
        from protocol import Events

        with self.db.atomic():
            result = self.store.apply(items)
            self.batches += 1
            rows = [
                (i.message.site, e.id, self.batches)
                for i in items
                if isinstance(i.message, Events)
                for e in i.message.events
            ]
            self.db.conn.executemany("INSERT INTO ledger VALUES (?, ?, ?)", rows)
        return result


def open_centre(db_path: Path, sites: Sequence[str] = (), *, province: str = PROVINCE, district: str = DISTRICT) -> tuple[Any, RecordingStore]:
    """The aggregator's database and store with ``sites`` enrolled in ``district``."""
    from aggregator.geography import load_geography
    from aggregator.schema import open_db
    from aggregator.store import registry
    from aggregator.store.state import StateStore

    db = open_db(db_path)
    geo = load_geography(db)
    with db.atomic():
        for site in sites:
            if registry.get_site(db, site) is None:
                registry.insert_site(db, site, province, district, now_ms=int(current().timestamp() * 1000))
    return db, RecordingStore(db, StateStore(db, geo))


def start_ingest(db_path: Path, broker: Broker, sites: Sequence[str] = (), **options: Any) -> Any:
    """Ingest in this process (a thread), on a fresh or existing database."""
    from aggregator.ingest.consumer import Ingest, IngestSettings

    db, store = open_centre(db_path, sites)
    port, tls, ca_file = options.pop("port", broker.port), options.pop("tls", False), options.pop("ca_file", None)
    password = options.pop("password", None)
    settings = IngestSettings(
        url=f"{'mqtts' if tls else 'mqtt'}://{broker.host}:{port}",
        cafile=ca_file,
        username=options.pop("username", None),
        **({"password": password} if password else {}),
        reorder_window_s=options.pop("reorder_window_s", 1.0),
        rebirth_min_interval_s=options.pop("rebirth_min_interval_s", 1.0),
        client_id=options.pop("client_id", f"aggregator-{time.monotonic_ns()}"),
        **options,
    )
    ingest = Ingest(settings, db, store)
    ingest.start()
    if not ingest.wait_ready(20):  # subscribed: nothing a test publishes next can be missed
        ingest.stop()
        pytest.fail("ingest did not connect and subscribe within 20 s")
    return ingest


def ledger(db_path: Path) -> list[tuple[str, int]]:
    """Every (site, event id) in a committed batch, with repeats."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        return [(str(s), int(e)) for s, e in conn.execute("SELECT site, event_id FROM ledger")]
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):  # the centre process has not created it yet
            return []
        raise
    finally:
        conn.close()


def assert_exactly_once(db_path: Path, agents: Sequence[Agent]) -> None:
    """What the agents produced is what the store committed: same set, no event stored twice."""
    import sqlite3

    produced = {(a.site, i) for a in agents for i in a.produced}
    committed = set(ledger(db_path))
    missing = produced - committed
    extra = committed - produced
    assert not missing, f"{len(missing)} events lost, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} events committed that no agent produced, e.g. {sorted(extra)[:5]}"
    conn = sqlite3.connect(db_path)
    try:
        twice = conn.execute(
            "SELECT camera, event_id, COUNT(*) FROM transitions WHERE event_id IS NOT NULL "
            "GROUP BY camera, event_id HAVING COUNT(*) > 1"
        ).fetchall()
    finally:
        conn.close()
    assert not twice, f"events applied twice: {twice[:5]}"


def assert_timeline(db_path: Path, agent: Agent, changes_made: Sequence[Change]) -> None:
    """Each camera's up/down timeline in the store equals the one the agent saw (unknown aside)."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        for cam in agent.camera_ids:
            mine = [c for c in changes_made if c.camera_id == cam]
            if not mine:
                continue
            first = int(min(c.at for c in mine).timestamp() * 1000)
            rows = conn.execute(
                "SELECT t.at_ms, t.new_state FROM transitions t JOIN cameras c ON c.id = t.camera "
                "JOIN sites s ON s.id = c.site WHERE s.site_id = ? AND c.camera_id = ? AND t.at_ms >= ? "
                "AND t.new_state != 3 ORDER BY t.at_ms, t.id",
                (agent.site, cam, first),
            ).fetchall()
            actual = _collapse([(int(a), int(s)) for a, s in rows])
            code = {CameraState.UP: 0, CameraState.DEGRADED: 1, CameraState.DOWN: 2}
            expected = _collapse(sorted((int(c.at.timestamp() * 1000), code[c.state]) for c in mine))
            assert actual == expected, f"{cam}: timeline {actual[:6]} != {expected[:6]}"
    finally:
        conn.close()


def _collapse(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for at, state in points:
        if not out or out[-1][1] != state:
            out.append((at, state))
    return out


# -- network faults and raw sites --------------------------------------------------------------


class TcpProxy:
    """A TCP relay in front of the broker that a test can cut (uplink down) and restore."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        import socket
        import threading

        from tests.rig.ports import free_port

        self.host = host
        self.target_port = target_port
        self.port = free_port()
        self._socket_mod = socket
        self._threading = threading
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        self._listener: Any = None
        self.restore()

    def restore(self) -> None:
        sock = self._socket_mod.socket()
        sock.setsockopt(self._socket_mod.SOL_SOCKET, self._socket_mod.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        self._listener = sock
        self._threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = self._socket_mod.create_connection((self.host, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(self._socket_mod.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        try:
            self._listener.shutdown(self._socket_mod.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(self._socket_mod.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.cut()


class RawSite:
    """A hand-driven site: publishes exactly the messages a test builds, on the real broker."""

    def __init__(self, broker: Broker, site: str, *, province: str = PROVINCE, district: str = DISTRICT,
                 username: str | None = None, password: str | None = None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.site, self.province, self.district = site, province, district
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{site}-{time.monotonic_ns()}")
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def topic(self, kind: str) -> str:
        from protocol import site_topic

        return site_topic(self.province, self.district, self.site, kind)

    def send(self, kind: str, message: Any, *, raw: bytes | None = None) -> None:
        from protocol import encode

        payload = raw if raw is not None else encode(message)
        info = self.client.publish(self.topic(kind), payload, qos=1)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
