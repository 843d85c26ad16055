"""camwatch-agent command line: wiring only (logging set-up lives here and nowhere else).

Exit codes (all commands): 0 ok; 1 some camera degraded; 2 some camera down or a device
failing; 3 nothing to check / nothing found; 78 configuration error (sysexits EX_CONFIG);
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from . import cli_check, cli_discover, cli_run
from .config import DEFAULT_CONFIG_PATH

__all__ = ["COMMANDS", "main"]

# Each entry adds one or more subcommands; every subparser sets ``func(args) -> int``.
# agent-onvif adds ``cli_discover.register`` (discover, init) here.
COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    cli_check.register,
    cli_run.register,
    cli_discover.register,
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="camwatch-agent",
        description="camwatch edge agent: find, check and report the cameras of one site",
    )
    parser.add_argument(
        "-c", "--config", default=os.environ.get("CAMWATCH_AGENT_CONFIG", str(DEFAULT_CONFIG_PATH)),
        help="agent YAML file (default: %(default)s, or $CAMWATCH_AGENT_CONFIG)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def setup_logging(verbosity: int) -> None:
    """Log to stderr (journald adds its own timestamps under systemd)."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("INVOCATION_ID"):  # not under systemd: add our own time
        fmt = "%(asctime)s " + fmt
    # force: onvif-zeep-async calls logging.basicConfig(level=INFO) when imported.
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
