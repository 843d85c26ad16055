"""IngestSettings: broker connection and batching for the aggregator's ingest, kept apart from the client."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.settings import AggregatorSettings
from protocol import DEFAULT_MAX_BYTES

__all__ = ["IngestSettings"]

# A batch is committed when it has this many messages or this much time passed since its
# first: big enough to amortise the fsync, short enough that live alerts stay live.
_BATCH_MAX = 1000
_BATCH_WAIT_S = 0.05
# A week: a centre upgrade or a long outage never loses the queued messages of the session.
_SESSION_EXPIRY_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Broker connection and batching for the aggregator's ingest."""

    host: str = "localhost"
    port: int = 8883
    username: str | None = "camwatch-aggregator"
    password: str | None = None
    tls: bool = True
    ca_file: str | None = None
    client_id: str = "camwatch-aggregator"
    keepalive_s: int = 30
    session_expiry_s: int = _SESSION_EXPIRY_S
    batch_max: int = _BATCH_MAX
    batch_wait_s: float = _BATCH_WAIT_S
    # Mosquitto keeps one client's QoS 1 order, so a gap is real loss; a few seconds
    # covers a bridge's reordering before asking the agent to birth and replay.
    reorder_window_s: float = 5.0
    rebirth_min_interval_s: float = 30.0
    max_payload_bytes: int = DEFAULT_MAX_BYTES
    require_enrolled: bool = True
    host_name: str = field(default_factory=socket.gethostname)

    @classmethod
    def from_settings(cls, settings: AggregatorSettings) -> IngestSettings:
        """Build from the aggregator's environment settings (``CAMWATCH_MQTT_*``)."""
        url = urlsplit(settings.mqtt_url)
        tls = url.scheme == "mqtts"
        return cls(
            host=url.hostname or "localhost",
            port=url.port or (8883 if tls else 1883),
            username=settings.mqtt_username,
            password=settings.mqtt_password.get_secret_value(),
            tls=tls,
            ca_file=str(settings.mqtt_cafile) if settings.mqtt_cafile else None,
        )
