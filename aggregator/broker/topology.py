"""A national topology of Mosquitto brokers, rendered from one description.

Every province runs its own Mosquitto (its sites connect there); each provincial broker is
bridged to every national broker with Mosquitto's own bridge engine, one ``connection`` per
national broker, so each national broker holds every province's stream and the national
aggregator's de-duplication by (site, event id) makes the two paths safe:

* **both** ways: the five kinds an agent publishes, ``camwatch/v1/<PP>/+/+/<kind>``: out, its
  province's stream to the nation; in, what an agent published on a national broker while it had
  failed over there (agent.failover), so the provincial aggregator misses nothing either (the
  national broker queues it for the bridge while the provincial broker is down). No loop: with
  ``try_private`` a national broker never sends a bridge's own messages back to it, and a
  broker never sends a message back over the bridge it came in on; an event that came in from
  one national broker goes out to the other one once (the aggregator's de-duplication is there).
  Not ``camwatch/v1/<PP>/#``: an ack that came *in* from one national broker would go *out* to
  the other, and back in again.
* **in** (nation to province): the province's acks and commands and the retained host state.
* ``cleansession false`` and local persistence: a bridge that comes back delivers what its
  broker queued while the link was down; ``notifications`` put a retained ``1``/``0`` on
  ``$SYS/broker/connection/bridge-<PP>/state`` on the national broker (the ``0`` is the
  bridge's will), which the national aggregator reads as "province link down".

Credentials: each bridge logs in as ``bridge-<PP>``; the national aggregator as
``aggregator``, each provincial (secondary) aggregator as ``aggregator-<PP>``. Passwords are
random, written once in clear under ``secrets/`` (mode 0600) and kept across renders; the
brokers' password files hold only Mosquitto's ``$7$`` hashes (aggregator.broker.passwords).

Sites: ``enrol-site --password-file/--acl-file`` into a province's directory adds a site
there; a render keeps those sites (their hash lines and ACL blocks) and copies every site's
hash to the national brokers, whose ACL lets a site use its own topics only (a ``pattern``
block on the user name), so an agent whose provincial broker is unusable fails over to a
national broker with the same credentials (agent.failover). The national aggregator checks
a site's province and district against the registry, as on any broker.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aggregator.broker.passwords import atomic_write, hash_password
from aggregator.broker.roles import (
    AGENT_KINDS,
    BRIDGE_PREFIX,
    aggregator_acl_lines,
    bridge_acl_lines,
    bridge_user,
)
from protocol import HOST_STATE_TOPIC, Kind, validate_province
from protocol.topics import ROOT

__all__ = [
    "NATIONAL_AGGREGATOR",
    "NationalBroker",
    "Province",
    "Rendered",
    "Topology",
    "render",
    "site_pattern_lines",
]

NATIONAL_AGGREGATOR = "aggregator"
_PASSWORD_BYTES = 24
_NAME_RE = r"^[a-z0-9][a-z0-9-]{0,30}$"


class NationalBroker(BaseModel):
    """One national broker: a short name (files, bridge names) and where bridges reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=_NAME_RE)
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=8883, ge=1, le=65535)


class Province(BaseModel):
    """One provincial broker."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    host: str | None = Field(default=None, description="host name of its broker (default: province_host)")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return validate_province(value)


class Topology(BaseModel):
    """The one description every broker's files are rendered from (deploy/topology/*.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    national: list[NationalBroker] = Field(min_length=1, max_length=4)
    provinces: list[Province] = Field(min_length=1, max_length=100)
    port: int = Field(default=8883, ge=1, le=65535, description="TLS listener port of every broker")
    province_host: str = Field(default="mqtt-{code}.camwatch.example", description="host of a province's broker")
    conf_dir: str = Field(default="/etc/mosquitto", description="where a broker's files are installed ({broker})")
    data_dir: str = Field(default="/var/lib/mosquitto/", description="a broker's persistence directory ({broker})")
    aggregator_cafile: str | None = Field(default=None, description="CA file on the aggregators' machines")
    # Messages a broker queues for one client (an offline bridge or aggregator) before dropping.
    max_queued_messages: int = Field(default=2_000_000, ge=1000, le=100_000_000)

    @field_validator("provinces")
    @classmethod
    def _unique_provinces(cls, value: list[Province]) -> list[Province]:
        codes = [p.code for p in value]
        if len(set(codes)) != len(codes):
            raise ValueError("a province is listed twice")
        return value

    @field_validator("national")
    @classmethod
    def _unique_national(cls, value: list[NationalBroker]) -> list[NationalBroker]:
        if len({n.name for n in value}) != len(value):
            raise ValueError("a national broker name is listed twice")
        return value

    def province_host_of(self, province: Province) -> str:
        return province.host or self.province_host.format(code=province.code)


@dataclass(frozen=True, slots=True)
class Rendered:
    """What :func:`render` wrote: broker directories and the aggregators' settings files."""

    brokers: dict[str, Path]
    aggregators: dict[str, Path]


def _national_dir(n: NationalBroker) -> str:
    return f"national-{n.name}"


def _province_dir(p: Province) -> str:
    return f"province-{p.code}"


def _broker_lines(topo: Topology, broker: str) -> list[str]:
    """What every camwatch broker shares (deploy/mosquitto/mosquitto.conf, the tested shape)."""
    conf = topo.conf_dir.format(broker=broker)
    data = topo.data_dir.format(broker=broker)
    if not data.endswith("/"):
        data += "/"
    return [
        f"# camwatch broker {broker}: generated by `camwatch-aggregator topology render`; do not edit.",
        "per_listener_settings false",
        "",
        "# --- TLS 1.2 or newer; listener first, so no per-listener line opens a default listener",
        f"listener {topo.port}",
        "protocol mqtt",
        f"cafile {conf}/certs/ca.crt",
        f"certfile {conf}/certs/broker.crt",
        f"keyfile {conf}/certs/broker.key",
        "tls_version tlsv1.2",
        "ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
        "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
        "use_username_as_clientid true",
        "",
        "# --- who may connect",
        "allow_anonymous false",
        f"password_file {conf}/camwatch.passwd",
        f"acl_file {conf}/camwatch.acl",
        "",
        "# --- durability: queues for offline clients and bridges survive a restart",
        "persistence true",
        f"persistence_location {data}",
        "autosave_interval 60",
        "persistent_client_expiration 7d",
        "",
        "# --- limits",
        "message_size_limit 262144",
        f"max_queued_messages {topo.max_queued_messages}",
        "max_queued_bytes 2000000000",
        "max_inflight_messages 100",
        "max_connections 50000",
        "max_keepalive 600",
        "",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]


def _bridge_lines(topo: Topology, province: Province, national: NationalBroker, password: str, broker: str) -> list[str]:
    user = bridge_user(province.code)
    conf = topo.conf_dir.format(broker=broker)
    lines = [
        "",
        f"# --- bridge to national broker {national.name}",
        f"connection camwatch-{province.code}-to-{national.name}",
        f"address {national.host}:{national.port}",
        # The same remote id on every national broker (its notification topic names the
        # province); distinct local ids, so the two bridges never take each other's session.
        f"remote_clientid {user}",
        f"local_clientid {user}-to-{national.name}",
        f"remote_username {user}",
        f"remote_password {password}",
        "cleansession false",
        "notifications true",
        "notifications_local_only false",
        "bridge_protocol_version mqttv311",
        "try_private true",
        "keepalive_interval 20",
        "restart_timeout 2 30",
        f"bridge_cafile {conf}/certs/ca.crt",
        "bridge_tls_version tlsv1.2",
    ]
    lines += [f"topic {ROOT}/{province.code}/+/+/{kind.value} both 1" for kind in AGENT_KINDS]
    lines += [f"topic {ROOT}/{province.code}/+/+/{kind.value} in 1" for kind in (Kind.ACK, Kind.CMD)]
    lines.append(f"topic {HOST_STATE_TOPIC} in 1")
    return lines


def _secret(secrets_dir: Path, name: str) -> str:
    """The password of ``name``: kept from an earlier render, or new (mode 0600)."""
    path = secrets_dir / f"{name}.password"
    if path.exists():
        existing = path.read_text(encoding="utf-8").strip()
        if existing:
            return existing
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    atomic_write(path, password + "\n", 0o600)
    return password


def _passwd(users: Iterable[tuple[str, str]], hashed: dict[str, str] | None = None) -> str:
    lines = {user: f"{user}:{hash_password(password)}" for user, password in users}
    lines.update({user: f"{user}:{digest}" for user, digest in (hashed or {}).items() if user not in lines})
    return "".join(lines[user] + "\n" for user in sorted(lines))


def _enrolled(directory: Path, centre_users: set[str]) -> tuple[dict[str, str], list[str]]:
    """The sites enrolled into a rendered broker's directory: {user: hash} and their ACL blocks."""
    hashed: dict[str, str] = {}
    passwd, acl = directory / "camwatch.passwd", directory / "camwatch.acl"
    if passwd.exists():
        for line in passwd.read_text(encoding="utf-8").splitlines():
            user, sep, digest = line.strip().partition(":")
            if sep and user and user not in centre_users and not user.startswith(BRIDGE_PREFIX):
                hashed[user] = digest
    blocks: list[str] = []
    if acl.exists():
        keep = False
        for line in acl.read_text(encoding="utf-8").splitlines():
            if line.startswith("user "):
                keep = line[5:].strip() in hashed
                if keep:
                    blocks.append("")
            if keep and line.strip():
                blocks.append(line)
    return hashed, blocks


def site_pattern_lines() -> list[str]:
    """A national broker's ACL for failed-over sites: each its own topics, by user name (%u)."""
    lines = ["# sites failing over from their provincial broker (agent broker.fallback): own topics only"]
    lines += [f"pattern write {ROOT}/+/+/%u/{kind.value}" for kind in AGENT_KINDS]
    lines += [f"pattern read {ROOT}/+/+/%u/{kind.value}" for kind in (Kind.ACK, Kind.CMD)]
    lines.append(f"pattern read {HOST_STATE_TOPIC}")
    return lines


def _aggregator_toml(url: str, user: str, client_id: str, password_file: Path, role: str,
                     province: str | None, cafile: str | None, fallback: tuple[str, ...] = ()) -> str:  # fmt: skip
    lines = [
        "# camwatch aggregator settings: generated by `camwatch-aggregator topology render`.",
        "[ingest]",
        f'url = "{url}"',
        f'username = "{user}"',
        f'client_id = "{client_id}"',
        f'password = "file:{password_file}"',
        f'role = "{role}"',
    ]
    if fallback:  # the other national brokers, tried in order when the first is unreachable
        lines.append("fallback_urls = [{}]".format(", ".join(f'"{u}"' for u in fallback)))
    if province:
        lines.append(f'province = "{province}"')
    if cafile:
        lines.append(f'cafile = "{cafile}"')
    return "\n".join(lines) + "\n"


def render(topo: Topology, out: Path) -> Rendered:
    """Write every broker's config, password file and ACL, and the aggregators' settings, under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    secrets_dir = out / "secrets"
    bridge_pw = {p.code: _secret(secrets_dir, bridge_user(p.code)) for p in topo.provinces}
    national_pw = _secret(secrets_dir, NATIONAL_AGGREGATOR)
    brokers: dict[str, Path] = {}
    aggregators: dict[str, Path] = {}
    enrolled = {p.code: _enrolled(out / _province_dir(p), {f"{NATIONAL_AGGREGATOR}-{p.code}", NATIONAL_AGGREGATOR})
                for p in topo.provinces}  # fmt: skip
    every_site = {user: digest for hashed, _ in enrolled.values() for user, digest in hashed.items()}
    for n in topo.national:
        name = _national_dir(n)
        directory = out / name
        acl = aggregator_acl_lines(NATIONAL_AGGREGATOR, primary=True)
        for p in topo.provinces:
            acl += ["", *bridge_acl_lines(p.code)]
        acl += ["", *site_pattern_lines()]
        users = [(NATIONAL_AGGREGATOR, national_pw), *((bridge_user(c), pw) for c, pw in bridge_pw.items())]
        _write_broker(directory, _broker_lines(topo, name), users, acl, every_site)
        brokers[name] = directory
    first = topo.national[0]
    aggregators["national"] = out / "aggregators" / "national.toml"
    atomic_write(aggregators["national"], _aggregator_toml(
        f"mqtts://{first.host}:{first.port}", NATIONAL_AGGREGATOR, "camwatch-aggregator",
        secrets_dir.resolve() / f"{NATIONAL_AGGREGATOR}.password", "primary", None, topo.aggregator_cafile,
        tuple(f"mqtts://{n.host}:{n.port}" for n in topo.national[1:])), 0o644)  # fmt: skip
    for p in topo.provinces:
        name = _province_dir(p)
        directory = out / name
        lines = _broker_lines(topo, name)
        for n in topo.national:
            lines += _bridge_lines(topo, p, n, bridge_pw[p.code], name)
        user = f"{NATIONAL_AGGREGATOR}-{p.code}"
        password = _secret(secrets_dir, user)
        acl = aggregator_acl_lines(user, primary=False, province=p.code)
        hashed, blocks = enrolled[p.code]
        _write_broker(directory, lines, [(user, password)], acl + blocks, hashed)
        brokers[name] = directory
        aggregators[name] = out / "aggregators" / f"{name}.toml"
        atomic_write(aggregators[name], _aggregator_toml(
            f"mqtts://{topo.province_host_of(p)}:{topo.port}", user, f"camwatch-aggregator-{p.code}",
            secrets_dir.resolve() / f"{user}.password", "secondary", p.code, topo.aggregator_cafile), 0o644)  # fmt: skip
    return Rendered(brokers, aggregators)


def _write_broker(directory: Path, conf: list[str], users: list[tuple[str, str]], acl: list[str],
                  sites: dict[str, str] | None = None) -> None:  # fmt: skip
    # The config holds the bridges' passwords in clear: root and mosquitto only.
    atomic_write(directory / "camwatch.conf", "\n".join(conf) + "\n", 0o640)
    atomic_write(directory / "camwatch.passwd", _passwd(users, sites), 0o640)
    header = ["# camwatch broker ACL: generated by `camwatch-aggregator topology render`; sites are added by",
              "# `camwatch-aggregator enrol-site --acl-file` (it keeps the aggregator and bridge users).", ""]  # fmt: skip
    atomic_write(directory / "camwatch.acl", "\n".join(header + acl) + "\n", 0o640)
