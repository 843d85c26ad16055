"""A national topology as shipped configuration (issue 17): ``topology render`` for three
provinces and two national brokers, every broker a real Mosquitto started from its rendered
files (ports rewritten): a site's event on a provincial broker reaches both national brokers
through the bridges, the national aggregator's ack reaches the site back through one of
them, each bridge says ``1`` on its ``$SYS`` notification topic, and nothing loops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.broker.roles import link_state_topic
from protocol import HOST_STATE_TOPIC, Kind, site_topic
from tests.rig.site_client import wait_until
from tests.rig.topology import Reader, Topology, render_topology

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PROVINCES = ["10", "50", "90"]
SITE, DISTRICT, SITE_PASSWORD = "cnx-bridge-01", "5001", "site-password-of-the-bridge-test"


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    topo = render_topology(tmp_path, PROVINCES, ["a", "b"])
    try:
        topo.start()
        yield topo
    finally:
        topo.stop()


def test_rendered_topology_carries_a_province_to_both_nationals_and_replies_back(topology: Topology) -> None:
    events = site_topic("50", DISTRICT, SITE, Kind.EVENTS)
    ack = site_topic("50", DISTRICT, SITE, Kind.ACK)
    topology.add_account("province-50", SITE, SITE_PASSWORD, [f"topic write {events}", f"topic read {ack}",
                                                  f"topic read {HOST_STATE_TOPIC}"])  # fmt: skip
    links = [link_state_topic(p) for p in PROVINCES]
    nationals = {n: Reader(topology.client(f"national-{n}", "aggregator", client_id=f"aggregator-{n}"),
                           ["camwatch/v1/#", "$SYS/broker/connection/+/state"]) for n in ("a", "b")}  # fmt: skip
    try:
        for reader in nationals.values():  # every province's bridges are up on both nationals
            wait_until(lambda r=reader: all((t, b"1") in r.got for t in links), "every bridge's state 1", 30)  # type: ignore[misc]
        site = Reader(topology.client("province-50", SITE, SITE_PASSWORD), [ack, HOST_STATE_TOPIC])
        site.client.publish(events, b"event-1", qos=1).wait_for_publish(10)
        for reader in nationals.values():
            wait_until(lambda r=reader: (events, b"event-1") in r.got, "the event on both national brokers", 20)  # type: ignore[misc]
        # The national aggregator acknowledges on broker a: the bridge carries it in to the site.
        nationals["a"].client.publish(ack, b"ack-1", qos=1).wait_for_publish(10)
        wait_until(lambda: (ack, b"ack-1") in site.got, "the ack at the site", 20)
        # The host state comes in too (retained on a).
        nationals["a"].client.publish(HOST_STATE_TOPIC, b"host-online", qos=1, retain=True).wait_for_publish(10)
        wait_until(lambda: (HOST_STATE_TOPIC, b"host-online") in site.got, "the host state at the site", 20)
        # No loop: the ack that came in from a never goes out to b.
        site.client.publish(events, b"event-2", qos=1).wait_for_publish(10)
        for reader in nationals.values():
            wait_until(lambda r=reader: (events, b"event-2") in r.got, "the second event on both", 20)  # type: ignore[misc]
        assert nationals["b"].topics().count(ack) == 0, "an ack came in from a and went out to b"
        assert nationals["a"].topics().count(events) == 2 and nationals["b"].topics().count(events) == 2
        site.close()
    finally:
        for reader in nationals.values():
            reader.close()


def test_a_cut_link_is_announced_and_its_queue_fills_the_gap(topology: Topology) -> None:
    """The engines issue 17's link faults stand on: while national broker b is down, province
    50's bridge to b queues the province's events (cleansession false, persistence) and b gets
    each of them once when it returns; a provincial broker that stops says ``0`` on its link
    topic on both national brokers (retained), and ``1`` again when it is back."""
    events = site_topic("50", DISTRICT, SITE, Kind.EVENTS)
    topology.add_account("province-50", SITE, SITE_PASSWORD, [f"topic write {events}"])
    link = link_state_topic("50")
    # The national aggregator's persistent session on b, then b goes down (saving it).
    Reader(topology.client("national-b", "aggregator", persistent=True), ["camwatch/v1/#"]).close()
    topology.brokers["national-b"].stop()
    a = Reader(topology.client("national-a", "aggregator"), ["camwatch/v1/#", link])
    site = Reader(topology.client("province-50", SITE, SITE_PASSWORD), [])
    try:
        for i in range(3):
            site.client.publish(events, f"during-cut-{i}".encode(), qos=1).wait_for_publish(10)
        wait_until(lambda: sum(t == events for t in a.topics()) == 3, "the events live on a", 20)
        topology.brokers["national-b"].start()
        b = Reader(topology.client("national-b", "aggregator", persistent=True), ["camwatch/v1/#", link])
        wait_until(lambda: (link, b"1") in b.got, "the bridge to b back up", 40)
        during = [(events, f"during-cut-{i}".encode()) for i in range(3)]
        wait_until(lambda: all(m in b.got for m in during), "the bridge's queue delivered to b", 40)
        site.client.publish(events, b"after-cut", qos=1).wait_for_publish(10)
        wait_until(lambda: (events, b"after-cut") in b.got, "the event after the cut on b", 20)
        assert [m for m in b.got if m[0] == events] == [*during, (events, b"after-cut")], "lost, doubled or reordered"
        b.close()
        topology.brokers["province-50"].stop()
        wait_until(lambda: (link, b"0") in a.got, "province 50's link down on a", 40)
        topology.brokers["province-50"].start()
        wait_until(lambda: a.got.count((link, b"1")) >= 2, "province 50's link up again on a", 40)
    finally:
        site.close()
        a.close()
