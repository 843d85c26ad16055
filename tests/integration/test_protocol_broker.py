"""Every message kind through a real Mosquitto, validated on arrival (issue 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocol import (
    HOST_STATE_TOPIC,
    Ack,
    Birth,
    BirthCamera,
    CameraState,
    Command,
    CommandKind,
    Death,
    Event,
    Events,
    Heartbeat,
    HostState,
    Kind,
    Reason,
    SessionTracker,
    decode,
    decode_site_message,
    encode,
    site_topic,
    split_birth,
)
from tests.clock import current
from tests.rig.mosquitto import Broker
from tests.rig.mqtt import Collector

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("now")]  # the pinned clock: tests/conftest.py
SITE = ("10", "1001", "bkk-0001")


def _publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="publisher")
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    return client


def test_every_kind_arrives_valid(mosquitto: Broker) -> None:
    now = current()
    collector = Collector(mosquitto.port, ["camwatch/v1/#"])
    cam = BirthCamera(camera_id="SN1:vs0", state=CameraState.UP, since=now)
    sent = {
        Kind.BIRTH: Birth(site=SITE[2], ts=now, bd_seq=1, cameras=[cam]),
        Kind.EVENTS: Events(
            site=SITE[2], ts=now, seq=1,
            events=[Event(id=1, camera_id="SN1:vs0", at=now, state=CameraState.DEGRADED, reason=Reason.FROZEN)],
        ),
        Kind.HEARTBEAT: Heartbeat(site=SITE[2], ts=now, seq=2, cameras={"SN1:vs0": CameraState.DEGRADED}),
        Kind.DEATH: Death(site=SITE[2], ts=now, bd_seq=1),
        Kind.ACK: Ack(site=SITE[2], ts=now, event_id=1),
        Kind.CMD: Command(site=SITE[2], ts=now, cmd_id="c-1", command=CommandKind.CHECK_NOW, camera_id="SN1:vs0"),
    }
    client = _publisher(mosquitto.port)
    for kind, message in sent.items():
        client.publish(site_topic(*SITE, kind), encode(message), qos=1).wait_for_publish(10)
    client.publish(HOST_STATE_TOPIC, encode(HostState(online=True, ts=now)), qos=1, retain=True).wait_for_publish(10)
    received = collector.wait_for(len(sent) + 1)
    by_topic = {m.topic: m for m in received}
    for kind, message in sent.items():
        topic, decoded = decode_site_message(site_topic(*SITE, kind), by_topic[site_topic(*SITE, kind)].payload)
        assert decoded == message
        assert topic.kind is kind
    assert decode(HostState, by_topic[HOST_STATE_TOPIC].payload).online
    client.disconnect()
    client.loop_stop()
    collector.close()


def test_retained_host_state_reaches_a_late_subscriber(mosquitto: Broker) -> None:
    client = _publisher(mosquitto.port)
    state = HostState(online=True, ts=current(), host="central")
    client.publish(HOST_STATE_TOPIC, encode(state), qos=1, retain=True).wait_for_publish(10)
    late = Collector(mosquitto.port, [HOST_STATE_TOPIC])
    msg = late.wait_for(1)[0]
    assert msg.retain and decode(HostState, msg.payload) == state
    late.close()
    client.disconnect()
    client.loop_stop()


def test_split_birth_parts_travel_and_reassemble(mosquitto: Broker) -> None:
    from protocol import BirthAssembler

    now = current()
    cams = [BirthCamera(camera_id=f"SN{i}:vs0", name=f"cam {i}", state=CameraState.UP, since=now) for i in range(1000)]
    parts = split_birth(Birth(site=SITE[2], ts=now, bd_seq=3, cameras=cams), max_bytes=32 * 1024)
    assert len(parts) > 1
    collector = Collector(mosquitto.port, [site_topic(*SITE, Kind.BIRTH)])
    client = _publisher(mosquitto.port)
    for part in parts:
        client.publish(site_topic(*SITE, Kind.BIRTH), encode(part), qos=1).wait_for_publish(10)
    assembler = BirthAssembler()
    whole = None
    for msg in collector.wait_for(len(parts)):
        _, message = decode_site_message(msg.topic, msg.payload)
        assert isinstance(message, Birth)
        whole = assembler.add(message) or whole
    assert whole is not None and [c.camera_id for c in whole.cameras] == [c.camera_id for c in cams]
    collector.close()
    client.disconnect()
    client.loop_stop()


AGENT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from protocol import Death, Kind, encode, site_topic
    port, bd_seq, ts = int(sys.argv[1]), int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="agent-bkk-0001")
    death = Death(site="bkk-0001", ts=ts, bd_seq=bd_seq)
    c.will_set(site_topic("10", "1001", "bkk-0001", Kind.DEATH), encode(death), qos=1)
    c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    print("connected", flush=True)
    time.sleep(600)
    """
)


def test_will_is_delivered_when_the_agent_is_killed(mosquitto: Broker, now: datetime) -> None:
    collector = Collector(mosquitto.port, [site_topic(*SITE, Kind.DEATH)])
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT_SCRIPT, str(mosquitto.port), "42", now.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert agent.stdout is not None and agent.stdout.readline().strip() == "connected"
        agent.kill()  # kill -9: the broker, not the agent, announces the death
        agent.wait(10)
        msg = collector.wait_for(1)[0]
        _, death = decode_site_message(msg.topic, msg.payload)
        assert isinstance(death, Death) and death.bd_seq == 42
        tracker = SessionTracker()
        tracker.on_birth(bd_seq=43)  # the agent already came back: this will is late
        assert tracker.on_death(death.bd_seq) is False
    finally:
        agent.kill()
        collector.close()


def test_broker_restart_keeps_retained_host_state(mosquitto: Broker) -> None:
    client = _publisher(mosquitto.port)
    state = HostState(online=True, ts=current())
    client.publish(HOST_STATE_TOPIC, encode(state), qos=1, retain=True).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    mosquitto.restart()  # graceful: persistence is written
    collector = Collector(mosquitto.port, [HOST_STATE_TOPIC])
    assert decode(HostState, collector.wait_for(1)[0].payload) == state
    collector.close()
