"""The ACL blocks of the centre's own broker users: the aggregators by role, and the bridges.

Shared by aggregator.broker.acl (``enrol-site`` rewrites the whole ACL from the password file)
and ``topology render`` (which writes each broker's first ACL), so both give the same rights:

* a **primary** aggregator reads every site topic and the bridges' link states, and writes
  acks, commands, the retained host state and alerts;
* a **secondary** aggregator (a provincial control room) only reads its province's site
  topics: even a bug could not acknowledge or command a site through it;
* a province's **bridge** (user ``bridge-<PP>`` on a national broker) writes (and reads: agent
  failover) its sites' five agent kinds and its own link state, and reads its province's acks,
  commands and the host state.
"""

from __future__ import annotations

import re

from protocol import HOST_STATE_TOPIC, Kind, validate_province
from protocol.topics import ALERTS_ROOT, ROOT

__all__ = [
    "AGENT_KINDS",
    "BRIDGE_PREFIX",
    "LINK_STATE_FILTER",
    "aggregator_acl_lines",
    "bridge_acl_lines",
    "bridge_user",
    "link_state_topic",
    "province_of_bridge",
    "province_of_link_topic",
]

BRIDGE_PREFIX = "bridge-"
# Mosquitto's bridge notifications, under the bridge's remote client id (its user name).
_LINK_STATE = "$SYS/broker/connection/{}/state"
LINK_STATE_FILTER = _LINK_STATE.format("+")
_BRIDGE_RE = re.compile(r"^bridge-([1-9][0-9])$")
AGENT_KINDS = tuple(k for k in Kind if k.from_agent)


def bridge_user(province: str) -> str:
    """The user name (and remote client id) of a province's bridges on the national brokers."""
    return f"{BRIDGE_PREFIX}{validate_province(province)}"


def province_of_bridge(name: str) -> str | None:
    """The province of a bridge's client id (``bridge-10`` -> ``10``), else None."""
    match = _BRIDGE_RE.match(name)
    return match.group(1) if match else None


def link_state_topic(province: str) -> str:
    """Where Mosquitto publishes the state of a province's bridge (``1`` up, ``0`` down)."""
    return _LINK_STATE.format(bridge_user(province))


def province_of_link_topic(topic: str) -> str | None:
    """The province whose bridge a notification topic is about, else None."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[:3] != ["$SYS", "broker", "connection"] or parts[4] != "state":
        return None
    return province_of_bridge(parts[3])


def aggregator_acl_lines(user: str, *, primary: bool = True, province: str | None = None) -> list[str]:
    """The ACL block of an aggregator's broker user."""
    scope = f"{ROOT}/{validate_province(province)}" if province else f"{ROOT}/+"
    if not primary:
        return [f"user {user}", f"topic read {scope}/#"]
    return [
        f"user {user}",
        f"topic read {ROOT}/#" if not province else f"topic read {scope}/#",
        f"topic write {scope}/+/+/{Kind.ACK.value}",
        f"topic write {scope}/+/+/{Kind.CMD.value}",
        f"topic readwrite {HOST_STATE_TOPIC}",
        f"topic write {ALERTS_ROOT}/#",
        f"topic read {LINK_STATE_FILTER}",
    ]


def bridge_acl_lines(province: str) -> list[str]:
    """A province's bridge user on a national broker: its sites' topics out, replies in."""
    user = bridge_user(province)
    lines = [f"user {user}"]
    # readwrite: a failed-over agent's messages on the national broker go back in to its province
    lines += [f"topic readwrite {ROOT}/{province}/+/+/{kind.value}" for kind in AGENT_KINDS]
    lines += [f"topic read {ROOT}/{province}/+/+/{kind.value}" for kind in (Kind.ACK, Kind.CMD)]
    lines += [f"topic read {HOST_STATE_TOPIC}", f"topic write {link_state_topic(province)}"]
    return lines
