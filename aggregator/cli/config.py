"""``camwatch-aggregator config show`` and ``config reference``: the settings, seen and documented."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aggregator.settings import LoadedSettings
from aggregator.settings.describe import effective_rows, reference_markdown, write_reference

__all__ = ["register"]


def _show(args: argparse.Namespace) -> int:
    loaded: LoadedSettings = args.loaded
    rows = effective_rows(loaded)
    if args.json:
        data = {"config_file": str(loaded.config_file) if loaded.config_file else None,
                "settings": [row.as_dict() for row in rows]}  # fmt: skip
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return 0
    width = max(len(row.key) for row in rows)
    for row in rows:
        value = "none" if row.value is None else str(row.value).lower() if isinstance(row.value, bool) else str(row.value)
        origin = loaded.origin(row.key).describe() if row.source != "default" else "default"
        sys.stdout.write(f"{row.key:<{width}}  {value}  ({origin})\n")
    return 0


def _reference(args: argparse.Namespace) -> int:
    if not args.write:
        sys.stdout.write(reference_markdown())
        return 0
    for path in args.write:
        try:
            changed = write_reference(path)
        except (OSError, ValueError) as err:
            sys.stderr.write(f"config reference: {path}: {err}\n")
            return 1
        sys.stderr.write(f"{path}: {'updated' if changed else 'already current'}\n")
    return 0


def register(subparsers: Any) -> None:
    """Add ``config show`` and ``config reference``."""
    config = subparsers.add_parser("config", help="the effective settings, or the reference of every setting")
    commands = config.add_subparsers(dest="config_command", required=True)
    p = commands.add_parser("show", help="effective settings, secrets masked, and where each came from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)
    p = commands.add_parser("reference", help="the Markdown table of every setting (generated from the models)")
    p.add_argument("--write", type=Path, nargs="+", metavar="FILE",
                   help="replace the reference block in these files (README.md docs/operations.md)")
    p.set_defaults(func=_reference, settings_free=True)
