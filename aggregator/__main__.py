"""camwatch-aggregator command line: the composition root of every aggregator command.

``main`` loads the one settings tree (defaults, ``--config FILE``, ``CAMWATCH_*``; see
aggregator.settings) before any command runs, and refuses bad settings with one line and
exit 78 (EX_CONFIG). Each command group is a ``register(subparsers)`` function in
:data:`COMMANDS`; a command sets ``func(args) -> int`` (the exit code) and reads its settings
from ``args.settings``. Add yours with one line.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aggregator.broker.accounts import add_cli as accounts_cli
from aggregator.broker.enrol import add_cli as enrol_cli
from aggregator.cli.advisories import register as advisories_cli
from aggregator.cli.audit import register as audit_cli
from aggregator.cli.audit_plan import register as audit_plan_cli
from aggregator.cli.config import register as config_cli
from aggregator.cli.report import register as report_cli
from aggregator.cli.tokens import register as tokens_cli
from aggregator.cli.topology import register as topology_cli
from aggregator.settings import EX_CONFIG, AggregatorSettings, SettingsError, load_settings

__all__ = ["COMMANDS", "main"]

logger = logging.getLogger("aggregator")

Register = Callable[[Any], None]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from aggregator.service import Service

    settings: AggregatorSettings = args.settings
    service = Service(settings, ingest=not args.no_ingest)
    # uvicorn re-raises the SIGTERM it handled once its own shutdown is done; as an interrupt
    # it ends here, so the service stops cleanly (flushes state, says offline) on systemctl stop.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    service.start()
    try:
        uvicorn.run(service.app, host=settings.api.host, port=settings.api.port, log_level="info",
                    access_log=False)  # fmt: skip  # access logs would not leak tokens, but are noise at 1k rps
    except KeyboardInterrupt:
        pass  # SIGINT or SIGTERM: a requested stop
    finally:
        service.stop()
    return 0


def register_core(subparsers: Any) -> None:
    """serve (the token commands are in aggregator/cli/tokens.py)."""
    p = subparsers.add_parser("serve", help="run ingest, faults, live feed and the API")
    p.add_argument("--no-ingest", action="store_true", help="API only (no MQTT)")
    p.set_defaults(func=_serve)


# One line per command group. Add yours here.
COMMANDS: list[Register] = [
    register_core,
    tokens_cli,  # create-token, list-tokens, renew-token, revoke-token
    enrol_cli,  # enrol-site
    accounts_cli,  # broker-account
    audit_cli,  # import-register, import-risk-points, reconcile, ...
    audit_plan_cli,  # audit-plan export, totals, certify
    report_cli,  # report
    config_cli,  # config show, config reference
    topology_cli,  # topology render
    advisories_cli,  # advisories list|import
]

_CONFIG_HELP = "TOML settings file (CAMWATCH_* variables win over it)"


def build_parser() -> argparse.ArgumentParser:
    """The full command line; ``--config`` is accepted before or after the command."""
    parser = argparse.ArgumentParser(prog="camwatch-aggregator", description="camwatch central aggregator")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--config", type=Path, default=None, metavar="PATH", help=_CONFIG_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(subparsers)
    pending = list(subparsers.choices.values())
    while pending:  # every command, nested ones too (config show)
        sub = pending.pop()
        sub.add_argument("--config", type=Path, default=argparse.SUPPRESS, metavar="PATH", help=_CONFIG_HELP)
        for action in sub._actions:  # noqa: SLF001 - argparse lists a parser's subcommands only here
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                pending += list(action.choices.values())
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Load the settings, then run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    if not getattr(args, "settings_free", False):
        try:
            loaded = load_settings(os.environ, args.config)
        except SettingsError as err:
            # One line naming the setting; no traceback: the operator fixes a value, not code.
            sys.stderr.write(f"camwatch-aggregator: {err}\n")
            return EX_CONFIG
        args.loaded, args.settings = loaded, loaded.settings
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    if not getattr(args, "settings_free", False) and args.settings.default_secrets():
        logger.warning("DEVELOPMENT SETTINGS: %s still at the default secret; "
                       "never run like this outside a laptop", ", ".join(args.settings.default_secrets()))  # fmt: skip
    if not getattr(args, "settings_free", False) and (
        args.settings.environment == "production" and args.settings.api.token_lifetime_days == 0
    ):
        logger.warning("api.token_lifetime_days is 0: new API tokens never expire unless given --expires-in")
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
