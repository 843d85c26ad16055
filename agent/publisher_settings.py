"""The publisher's settings: what it needs from the agent config, built in one place.

Kept apart from agent/publisher.py because they are plain data: the demo fleet, the rigs and
the benchmarks build them by hand, while ``from_config`` is the one builder from agent.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import AgentConfig
from .version import agent_version as installed_version

__all__ = ["PublisherSettings"]


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    """What the publisher needs from the agent config (broker and site sections)."""

    site: str
    province: str
    district: str
    host: str
    port: int = 8883
    username: str | None = None
    password: str | None = None
    tls: bool = True
    ca_file: str | None = None
    cert_file: str | None = None  # client certificate and key, for mutual TLS
    key_file: str | None = None
    client_id: str | None = None
    keepalive_s: int = 60
    heartbeat_interval_s: float = 60.0
    batch_size: int = 500
    max_payload_bytes: int = 256 * 1024
    reconnect_min_s: int = 1
    reconnect_max_s: int = 120
    # Random wait before the first connect and the first reconnect after a drop, so
    # 15,000 sites do not hit a restarted broker in the same second.
    jitter_s: float = 10.0
    # Sent in every birth: the centre shows which sites run which release.
    agent_version: str = field(default_factory=installed_version)
    # Brokers tried after host:port, in order (agent.failover); same credentials and TLS.
    fallbacks: tuple[tuple[str, int], ...] = ()
    failover_after_s: float = 30.0
    return_check_s: float = 60.0
    probe_timeout_s: float = 5.0

    @classmethod
    def from_config(cls, config: AgentConfig, *, agent_version: str | None = None) -> PublisherSettings:
        """Build the settings from the agent config: the one place they are built.

        The broker password is resolved from its reference; ``agent_version`` defaults to
        the installed package's version.
        """
        b, site = config.broker, config.site
        return cls(
            site=site.site_id,
            province=site.province,
            district=site.district,
            host=b.host,
            port=b.port,
            username=b.username or site.site_id,
            password=b.resolve_password(),
            tls=b.tls,
            ca_file=str(b.ca_file) if b.ca_file else None,
            cert_file=str(b.cert_file) if b.cert_file else None,
            key_file=str(b.key_file) if b.key_file else None,
            client_id=b.client_id,
            keepalive_s=b.keepalive_s,
            heartbeat_interval_s=float(b.heartbeat_interval_s),
            jitter_s=b.connect_jitter_s,
            agent_version=agent_version or installed_version(),
            fallbacks=tuple((f.host, f.port) for f in b.fallback),
            failover_after_s=b.failover_after_s,
            return_check_s=b.return_check_s,
        )
