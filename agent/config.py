"""Agent configuration: one YAML file validated by pydantic, secrets kept elsewhere.

Every model derives from :class:`~agent.config_base.ConfigModel` (``extra="forbid"``), so a
typo in the YAML fails at start-up with the key's full path. Secrets never live in the main YAML:

* the broker password is a *reference*, ``env:NAME`` or ``credential:NAME`` (a file in
  systemd's ``$CREDENTIALS_DIRECTORY``, filled by ``LoadCredential=``);
* camera passwords live in a separate secrets YAML that must be mode 0600
  (:func:`load_secrets`), referred to by name from each camera.

The sections are split by concern: the base model and YAML reader in :mod:`agent.config_base`,
the check thresholds in :mod:`agent.config_checks`, everything secret in
:mod:`agent.config_secrets`; this module is the tree (site, broker, discovery, cameras, outbox)
and its loader, and re-exports the rest so ``from agent.config import ...`` keeps working.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from protocol import redact_uri
from protocol.errors import TopicError
from protocol.topics import validate_district, validate_province, validate_site_id

from .config_base import ConfigError, ConfigModel, read_yaml
from .config_checks import (
    ChecksConfig,
    DriftThresholds,
    HealthConfig,
    NightThresholds,
    PictureThresholds,
)
from .config_secrets import (
    DEFAULT_SECRETS_CREDENTIAL,
    DEFAULT_SECRETS_PATH,
    Credential,
    CredentialsConfig,
    Secrets,
    load_secrets,
    resolve_secret,
    secret_ref,
)
from .recording.settings import RecordingConfig

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_SECRETS_CREDENTIAL",
    "DEFAULT_SECRETS_PATH",
    "DEFAULT_STATE_DIR",
    "AgentConfig",
    "BrokerConfig",
    "CameraConfig",
    "ChecksConfig",
    "ConfigError",
    "Credential",
    "CredentialsConfig",
    "DiscoveryConfig",
    "DriftThresholds",
    "FallbackBroker",
    "HealthConfig",
    "NightThresholds",
    "OutboxConfig",
    "PictureThresholds",
    "Secrets",
    "SiteConfig",
    "load_config",
    "load_secrets",
    "parse_config",
    "resolve_secret",
]

DEFAULT_CONFIG_PATH = Path("/etc/camwatch-agent/agent.yaml")
DEFAULT_STATE_DIR = Path("/var/lib/camwatch-agent")


class SiteConfig(ConfigModel):
    """Who this site is: the identity every message carries."""

    site_id: str = Field(description="Site id issued at enrolment; also the MQTT username")
    province: str = Field(description="Two-digit DOPA province code, e.g. '10' (Bangkok)")
    district: str = Field(description="Four-digit DOPA district code inside the province, e.g. '1001'")
    name: str = Field(default="", max_length=200, description="Human name of the site")
    agency: str = Field(default="", max_length=200, description="Owning agency")
    lat: float | None = Field(default=None, ge=-90, le=90, description="Latitude (WGS84)")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Longitude (WGS84)")

    @field_validator("site_id")
    @classmethod
    def _site(cls, value: str) -> str:
        try:
            return validate_site_id(value)
        except TopicError as err:
            raise ValueError(str(err)) from err

    @field_validator("province")
    @classmethod
    def _province(cls, value: str) -> str:
        try:
            return validate_province(value)
        except TopicError as err:
            raise ValueError(str(err)) from err

    @model_validator(mode="after")
    def _district_in_province(self) -> SiteConfig:
        try:
            validate_district(self.district, self.province)
        except TopicError as err:
            raise ValueError(str(err)) from err
        return self


class FallbackBroker(ConfigModel):
    """A broker the agent moves to when the one before it in the list is unusable (issue 17)."""

    host: str = Field(min_length=1, max_length=253, description="Broker host")
    port: int = Field(default=8883, ge=1, le=65535, description="Broker port")


class BrokerConfig(ConfigModel):
    """MQTT broker connection (used by the publisher)."""

    host: str = Field(default="localhost", min_length=1, max_length=253, description="Broker host")
    port: int = Field(default=8883, ge=1, le=65535, description="Broker port (8883 = MQTT over TLS)")
    tls: bool = Field(default=True, description="Use TLS; turn off only on a lab network")
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the broker (None = system CAs)")
    cert_file: Path | None = Field(default=None, description="Client certificate (mutual TLS)")
    key_file: Path | None = Field(default=None, description="Client key (mutual TLS)")
    username: str | None = Field(default=None, max_length=64, description="MQTT user (None = site id)")
    password: str = Field(
        default="credential:broker-password",
        description="Reference to the password: 'env:VARIABLE' or 'credential:NAME' (LoadCredential)",
    )
    client_id: str | None = Field(default=None, max_length=64, description="MQTT client id (None = site id)")
    keepalive_s: int = Field(default=60, ge=5, le=3600, description="MQTT keepalive")
    heartbeat_interval_s: int = Field(default=60, ge=5, le=3600, description="Heartbeat period")
    connect_jitter_s: float = Field(
        default=10.0, ge=0, le=600,
        description="Random wait before (re)connecting, so thousands of sites do not reconnect at once",
    )
    fallback: list[FallbackBroker] = Field(
        default_factory=list, max_length=8,
        description="Brokers tried in order after this one (a national broker behind the provincial one); "
                    "same credentials and TLS",
    )
    failover_after_s: float = Field(
        default=30.0, ge=1, le=3600,
        description="Move to the next broker after the current one is unreachable or has no online host this long",
    )
    return_check_s: float = Field(
        default=60.0, ge=1, le=86400, description="On a fallback, how often to check that the preferred broker is back",
    )

    @field_validator("password")
    @classmethod
    def _password_is_reference(cls, value: str) -> str:
        return secret_ref(value)

    @model_validator(mode="after")
    def _mutual_tls(self) -> BrokerConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS needs both)")
        if self.cert_file is not None and not self.tls:
            raise ValueError("cert_file and key_file need tls: true (a client certificate is sent only over TLS)")
        return self

    def resolve_password(self) -> str | None:
        """Return the broker password from the environment or credentials directory."""
        return resolve_secret(self.password)


class DiscoveryConfig(ConfigModel):
    """How cameras are found (WS-Discovery multicast plus unicast probes)."""

    ws_discovery: bool = Field(default=True, description="Send WS-Discovery multicast probes")
    interfaces: list[str] = Field(
        default_factory=list, max_length=32,
        description="IPv4 addresses of local interfaces to probe from (empty = default route)",
    )
    unicast_targets: list[str] = Field(
        default_factory=list, max_length=1024,
        description="IPs or CIDR ranges probed by unicast (routed VLANs multicast does not reach)",
    )
    onvif_ports: list[int] = Field(
        default_factory=lambda: [80, 8000, 8080, 8899, 2020], min_length=1, max_length=16,
        description="ONVIF HTTP ports tried on unicast targets",
    )
    probe_timeout_s: float = Field(default=3.0, ge=0.2, le=60, description="Wait for probe replies")
    max_hosts: int = Field(default=4096, ge=1, le=65536, description="Cap on hosts from CIDR ranges")

    @field_validator("interfaces")
    @classmethod
    def _interfaces(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.IPv4Address(value)
            except ValueError as err:
                raise ValueError(f"interface {value!r} is not an IPv4 address") from err
        return values

    @field_validator("unicast_targets")
    @classmethod
    def _targets(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError as err:
                raise ValueError(f"unicast target {value!r} is not an IP address or CIDR range") from err
        return values

    @field_validator("onvif_ports")
    @classmethod
    def _ports(cls, values: list[int]) -> list[int]:
        for port in values:
            if not 1 <= port <= 65535:
                raise ValueError(f"ONVIF port {port} is outside 1-65535")
        return values

    def unicast_addresses(self) -> list[str]:
        """Expand targets into host addresses, de-duplicated, at most ``max_hosts``."""
        seen: dict[str, None] = {}
        for target in self.unicast_targets:
            net = ipaddress.ip_network(target, strict=False)
            hosts = [net.network_address] if net.num_addresses == 1 else net.hosts()
            for host in hosts:
                seen.setdefault(str(host))
                if len(seen) >= self.max_hosts:
                    return list(seen)
        return list(seen)


class CameraConfig(ConfigModel):
    """One camera to check (written by ``camwatch-agent init`` or by hand)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="Stable camera key")
    name: str = Field(default="", max_length=200, description="Human name")
    address: str = Field(min_length=1, max_length=253, description="IP address or host name")
    onvif_port: int | None = Field(default=80, ge=1, le=65535, description="ONVIF port (None = no ONVIF)")
    rtsp_port: int = Field(default=554, ge=1, le=65535, description="RTSP port checked for reachability when no stream URI")
    stream_uri: str = Field(default="", max_length=512, description="RTSP URI without credentials")
    snapshot_uri: str = Field(default="", max_length=512, description="HTTP snapshot URI (fallback)")
    video_source: str = Field(default="", max_length=64, description="ONVIF video-source token")
    credential: str | None = Field(default=None, max_length=64, description="Name in the secrets file")
    enabled: bool = Field(default=True, description="Check this camera")

    @field_validator("stream_uri", "snapshot_uri")
    @classmethod
    def _no_userinfo(cls, value: str) -> str:
        if value and redact_uri(value) != value:
            raise ValueError("must not contain a user or password: put them in the secrets file")
        if value and not value.lower().startswith(("rtsp://", "rtsps://", "http://", "https://")):
            raise ValueError("must be an rtsp:// or http(s):// URI")
        return value

    @model_validator(mode="after")
    def _something_to_check(self) -> CameraConfig:
        if not self.stream_uri and not self.snapshot_uri and self.onvif_port is None:
            raise ValueError(f"camera {self.id}: give a stream_uri, a snapshot_uri or an onvif_port")
        return self


class OutboxConfig(ConfigModel):
    """Durable event queue (SQLite) kept until the centre acknowledges."""

    path: Path | None = Field(default=None, description="SQLite file (None = <state_dir>/outbox.sqlite3)")
    max_events: int = Field(default=100_000, ge=100, le=10_000_000, description="Compact beyond this")


class AgentConfig(ConfigModel):
    """The whole agent configuration file."""

    site: SiteConfig
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    cameras: list[CameraConfig] = Field(default_factory=list, max_length=4096)
    credentials: CredentialsConfig = Field(default_factory=CredentialsConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    state_dir: Path = Field(default=DEFAULT_STATE_DIR, description="Writable state (outbox, references)")

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> AgentConfig:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.id in seen:
                raise ValueError(f"camera id {cam.id!r} appears twice")
            seen.add(cam.id)
        for cam_id in self.recording.recorder_of():
            if cam_id not in seen:
                raise ValueError(f"recording: camera {cam_id!r} is not in cameras")
        return self

    def outbox_path(self) -> Path:
        """The outbox file, defaulting into the state directory."""
        return self.outbox.path or self.state_dir / "outbox.sqlite3"


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        lines.append(f"  {where}: {msg}")
    return f"{source}: invalid configuration:\n" + "\n".join(lines)


def parse_config(data: Any, source: str = "config") -> AgentConfig:
    """Validate an already-parsed mapping, raising ConfigError naming every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from err


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> AgentConfig:
    """Read and validate the agent YAML file."""
    path = Path(path)
    return parse_config(read_yaml(path), str(path))
