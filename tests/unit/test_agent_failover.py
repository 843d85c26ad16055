"""Agent broker failover (issue 17): the ordered broker list, when it moves on and comes back,
each change logged once; the config's fallback brokers reach the publisher."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.failover import BrokerList, Endpoint
from agent.outbox import Outbox
from agent.publisher import Publisher, PublisherSettings
from protocol import HostState

PROVINCIAL, NATIONAL_A, NATIONAL_B = Endpoint("mqtt-50", 8883), Endpoint("mqtt-a", 8883), Endpoint("mqtt-b", 8884)


def test_moves_on_after_the_timeout_and_round_the_ring(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "agent.failover")
    brokers = BrokerList([PROVINCIAL, NATIONAL_A, NATIONAL_B], failover_after_s=30, return_check_s=60, who="cnx")
    brokers.usable(0.0)
    for t in range(0, 30):  # unreachable for 29 s: stay
        brokers.unusable(100.0 + t, "unreachable")
        assert not brokers.move_due(100.0 + t)
    brokers.unusable(130.0, "unreachable")
    assert brokers.move_due(130.0)
    assert brokers.move_next(130.0) == NATIONAL_A and brokers.on_fallback
    assert not brokers.move_due(130.0), "the new broker gets its own timeout"
    brokers.unusable(150.0, "no online host there")
    assert not brokers.move_due(159.0) and brokers.move_due(160.0)
    assert brokers.move_next(160.0) == NATIONAL_B
    assert brokers.move_next(200.0) == PROVINCIAL and not brokers.on_fallback
    moves = [r.getMessage() for r in caplog.records if "moving to" in r.getMessage()]
    assert len(moves) == 3, "one line per move, none per failed attempt"
    assert moves[0] == "cnx: broker mqtt-50:8883 unusable for 30 s (unreachable); moving to mqtt-a:8883 (fallback)"
    assert "(no online host there)" in moves[1]


def test_a_usable_broker_resets_the_timeout() -> None:
    brokers = BrokerList([PROVINCIAL, NATIONAL_A], failover_after_s=30, return_check_s=60)
    brokers.unusable(0.0, "unreachable")
    brokers.usable(20.0)
    brokers.unusable(40.0, "unreachable")
    assert not brokers.move_due(60.0) and brokers.move_due(70.0)


def test_one_broker_never_moves() -> None:
    brokers = BrokerList([PROVINCIAL], failover_after_s=1, return_check_s=1)
    brokers.unusable(0.0, "unreachable")
    assert not brokers.move_due(1000.0) and not brokers.probe_due(1000.0)


def test_on_a_fallback_the_preferred_broker_is_probed_and_taken_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "agent.failover")
    brokers = BrokerList([PROVINCIAL, NATIONAL_A], failover_after_s=30, return_check_s=60, who="cnx")
    assert not brokers.probe_due(0.0), "no probe on the preferred broker"
    brokers.unusable(0.0, "unreachable")
    brokers.move_next(30.0)
    brokers.usable(31.0)
    assert not brokers.probe_due(89.0) and brokers.probe_due(90.0)
    for t in (90.0, 150.0, 210.0):  # still down: logged the first time only
        brokers.probed(t, False)
        assert not brokers.probe_due(t + 59) and brokers.probe_due(t + 60)
    assert sum("not ready yet" in r.getMessage() for r in caplog.records) == 1
    brokers.probed(270.0, True)
    assert brokers.back_to_preferred(270.0) == PROVINCIAL and not brokers.on_fallback
    assert not brokers.probe_due(10_000.0)
    assert caplog.records[-1].getMessage() == (
        "cnx: preferred broker mqtt-50:8883 and its host are back; leaving fallback mqtt-a:8883")


def test_fallback_brokers_from_the_agent_config_reach_the_publisher() -> None:
    config = parse_config({
        "site": {"site_id": "cnx-001", "province": "50", "district": "5001"},
        "broker": {"host": "mqtt-50.camwatch.example", "fallback": [{"host": "mqtt-a.camwatch.example"},
                                                                     {"host": "mqtt-b.camwatch.example", "port": 8884}],
                   "failover_after_s": 20, "return_check_s": 120},
    })  # fmt: skip
    settings = PublisherSettings.from_config(config, agent_version="1.0")
    assert settings.host == "mqtt-50.camwatch.example"
    assert settings.fallbacks == (("mqtt-a.camwatch.example", 8883), ("mqtt-b.camwatch.example", 8884))
    assert (settings.failover_after_s, settings.return_check_s) == (20.0, 120.0)
    assert parse_config({"site": {"site_id": "x-1", "province": "10", "district": "1001"}}).broker.fallback == []


def test_paho_reconnect_chatter_is_dropped_other_paho_lines_kept(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "agent.publisher.paho")
    paho = logging.getLogger("agent.publisher.paho")
    paho.error("Client is not connected. Socket: None). Last known Connection State: MQTT_CS_CONNECTING")
    paho.error("failed to receive on socket: [Errno 104] Connection reset by peer")
    assert [r.getMessage() for r in caplog.records] == ["failed to receive on socket: [Errno 104] Connection reset by peer"]


def test_host_states_older_than_one_seen_are_ignored_the_wills_own_ts_is_not(tmp_path: Path) -> None:
    """Sparkplug 3.0: the primary's online state and its connection's will share one ts
    (aggregator.ingest.connection), new for each broker it is aimed at. An agent behind two
    bridged national brokers ignores an older state (the will of the primary's earlier
    connection to the other broker, bridged in late) but never the current connection's will."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    publisher = Publisher(PublisherSettings(site="cnx-001", province="50", district="5001", host="127.0.0.1",
                                            tls=False, fallbacks=(("127.0.0.2", 1883),)), outbox, snapshot=list)  # fmt: skip
    t1, t2 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC), datetime(2026, 11, 25, 3, 5, tzinfo=UTC)
    try:
        publisher._on_host_state(HostState(online=True, ts=t2))  # noqa: SLF001
        assert publisher._centre_online  # noqa: SLF001
        publisher._on_host_state(HostState(online=False, ts=t1))  # noqa: SLF001  # the other broker's old will
        assert publisher._centre_online, "a stale offline state was believed"  # noqa: SLF001
        publisher._on_host_state(HostState(online=False, ts=t2))  # noqa: SLF001  # this connection's will
        assert not publisher._centre_online  # noqa: SLF001
        publisher._on_host_state(HostState(online=True, ts=t2 + timedelta(minutes=1)))  # noqa: SLF001
        assert publisher._centre_online  # noqa: SLF001
    finally:
        outbox.close()
