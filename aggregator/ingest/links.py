"""Bridge notifications read by the national ingest: which province's link a ``$SYS`` topic is about.

Mosquitto publishes a retained ``1``/``0`` on ``$SYS/broker/connection/<client id>/state`` for
each bridge connected to it (``notifications true``; the ``0`` is the bridge's will). A rendered
topology names every provincial bridge ``bridge-<PP>`` on the national brokers
(aggregator.broker.roles, which lives above ingest and so is not imported here).
"""

from __future__ import annotations

import re

__all__ = ["LINK_STATE_FILTER", "parse_link_state"]

LINK_STATE_FILTER = "$SYS/broker/connection/+/state"
_TOPIC = re.compile(r"^\$SYS/broker/connection/bridge-([1-9][0-9])/state$")


def parse_link_state(topic: str, payload: bytes) -> tuple[str, bool] | None:
    """(province, up) of a bridge notification, or None for another bridge or payload."""
    match = _TOPIC.match(topic)
    if match is None or payload.strip() not in (b"0", b"1"):
        return None
    return match.group(1), payload.strip() == b"1"
