"""Enrol a site: register it, issue its MQTT credentials, keep Mosquitto's password file and ACL.

``camwatch-aggregator enrol-site --site-id X --province 10 --district 1001 --out DIR``

* The site id is its MQTT username; ids with MQTT wildcards or separators (``+ # /``)
  are refused by :func:`protocol.validate_site_id`, so an ACL line can never widen.
* Province and district are checked against the DOPA codes from geothai.
* The password is 24 random bytes (URL-safe base64), stored only as a PBKDF2-SHA512 hash in
  Mosquitto 2.0's own format (``$7$``) and once, in clear, in the installer's
  ``broker-password`` file (mode 0600) that systemd hands to the agent with ``LoadCredential=``.
* The ACL is rewritten from the password file: each site may publish only its own birth,
  death, events and heartbeat topics and read only its own ack and cmd topics and the host
  state; the aggregator reads every site topic and publishes acks, commands, the host
  state and alerts. Mosquitto rereads both files on SIGHUP (``systemctl reload mosquitto``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import logging
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlite_utils import Database

from aggregator.geography import Geography, UnknownArea, load_geography
from aggregator.settings import AggregatorSettings
from aggregator.store import registry
from protocol import HOST_STATE_TOPIC, Kind, TopicError, site_topic, validate_site_id
from protocol.topics import ALERTS_ROOT, ROOT

__all__ = [
    "RESERVED_IDS",
    "EnrolError",
    "Enrolment",
    "add_cli",
    "check_site_id",
    "enrol_site",
    "hash_password",
    "set_password",
    "write_acl",
]

logger = logging.getLogger(__name__)

# Mosquitto 2.0's mosquitto_passwd default. The passwords are 192-bit random tokens, so
# the hash cost protects nothing a guess could reach; a low count keeps 15,000 reconnects cheap.
_PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12
_PASSWORD_BYTES = 24
DEFAULT_PASSWORD_FILE = Path("/etc/mosquitto/camwatch.passwd")
DEFAULT_ACL_FILE = Path("/etc/mosquitto/camwatch.acl")


class EnrolError(Exception):
    """The site cannot be enrolled (bad id or area, already enrolled, files not writable)."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What enrolment produced (the password itself only went to the installer's file)."""

    site_id: str
    province: str
    district: str
    config_path: Path
    password_path: Path


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = _PBKDF2_ITERATIONS) -> str:
    """Mosquitto 2.0 password-file hash: ``$7$iterations$salt_b64$pbkdf2_sha512_b64``."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _atomic_write(path: Path, text: str, mode: int) -> None:
    """Write via a temporary file and rename, so Mosquitto never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_users(password_file: Path) -> dict[str, str]:
    users: dict[str, str] = {}
    if password_file.exists():
        for line in password_file.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and ":" in line:
                user, hashed = line.split(":", 1)
                users[user] = hashed
    return users


def set_password(password_file: Path, username: str, password: str) -> None:
    """Add or replace one user in the Mosquitto password file (mode 0640: root and mosquitto)."""
    _check_username(username)
    users = _read_users(password_file)
    users[username] = hash_password(password)
    _atomic_write(password_file, "".join(f"{u}:{h}\n" for u, h in sorted(users.items())), 0o640)


# Usernames that are not sites: the centre's own clients and names an administrator could
# mistake for one. Enrolling a site under one of them would hand its password to the site.
RESERVED_IDS = frozenset({"aggregator", "camwatch-aggregator", "camwatch-alerts", "camwatch", "mosquitto",
                          "admin", "root"})  # fmt: skip


def check_site_id(site_id: str, aggregator_user: str) -> None:
    """Refuse a site id that breaks the grammar or names the centre's own accounts."""
    _check_username(site_id)
    if site_id.casefold() in RESERVED_IDS | {aggregator_user.casefold()}:
        raise EnrolError(f"site id {site_id!r} refused: it is reserved for the centre's own broker accounts")


def _check_username(username: str) -> None:
    try:
        validate_site_id(username)
    except TopicError as err:
        raise EnrolError(f"username {username!r} refused: {err}") from err


def write_acl(acl_file: Path, db: Database, password_file: Path, aggregator_user: str) -> int:
    """Rewrite the ACL for every enrolled site in the password file; return how many sites."""
    _check_username(aggregator_user)
    lines = [
        "# camwatch broker ACL: generated by `camwatch-aggregator enrol-site`; do not edit.",
        f"# written {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        f"user {aggregator_user}",
        f"topic read {ROOT}/#",
        f"topic write {ROOT}/+/+/+/{Kind.ACK.value}",
        f"topic write {ROOT}/+/+/+/{Kind.CMD.value}",
        f"topic readwrite {HOST_STATE_TOPIC}",
        f"topic write {ALERTS_ROOT}/#",
    ]
    sites = 0
    for user in sorted(_read_users(password_file)):
        if user == aggregator_user:
            continue
        site = registry.get_site(db, user)
        if site is None:
            logger.warning("%s: in the password file but not registered: no topics granted", user)
            continue
        sites += 1
        lines += ["", f"user {user}"]
        for kind in (k for k in Kind if k.from_agent):  # birth, death, events, heartbeat, snapshot
            lines.append(f"topic write {site_topic(site.province, site.district, user, kind)}")
        for kind in (Kind.ACK, Kind.CMD):
            lines.append(f"topic read {site_topic(site.province, site.district, user, kind)}")
        lines.append(f"topic read {HOST_STATE_TOPIC}")
    _atomic_write(acl_file, "\n".join(lines) + "\n", 0o640)
    return sites


def _agent_config(site_id: str, province: str, district: str, name: str, agency: str,
                  broker_host: str, broker_port: int, ca_file: str | None) -> dict[str, Any]:
    broker: dict[str, Any] = {
        "host": broker_host,
        "port": broker_port,
        "tls": True,
        "password": "credential:broker-password",
    }
    if ca_file:
        broker["ca_file"] = ca_file
    site: dict[str, Any] = {"site_id": site_id, "province": province, "district": district}
    if name:
        site["name"] = name
    if agency:
        site["agency"] = agency
    return {"site": site, "broker": broker}


def enrol_site(
    db: Database,
    geography: Geography,
    site_id: str,
    province: str,
    district: str,
    *,
    out_dir: Path,
    password_file: Path,
    acl_file: Path,
    broker_host: str,
    broker_port: int = 8883,
    ca_file: str | None = None,
    name: str = "",
    agency: str = "",
    aggregator_user: str = "aggregator",
    rotate: bool = False,
) -> Enrolment:
    """Register ``site_id``, issue its password, update password file and ACL, write the agent files."""
    check_site_id(site_id, aggregator_user)
    try:
        geography.district(district, province)
    except UnknownArea as err:
        raise EnrolError(str(err)) from err
    existing = registry.get_site(db, site_id)
    if existing is not None and not rotate:
        raise EnrolError(f"site {site_id!r} is already enrolled (use --rotate for a new password)")
    if existing is not None and (existing.province, existing.district) != (province, district):
        raise EnrolError(f"site {site_id!r} is enrolled in {existing.province}/{existing.district}")
    if existing is None:
        with db.atomic():
            registry.insert_site(db, site_id, province, district, now_ms=int(datetime.now(UTC).timestamp() * 1000))
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    out_dir.mkdir(parents=True, exist_ok=True)
    password_path = out_dir / "broker-password"
    _atomic_write(password_path, password + "\n", 0o600)
    set_password(password_file, site_id, password)
    write_acl(acl_file, db, password_file, aggregator_user)
    config = _agent_config(site_id, province, district, name, agency, broker_host, broker_port, ca_file)
    config_path = out_dir / "agent.yaml"
    _atomic_write(config_path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True), 0o644)
    logger.info("%s: enrolled in %s/%s; files in %s", site_id, province, district, out_dir)
    return Enrolment(site_id, province, district, config_path, password_path)


def add_cli(subparsers: Any) -> None:
    """Register ``enrol-site`` on the aggregator's argparse sub-commands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "enrol-site", help="register a site, issue its MQTT credentials and write its agent config"
    )
    p.add_argument("--site-id", required=True, help="site id (also its MQTT username)")
    p.add_argument("--province", required=True, help="two-digit DOPA province code")
    p.add_argument("--district", required=True, help="four-digit DOPA district code")
    p.add_argument("--name", default="", help="human name of the site")
    p.add_argument("--agency", default="", help="owning agency")
    p.add_argument("--out", type=Path, required=True, help="directory for agent.yaml and broker-password")
    p.add_argument("--broker-host", required=True, help="broker host name as the agent reaches it")
    p.add_argument("--broker-port", type=int, default=8883)
    p.add_argument("--ca-file", default=None, help="CA path on the agent (default: system CAs)")
    p.add_argument("--password-file", type=Path, default=DEFAULT_PASSWORD_FILE)
    p.add_argument("--acl-file", type=Path, default=DEFAULT_ACL_FILE)
    p.add_argument("--rotate", action="store_true", help="issue a new password for an enrolled site")
    p.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from aggregator.schema import open_db

    settings: AggregatorSettings = args.settings  # loaded once by the command line
    db = open_db(settings.store.db_path)
    geography = load_geography(db)
    password = settings.ingest.password.get_secret_value()
    user = settings.ingest.username or "aggregator"
    try:
        set_password(args.password_file, user, password)
        result = enrol_site(
            db, geography, args.site_id, args.province, args.district,
            out_dir=args.out, password_file=args.password_file, acl_file=args.acl_file,
            broker_host=args.broker_host, broker_port=args.broker_port, ca_file=args.ca_file,
            name=args.name, agency=args.agency, aggregator_user=user, rotate=args.rotate,
        )  # fmt: skip
    except (EnrolError, OSError) as err:
        sys.stderr.write(f"enrol-site: {err}\n")
        return 2
    sys.stdout.write(
        f"enrolled {result.site_id} in {result.province}/{result.district}\n"
        f"  agent config:  {result.config_path}\n"
        f"  broker secret: {result.password_path} (mode 0600; install it as the systemd"
        " credential 'broker-password')\n"
        "  then reload the broker: systemctl reload mosquitto\n"
    )
    return 0
