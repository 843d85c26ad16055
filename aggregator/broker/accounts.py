"""``camwatch-aggregator broker-account``: broker accounts that are not sites.

``camwatch-aggregator broker-account --name camwatch-alerts --role alerts-publisher --out DIR``
``camwatch-aggregator broker-account --name tech-bkk --role alerts-reader --provinces 10 --out DIR``

With the shipped ``use_username_as_clientid true`` a client's id is its username, so the
aggregator's alert channel needs an account of its own (``CAMWATCH_ALERT_MQTT__USERNAME``),
as does a technicians' app reading alerts. Roles and ACL lines: :mod:`aggregator.broker.acl`.
The password is issued as a site's is: random, stored as Mosquitto's ``$7$`` hash, written
once in clear to ``DIR/<name>-password`` (mode 0600).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from aggregator.broker.acl import ROLES, Account, Role, load_accounts, save_accounts, write_acl
from aggregator.broker.passwords import (
    DEFAULT_ACL_FILE,
    DEFAULT_PASSWORD_FILE,
    EnrolError,
    atomic_write,
    check_username,
    set_password,
)
from aggregator.geography import UnknownArea, load_geography
from aggregator.settings import AggregatorSettings
from aggregator.store import registry

__all__ = ["add_account", "add_cli"]

# Same as a site's password: 24 random bytes, 192 bits.
_PASSWORD_BYTES = 24
# Names an account may never take: the ingest client's (its session would be taken over).
_CENTRE_NAMES = frozenset({"camwatch-aggregator"})


def add_account(
    db: Database, name: str, role: Role, provinces: tuple[str, ...], *, password_file: Path, acl_file: Path,
    aggregator_user: str, out_dir: Path,
) -> Path:  # fmt: skip
    """Create (or give a new password to) a non-site account; rewrite the ACL; return the password file."""
    check_username(name)
    if name.casefold() in _CENTRE_NAMES | {aggregator_user.casefold()}:
        raise EnrolError(f"account {name!r} refused: it is the aggregator's own broker account")
    if role not in ROLES:
        raise EnrolError(f"role {role!r} refused: one of {', '.join(ROLES)}")
    if registry.get_site(db, name) is not None:
        raise EnrolError(f"account {name!r} refused: a site of that name is enrolled")
    if role == "alerts-publisher" and provinces:
        raise EnrolError("an alerts-publisher account publishes every province's alerts: give no --provinces")
    geography = load_geography(db)
    for province in provinces:
        try:
            geography.province(province)
        except UnknownArea as err:
            raise EnrolError(str(err)) from err
    accounts = load_accounts(password_file)
    accounts[name] = Account(name, role, tuple(sorted(set(provinces))))
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    out_dir.mkdir(parents=True, exist_ok=True)
    secret_path = out_dir / f"{name}-password"
    atomic_write(secret_path, password + "\n", 0o600)
    set_password(password_file, name, password)
    save_accounts(password_file, accounts)
    write_acl(acl_file, db, password_file, aggregator_user)
    return secret_path


def add_cli(subparsers: Any) -> None:
    """Register ``broker-account`` on the aggregator's argparse sub-commands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "broker-account", help="create a non-site broker account (alert publisher or reader) and rewrite the ACL"
    )
    p.add_argument("--name", required=True, help="the account's MQTT username (and client id)")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--provinces", default="", help="alerts-reader: comma-separated DOPA codes (default: every province)")
    p.add_argument("--out", type=Path, required=True, help="directory for the account's password file")
    p.add_argument("--password-file", type=Path, default=DEFAULT_PASSWORD_FILE)
    p.add_argument("--acl-file", type=Path, default=DEFAULT_ACL_FILE)
    p.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from aggregator.schema import open_db

    settings: AggregatorSettings = args.settings  # loaded once by the command line
    db = open_db(settings.store.db_path)
    provinces = tuple(p.strip() for p in args.provinces.split(",") if p.strip())
    try:
        path = add_account(db, args.name, args.role, provinces, password_file=args.password_file,
                           acl_file=args.acl_file, aggregator_user=settings.ingest.username or "aggregator",
                           out_dir=args.out)  # fmt: skip
    except (EnrolError, OSError) as err:
        sys.stderr.write(f"broker-account: {err}\n")
        return 2
    sys.stdout.write(f"account {args.name} ({args.role}); password in {path} (mode 0600)\n"
                     "  then reload the broker: systemctl reload mosquitto\n")  # fmt: skip
    return 0
