"""Primary and secondary hosts on a rendered topology (issue 17): the national aggregator
(``role = primary``) and province 50's (``role = secondary``, ``province = "50"``) run as
the shipped ``serve`` from the settings ``topology render`` wrote, on real brokers.

Sites in three provinces publish through their provincial brokers: every event is committed
nationally once and, for province 50, provincially once. The secondary's broker account is
widened to a primary's rights by the test, so only its role keeps it silent: its broker logs
every packet, and no PUBLISH (ack, command, host state) and no will ever come from it, while
an observer on the same broker sees the national primary's acks and rebirth command arrive
through the bridge."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

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
from tests.clock import child_environ, current
from tests.rig.ports import free_port
from tests.rig.shipped import Command, operator_env, poll, run_command, start_command
from tests.rig.topology import Reader, Topology, render_topology

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180), pytest.mark.usefixtures("now")]

PROVINCES = ["10", "50", "90"]
SITES = {"10": ("bkk-host-01", "1001"), "50": ("cnx-host-01", "5001"), "90": ("hdy-host-01", "9011")}
SITE_PASSWORD = "site-password-of-the-hosts-test"
OBSERVER, OBSERVER_PASSWORD = "observer-50", "observer-password-of-the-hosts-test"
SECONDARY_HOST_NAME = "chiang-mai-control-room"


def _serve(topology: Topology, tmp: Path, name: str, broker: str, *, api_port: int = 0, **env: str) -> Command:
    settings = topology.out / "aggregators" / f"{name}.toml"
    variables = operator_env(
        CAMWATCH_INGEST__URL=f"mqtts://127.0.0.1:{topology.port(broker)}",
        CAMWATCH_STORE__DB_PATH=str(tmp / f"{name}.db"), CAMWATCH_API__PORT=str(api_port or free_port()),
        CAMWATCH_INGEST__REQUIRE_ENROLLED="false", CAMWATCH_INGEST__REORDER_WINDOW_S="0.5", **env,
    )  # fmt: skip
    return start_command(name, "tests.rig.pinned", "aggregator", "--config", str(settings), "serve",
                         env=child_environ(variables), log=tmp / f"{name}.log")  # fmt: skip


def _committed(db: Path) -> list[tuple[str, int]]:
    """(site, event id) of every committed transition that came from an event."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT s.site_id, t.event_id FROM transitions t JOIN sites s ON s.id = t.site "
                            "WHERE t.event_id IS NOT NULL ORDER BY 1, 2").fetchall()  # fmt: skip
    return [(str(site), int(event)) for site, event in rows]


class Site:
    """A paho client on its provincial broker, publishing like one site's agent."""

    def __init__(self, topology: Topology, province: str) -> None:
        self.site, self.district = SITES[province]
        self.province = province
        self.client = topology.client(f"province-{province}", self.site, SITE_PASSWORD)
        self.client.loop_start()

    def send(self, kind: Kind, payload: bytes) -> None:
        topic = site_topic(self.province, self.district, self.site, kind)
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    topo = render_topology(tmp_path, PROVINCES, ["a", "b"])
    topo.log_every_packet("province-50")
    for province, (site, district) in SITES.items():
        topics = [site_topic(province, district, site, k) for k in (Kind.BIRTH, Kind.EVENTS, Kind.HEARTBEAT)]
        replies = [site_topic(province, district, site, k) for k in (Kind.ACK, Kind.CMD)]
        topo.add_account(f"province-{province}", site, SITE_PASSWORD,
                         [f"topic write {t}" for t in topics] + [f"topic read {t}" for t in replies])  # fmt: skip
    topo.add_account("province-50", OBSERVER, OBSERVER_PASSWORD, ["topic read camwatch/v1/#"])
    # A primary's rights for the secondary: only its role may keep it from acknowledging.
    topo.add_account("province-50", "aggregator-50", topo.secret("aggregator-50"),
                     ["topic write camwatch/v1/50/+/+/ack", "topic write camwatch/v1/50/+/+/cmd",
                      "topic readwrite camwatch/v1/host/state"])  # fmt: skip
    try:
        topo.start()
        yield topo
    finally:
        topo.stop()


def test_secondary_keeps_its_own_figures_and_never_answers_a_site(topology: Topology, tmp_path: Path) -> None:
    observer = Reader(topology.client("province-50", OBSERVER, OBSERVER_PASSWORD),
                      ["camwatch/v1/50/+/+/ack", "camwatch/v1/50/+/+/cmd", "camwatch/v1/host/state"])  # fmt: skip
    national = _serve(topology, tmp_path, "national", "national-a")
    provincial = _serve(topology, tmp_path, "province-50", "province-50",
                        CAMWATCH_INGEST__HOST_NAME=SECONDARY_HOST_NAME)  # fmt: skip
    sites: list[Site] = []
    try:
        poll(lambda: any(t == "camwatch/v1/host/state" and json.loads(p)["online"] for t, p in observer.got),
             timeout=60, what="the national host state, bridged in", commands=(national,))  # fmt: skip
        poll(lambda: "Sending SUBACK to aggregator-50" in topology.log("province-50"), timeout=60,
             what="the provincial aggregator's subscriptions", commands=(provincial,))  # fmt: skip
        now = current().replace(microsecond=0)
        expected: list[tuple[str, int]] = []
        for province in PROVINCES:
            site = Site(topology, province)
            sites.append(site)
            birth = Birth(site=site.site, ts=now, bd_seq=1, seq=0, cameras=[
                BirthCamera(camera_id=c, state=CameraState.UP, since=now - timedelta(hours=1)) for c in ("cam-a", "cam-b")])  # fmt: skip
            site.send(Kind.BIRTH, encode(birth))
            events = [Event(id=i, camera_id="cam-a", at=now - timedelta(minutes=10 - i),
                            state=CameraState.DOWN if i % 2 else CameraState.UP,
                            reason=Reason.UNREACHABLE if i % 2 else Reason.NONE) for i in range(1, 5)]  # fmt: skip
            site.send(Kind.EVENTS, encode(Events(site=site.site, ts=now, seq=1, events=events[:2])))
            site.send(Kind.EVENTS, encode(Events(site=site.site, ts=now, seq=2, events=events[2:])))
            expected += [(site.site, e.id) for e in events]
        # A sequence gap at the province-50 site: the primary asks for a rebirth, the secondary may not.
        gap = Event(id=9, camera_id="cam-b", at=now - timedelta(minutes=1), state=CameraState.DOWN, reason=Reason.UNREACHABLE)
        sites[1].send(Kind.EVENTS, encode(Events(site=sites[1].site, ts=now, seq=4, events=[gap])))
        expected.sort()
        national_db, provincial_db = tmp_path / "national.db", tmp_path / "province-50.db"
        poll(lambda: _committed(national_db) == expected, timeout=60, what="every event committed nationally",
             commands=(national, provincial))  # fmt: skip
        mine = [row for row in expected if row[0] == SITES["50"][0]]
        poll(lambda: _committed(provincial_db) == mine, timeout=60, what="province 50's events committed provincially",
             commands=(national, provincial))  # fmt: skip
        cnx_ack = site_topic("50", "5001", SITES["50"][0], Kind.ACK)
        cnx_cmd = site_topic("50", "5001", SITES["50"][0], Kind.CMD)
        poll(lambda: cnx_cmd in observer.topics(), timeout=60, what="the primary's rebirth command, bridged in",
             commands=(national, provincial))  # fmt: skip
        assert cnx_ack in observer.topics()
        assert national.stop() == 0 and provincial.stop() == 0
        log = topology.log("province-50")
        assert "Received PUBLISH from cnx-host-01" in log, "the broker logs every packet"
        assert "Received PUBLISH from aggregator-50" not in log, "the secondary published (ack, command or state)"
        connects = [line for line in log.splitlines() if "New client connected" in line and "aggregator-50" in line]
        assert connects and all("Will message" not in line for line in log.splitlines()
                                if "aggregator-50" in line)  # fmt: skip
        assert _committed(national_db) == expected and _committed(provincial_db) == mine  # once each, after the stop
        hosts = {json.loads(p)["host"] for t, p in observer.got if t == "camwatch/v1/host/state"}
        assert SECONDARY_HOST_NAME not in hosts
    finally:
        for site in sites:
            site.close()
        observer.close()
        national.kill()
        provincial.kill()


def test_a_stopped_provincial_broker_is_one_link_fault_on_the_national_picture(
    topology: Topology, tmp_path: Path
) -> None:
    """Province 50's broker stops: its bridges say ``0`` on the national brokers, the national
    primary opens ONE ``link`` fault for province 50 (GET /api/v1/faults) and no other fault for
    the province; the broker is back: the bridge says ``1`` and the fault is resolved."""
    port = free_port()
    national = _serve(topology, tmp_path, "national", "national-a", api_port=port)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        token = run_command("aggregator", "create-token", "--name", "link test", "--role", "admin",
                            env=operator_env(CAMWATCH_STORE__DB_PATH=str(tmp_path / "national.db")))  # fmt: skip
        assert token.returncode == 0, token.stderr
        api.headers["Authorization"] = f"Bearer {token.stdout.strip()}"

        def faults(**query: str) -> list[dict[str, object]]:
            try:
                answer = api.get("/api/v1/faults", params={"province": "50", **query})
            except httpx.HTTPError:
                return []
            return list(answer.json()) if answer.status_code == 200 else []

        poll(lambda: "province 50 link up" in national.output(), timeout=60,
             what="the national ingest reading province 50's link state", commands=(national,))  # fmt: skip
        assert faults() == []
        topology.brokers["province-50"].stop()
        [link] = poll(lambda: faults(active="true"), timeout=60, what="the link fault", commands=(national,))
        assert link["kind"] == "link" and link["status"] == "open" and link["site"] is None
        topology.brokers["province-50"].start()
        poll(lambda: faults(active="false"), timeout=60, what="the link fault resolved", commands=(national,))
        [closed] = faults()
        assert closed["id"] == link["id"] and closed["status"] == "resolved", "one fault, opened and closed"
        assert national.stop() == 0
    finally:
        api.close()
        national.kill()


def test_the_national_aggregator_moves_to_the_other_national_broker(topology: Topology, tmp_path: Path) -> None:
    """``ingest.fallback_urls``: national broker a is killed (-9); the national primary moves to b
    (its persistent session there), where the bridges keep every province's stream; events a
    province publishes before and after the kill are each committed nationally once."""
    b_url = f"mqtts://127.0.0.1:{topology.port('national-b')}"
    national = _serve(topology, tmp_path, "national", "national-a", CAMWATCH_INGEST__FALLBACK_URLS=b_url)
    site = Site(topology, "10")
    db = tmp_path / "national.db"
    try:
        poll(lambda: f"connected to MQTT broker mqtts://127.0.0.1:{topology.port('national-a')}" in national.output(),
             timeout=60, what="the national ingest on a", commands=(national,))  # fmt: skip
        now = current().replace(microsecond=0)
        birth = Birth(site=site.site, ts=now, bd_seq=1, seq=0, cameras=[
            BirthCamera(camera_id="cam-a", state=CameraState.UP, since=now - timedelta(hours=1))])  # fmt: skip
        site.send(Kind.BIRTH, encode(birth))

        def events(seq: int, first: int) -> bytes:
            batch = [Event(id=i, camera_id="cam-a", at=now - timedelta(minutes=10 - i),
                           state=CameraState.DOWN if i % 2 else CameraState.UP,
                           reason=Reason.UNREACHABLE if i % 2 else Reason.NONE) for i in (first, first + 1)]  # fmt: skip
            return encode(Events(site=site.site, ts=now, seq=seq, events=batch))

        site.send(Kind.EVENTS, events(1, 1))
        poll(lambda: _committed(db) == [(site.site, 1), (site.site, 2)], timeout=60, what="events before the kill",
             commands=(national,))  # fmt: skip
        topology.brokers["national-a"].kill()
        poll(lambda: f"MQTT broker {b_url} reachable again" in national.output(), timeout=60,
             what="the national ingest moved to b", commands=(national,))  # fmt: skip
        site.send(Kind.EVENTS, events(2, 3))
        expected = [(site.site, i) for i in range(1, 5)]
        poll(lambda: _committed(db) == expected, timeout=60, what="events after the kill, through b",
             commands=(national,))  # fmt: skip
        assert national.stop() == 0
        assert _committed(db) == expected, "each event committed once"
    finally:
        site.close()
        national.kill()
