"""``camwatch-aggregator create-token|list-tokens|renew-token|revoke-token``: API tokens.

A token works for ``--expires-in`` (``90d``, ``12h``, ``30m``, or ``never``), by default for
``api.token_lifetime_days``, so a token left on a lost phone stops working on its own. The
token is printed once, to stdout only, and never logged; ``list-tokens`` shows each one's
expiry, ``renew-token ID --expires-in`` gives a live (also an expired) token more time. Bad
arguments print one line and exit 2, as argparse does.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from aggregator.geography import Geography, load_geography
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings

__all__ = ["EXIT_USAGE", "MAX_LIFETIME", "parse_expires_in", "register"]

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2  # what argparse answers to bad arguments
MAX_LIFETIME = timedelta(days=3650)  # as api.token_lifetime_days allows
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_LIFETIME = re.compile(r"([1-9][0-9]{0,6})([dhm])")
NEVER = "never"


def parse_expires_in(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m`` -> that long; ``never`` -> None. ValueError (one line) otherwise."""
    text = text.strip().lower()
    if text == NEVER:
        return None
    match = _LIFETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"--expires-in {text!r}: give a whole number of days, hours or minutes "
                         f"(90d, 12h, 30m) or {NEVER}")  # fmt: skip
    lifetime = int(match.group(1)) * _UNITS[match.group(2)]
    if lifetime > MAX_LIFETIME:
        raise ValueError(f"--expires-in {text!r}: at most {MAX_LIFETIME.days}d")
    return lifetime


def _clock() -> datetime:
    """The composition root's clock: the commands run once, at the wall clock's now."""
    return datetime.now(UTC)


def _expiry(args: argparse.Namespace, settings: AggregatorSettings, now: datetime) -> datetime | None:
    """When a token made or renewed at ``now`` stops working (None: never); ValueError on bad input."""
    if args.expires_in is None:
        days = settings.api.token_lifetime_days
        lifetime = timedelta(days=days) if days else None
    else:
        lifetime = parse_expires_in(args.expires_in)
    if lifetime is None:
        if settings.environment == "production":
            sys.stderr.write(f"{args.command}: warning: this token never expires; a leaked copy works until revoked\n")
        return None
    return (now + lifetime).replace(microsecond=0)


def _open(args: argparse.Namespace) -> tuple[AggregatorSettings, Database, Geography]:
    settings: AggregatorSettings = args.settings
    db = open_db(settings.store.db_path)
    return settings, db, load_geography(db)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else NEVER


def _create(args: argparse.Namespace) -> int:
    from aggregator.auth import create_token

    settings, db, geography = _open(args)
    provinces = [p for p in (args.provinces or "").split(",") if p]
    now = _clock()
    try:
        expires = _expiry(args, settings, now)
        token_id, token = create_token(db, args.name, args.role, provinces, now=now, expires=expires,
                                       pepper=settings.api.token_pepper.get_secret_value(), geography=geography)  # fmt: skip
    except ValueError as err:
        sys.stderr.write(f"create-token: {err}\n")
        return EXIT_USAGE
    sys.stdout.write(f"{token}\n")
    sys.stderr.write(f"token {token_id} ({args.role}) created, expires {_when(expires)}; "
                     "store it now: it is not shown again\n")  # fmt: skip
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from aggregator.auth import list_tokens

    _, db, _ = _open(args)
    now = _clock()
    tokens = list_tokens(db)
    rows: list[dict[str, Any]] = [
        {"id": t.id, "name": t.name, "role": t.role, "provinces": list(t.provinces), "created": t.created.isoformat(),
         "revoked": t.revoked.isoformat() if t.revoked else None,
         "expires": t.expires.isoformat() if t.expires else None, "expired": t.expired(now)}  # fmt: skip
        for t in tokens
    ]
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    for t in tokens:
        scope = ",".join(t.provinces) or "all"
        status = "  (revoked)" if t.revoked else "  (expired)" if t.expired(now) else ""
        sys.stdout.write(f"{t.id:>5}  {t.role:<10} {scope:<20} expires {_when(t.expires):<20} {t.name}{status}\n")
    return EXIT_OK


def _renew(args: argparse.Namespace) -> int:
    from aggregator.auth import renew_token

    settings, db, _ = _open(args)
    now = _clock()
    try:
        expires = _expiry(args, settings, now)
        renewed = renew_token(db, args.id, expires, now=now)
    except ValueError as err:
        sys.stderr.write(f"renew-token: {err}\n")
        return EXIT_USAGE
    if not renewed:
        sys.stderr.write(f"renew-token: no unrevoked token {args.id}\n")
        return EXIT_NOT_FOUND
    sys.stdout.write(f"token {args.id} renewed: expires {_when(expires)}\n")
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    from aggregator.auth import revoke_token

    _, db, _ = _open(args)
    if not revoke_token(db, args.id, now=_clock()):
        sys.stderr.write(f"revoke-token: no live token {args.id}\n")
        return EXIT_NOT_FOUND
    sys.stdout.write(f"token {args.id} revoked\n")
    return EXIT_OK


_EXPIRES_HELP = "how long it works: 90d, 12h, 30m or never (default: api.token_lifetime_days)"


def register(subparsers: Any) -> None:
    """create-token, list-tokens, renew-token, revoke-token."""
    p = subparsers.add_parser("create-token", help="create an API token (printed once)")
    p.add_argument("--name", required=True, help="who or what uses it")
    p.add_argument("--role", required=True, choices=("viewer", "technician", "admin"))
    p.add_argument("--provinces", default="", help="comma-separated DOPA codes (default: every province)")
    p.add_argument("--expires-in", default=None, metavar="DURATION", help=_EXPIRES_HELP)
    p.set_defaults(func=_create)
    p = subparsers.add_parser("list-tokens", help="list API tokens with their expiry (never the tokens themselves)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)
    p = subparsers.add_parser("renew-token", help="give an API token (also an expired one) a new expiry")
    p.add_argument("id", type=int)
    p.add_argument("--expires-in", default=None, metavar="DURATION", help=_EXPIRES_HELP)
    p.set_defaults(func=_renew)
    p = subparsers.add_parser("revoke-token", help="revoke an API token by id")
    p.add_argument("id", type=int)
    p.set_defaults(func=_revoke)
