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
import logging
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlite_utils import Database

from aggregator.audit.province_check import position_refusal
from aggregator.broker.acl import write_acl
from aggregator.broker.passwords import (
    DEFAULT_ACL_FILE,
    DEFAULT_PASSWORD_FILE,
    EnrolError,
    atomic_write,
    check_username,
    hash_password,
    set_password,
)
from aggregator.broker.roles import BRIDGE_PREFIX
from aggregator.geography import Geography, UnknownArea, load_geography
from aggregator.settings import AggregatorSettings
from aggregator.store import registry
from aggregator.store.places import Place, set_place

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

# 24 random bytes (URL-safe base64): 192 bits, so the hash cost protects nothing a guess could reach.
_PASSWORD_BYTES = 24

@dataclass(frozen=True, slots=True)
class Enrolment:
    """What enrolment produced (the password itself only went to the installer's file)."""

    site_id: str
    province: str
    district: str
    config_path: Path
    password_path: Path


# Usernames that are not sites: the centre's own clients and names an administrator could
# mistake for one. Enrolling a site under one of them would hand its password to the site.
RESERVED_IDS = frozenset({"aggregator", "camwatch-aggregator", "camwatch-alerts", "camwatch", "mosquitto",
                          "admin", "root"})  # fmt: skip


def check_site_id(site_id: str, aggregator_user: str) -> None:
    """Refuse a site id that breaks the grammar or names the centre's own accounts."""
    check_username(site_id)
    folded = site_id.casefold()
    if folded in RESERVED_IDS | {aggregator_user.casefold()} or folded.startswith((BRIDGE_PREFIX, "aggregator-")):
        raise EnrolError(f"site id {site_id!r} refused: it is reserved for the centre's own broker accounts")


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
    place: Place | None = None,
    aggregator_user: str = "aggregator",
    rotate: bool = False,
    primary: bool = True,
    scope: str | None = None,
) -> Enrolment:
    """Register ``site_id``, issue its password, update password file and ACL, write the agent files.

    ``place`` (name, agency, address, position, phone) is stored as the site's registered place
    on a first enrolment; its position must not lie clearly in another province."""
    check_site_id(site_id, aggregator_user)
    try:
        geography.district(district, province)
    except UnknownArea as err:
        raise EnrolError(str(err)) from err
    place = place or Place(name=name, agency=agency)
    name, agency = place.name, place.agency
    refusal = position_refusal(province, place.lat, place.lon)
    if refusal is not None:
        raise EnrolError(refusal)
    existing = registry.get_site(db, site_id)
    if existing is not None and not rotate:
        raise EnrolError(f"site {site_id!r} is already enrolled (use --rotate for a new password)")
    if existing is not None and (existing.province, existing.district) != (province, district):
        raise EnrolError(f"site {site_id!r} is enrolled in {existing.province}/{existing.district}")
    if existing is None:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        with db.atomic():
            registry.insert_site(db, site_id, province, district, now_ms=now_ms, seen=False)
            set_place(db, site_id, place, by="enrol-site", at_ms=now_ms)
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    out_dir.mkdir(parents=True, exist_ok=True)
    password_path = out_dir / "broker-password"
    atomic_write(password_path, password + "\n", 0o600)
    set_password(password_file, site_id, password)
    write_acl(acl_file, db, password_file, aggregator_user, primary=primary, province=scope)
    config = _agent_config(site_id, province, district, name, agency, broker_host, broker_port, ca_file)
    config_path = out_dir / "agent.yaml"
    atomic_write(config_path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True), 0o644)
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
    p.add_argument("--address", default="", help="street address of the site")
    p.add_argument("--lat", type=float, default=None, help="latitude (WGS 84), checked inside the province")
    p.add_argument("--lon", type=float, default=None, help="longitude (WGS 84), with --lat")
    p.add_argument("--phone", default="", help="contact telephone at the site")
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
            place=Place(name=args.name, agency=args.agency, address=args.address, lat=args.lat, lon=args.lon,
                        phone=args.phone),
            aggregator_user=user, rotate=args.rotate,
            primary=settings.ingest.primary, scope=settings.ingest.province,
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
