"""Agent configuration: one YAML file validated by pydantic, secrets kept elsewhere.

Every model derives from :class:`_Config` (``extra="forbid"``), so a typo in the YAML fails
at start-up with the key's full path. Secrets never live in the main YAML:

* the broker password is a *reference*, ``env:NAME`` or ``credential:NAME`` (a file in
  systemd's ``$CREDENTIALS_DIRECTORY``, filled by ``LoadCredential=``);
* camera passwords live in a separate secrets YAML that must be mode 0600
  (:func:`load_secrets`), referred to by name from each camera.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from protocol import redact_uri
from protocol.errors import TopicError
from protocol.topics import validate_district, validate_province, validate_site_id

from .recording.settings import RecordingConfig

__all__ = [
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
# File name looked up in $CREDENTIALS_DIRECTORY when credentials.file is not set.
DEFAULT_SECRETS_CREDENTIAL = "camera-credentials"
# Where the installer keeps the secrets file (root, 0600); the service reads it through
# LoadCredential, the installer's own ``camwatch-agent check`` (as root) reads it directly.
DEFAULT_SECRETS_PATH = Path("/etc/camwatch-agent/cameras.yaml")
_SECRET_PREFIXES = ("env:", "credential:")


class ConfigError(Exception):
    """The configuration or secrets file is missing, unreadable or invalid."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_secret(ref: str) -> str | None:
    """Return the secret a reference points to (``env:NAME`` / ``credential:NAME``), or None."""
    if ref.startswith("env:"):
        return os.environ.get(ref[4:]) or None
    if ref.startswith("credential:"):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            return None
        path = Path(directory) / ref[len("credential:"):]
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    raise ConfigError(f"secret reference must start with env: or credential:, got {ref[:12]!r}...")


def _secret_ref(value: str) -> str:
    if not value.startswith(_SECRET_PREFIXES) or not value.split(":", 1)[1]:
        # Never echo the value: it is probably the password itself.
        raise ValueError(
            "must be a reference 'env:VARIABLE' or 'credential:NAME' (systemd LoadCredential); "
            "a password is never written in the config file"
        )
    return value


class SiteConfig(_Config):
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


class FallbackBroker(_Config):
    """A broker the agent moves to when the one before it in the list is unusable (issue 17)."""

    host: str = Field(min_length=1, max_length=253, description="Broker host")
    port: int = Field(default=8883, ge=1, le=65535, description="Broker port")


class BrokerConfig(_Config):
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
        return _secret_ref(value)

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


class DiscoveryConfig(_Config):
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


class CameraConfig(_Config):
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


class CredentialsConfig(_Config):
    """Where camera credentials are kept."""

    file: Path | None = Field(
        default=None,
        description=(
            "Secrets YAML (mode 0600); None = $CREDENTIALS_DIRECTORY/camera-credentials under "
            "systemd, else /etc/camwatch-agent/cameras.yaml when it exists"
        ),
    )

    def path(self) -> Path | None:
        """The secrets file to read, or None when there is none."""
        if self.file is not None:
            return self.file
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if directory:
            return Path(directory) / DEFAULT_SECRETS_CREDENTIAL
        return DEFAULT_SECRETS_PATH if DEFAULT_SECRETS_PATH.exists() else None


class PictureThresholds(_Config):
    """Picture-check thresholds; the defaults are justified in agent/picture.py."""

    black_max_mean: float = Field(default=16.0, ge=0, le=255, description="Mean grey at or below = no video")
    black_max_std: float = Field(default=6.0, ge=0, le=128, description="...and grey spread at or below")
    frozen_max_block_diff: float = Field(
        default=3.0, ge=0, le=255, description="Largest block mean difference still counted as codec noise"
    )
    blur_min_sharpness: float = Field(default=0.05, ge=0, le=10, description="Normalised Laplacian variance below = blurred")
    covered_max_std: float = Field(default=8.0, ge=0, le=128, description="Grey spread below = covered")
    covered_max_edge_density: float = Field(default=0.01, ge=0, le=1, description="...with an edge pixel fraction below")
    covered_min_uniform_fraction: float = Field(
        default=0.75, ge=0, le=1, description="Share of the picture in one flat patch at or above = covered"
    )
    scene_min_similarity: float = Field(default=0.7, ge=-1, le=1, description="Edge correlation with reference below = moved")
    min_fps: float = Field(default=2.0, ge=0, le=240, description="Measured frame rate below = low_fps")


class NightThresholds(_Config):
    """Night-vision checks; the defaults are justified in agent/night.py."""

    enabled: bool = Field(default=True, description="Judge night pictures (needs site.lat and site.lon)")
    black_max_mean: float = Field(default=24.0, ge=0, le=255, description="Night picture mean grey at or below = night_black")
    max_structure: float = Field(
        default=6.0, ge=0, le=128, description="Spread of block means at or below = no scene (night_black / night_no_ir)")


class DriftThresholds(_Config):
    """Stream drift against the ONVIF profile; the defaults are justified in agent/drift.py."""

    enabled: bool = Field(default=True, description="Compare the stream with its ONVIF profile")
    window: int = Field(default=3, ge=1, le=100, description="Checks averaged before drift is judged")
    min_fps_ratio: float = Field(default=0.7, ge=0, le=1, description="Mean measured/configured frame rate below = low_fps")
    min_bitrate_ratio: float = Field(
        default=0.3, ge=0, le=1, description="Mean measured/configured bit rate below = low_bitrate")
    bitrate_every: int = Field(default=5, ge=1, le=1000, description="Measure the bit rate every Nth check")
    bitrate_packets: int = Field(default=10, ge=2, le=500, description="Packets read per bit-rate sample")


class ChecksConfig(_Config):
    """How often and how hard each camera is checked."""

    interval_s: float = Field(default=60.0, ge=1, le=3600, description="Check every camera this often")
    jitter_s: float = Field(default=5.0, ge=0, le=600, description="Random start offset per camera per cycle")
    concurrency: int = Field(default=8, ge=1, le=256, description="Cameras checked at the same time")
    tcp_timeout_s: float = Field(default=3.0, gt=0, le=60, description="TCP connect to the camera")
    onvif_timeout_s: float = Field(default=5.0, gt=0, le=120, description="ONVIF liveness call")
    rtsp_open_timeout_s: float = Field(default=8.0, gt=0, le=120, description="RTSP open until the stream is set up")
    rtsp_read_timeout_s: float = Field(default=4.0, gt=0, le=120, description="Wait for each frame")
    snapshot_timeout_s: float = Field(default=5.0, gt=0, le=120, description="HTTP snapshot download")
    burst_frames: int = Field(default=5, ge=2, le=100, description="Frames read per check (fps, frozen)")
    max_clock_skew_s: float = Field(default=300.0, ge=1, le=86400 * 365, description="Camera clock off by more = clock_skew")
    picture: PictureThresholds = Field(default_factory=PictureThresholds)
    night: NightThresholds = Field(default_factory=NightThresholds)
    drift: DriftThresholds = Field(default_factory=DriftThresholds)

    @model_validator(mode="after")
    def _jitter_below_interval(self) -> ChecksConfig:
        if self.jitter_s >= self.interval_s:
            raise ValueError(f"jitter_s ({self.jitter_s}) must be below interval_s ({self.interval_s})")
        return self


class HealthConfig(_Config):
    """Hysteresis: how many consecutive checks confirm a new state."""

    confirm_down: int = Field(default=2, ge=1, le=100, description="Checks confirming down")
    confirm_degraded: int = Field(default=2, ge=1, le=100, description="Checks confirming degraded")
    confirm_up: int = Field(default=2, ge=1, le=100, description="Checks confirming recovery")


class OutboxConfig(_Config):
    """Durable event queue (SQLite) kept until the centre acknowledges."""

    path: Path | None = Field(default=None, description="SQLite file (None = <state_dir>/outbox.sqlite3)")
    max_events: int = Field(default=100_000, ge=100, le=10_000_000, description="Compact beyond this")


class AgentConfig(_Config):
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


class Credential(_Config):
    """A user name and password for a camera (never logged: the password is a SecretStr)."""

    username: str = Field(default="", max_length=128)
    password: SecretStr = Field(default=SecretStr(""))


class Secrets(_Config):
    """The camera secrets file: named credentials and the order to try them in."""

    credentials: dict[str, Credential] = Field(default_factory=dict)
    try_order: list[str] = Field(
        default_factory=list, description="Credential names tried on cameras without their own"
    )

    @model_validator(mode="after")
    def _known_names(self) -> Secrets:
        for name in self.try_order:
            if name not in self.credentials:
                raise ValueError(f"try_order names {name!r}, which is not under credentials")
        return self

    def for_camera(self, camera: CameraConfig) -> list[Credential]:
        """Credentials to use for ``camera``: its own, else every set in try_order."""
        if camera.credential is not None:
            found = self.credentials.get(camera.credential)
            return [found] if found is not None else []
        return [self.credentials[name] for name in self.try_order]


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        lines.append(f"  {where}: {msg}")
    return f"{source}: invalid configuration:\n" + "\n".join(lines)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: file not found") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err


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
    return parse_config(_read_yaml(path), str(path))


def load_secrets(path: str | Path) -> Secrets:
    """Read the camera secrets file, refusing it when group or others can read it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: secrets file not found") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read secrets file: {err.strerror}") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: secrets file is readable by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        return Secrets.model_validate(data)
    except ValidationError as err:
        # Never echo input values here: they are passwords.
        lines = [
            "  {}: {}".format(".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.errors()
        ]
        raise ConfigError(f"{path}: invalid secrets file:\n" + "\n".join(lines)) from err
