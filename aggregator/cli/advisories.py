"""``camwatch-aggregator advisories list|import FILE``: the firmware advisories list.

``import`` replaces the list in force with the CSV's rows (docs/audit.md), all or nothing:
a bad file prints one line per bad row on stderr and exits 2, changing nothing. ``list``
prints the list in force and the matched cameras per province (``--json`` for scripts).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

EXIT_OK = 0
EXIT_FILE_REFUSED = 2


def _db(args: argparse.Namespace) -> Any:
    from aggregator.schema import open_db

    return open_db(args.db if args.db is not None else args.settings.store.db_path)


def _import(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from aggregator.audit.advisories import AdvisoryError, import_advisories
    from aggregator.days import to_ms

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        sys.stderr.write(f"advisories import: {args.file}: {err}\n")
        return EXIT_FILE_REFUSED
    try:
        rows = import_advisories(_db(args), text, by=args.by, now_ms=to_ms(datetime.now(UTC)))
    except AdvisoryError as err:
        sys.stderr.write(f"advisories import: {args.file} refused, nothing imported:\n")
        sys.stderr.writelines(f"  {line}\n" for line in err.lines)
        return EXIT_FILE_REFUSED
    sys.stdout.write(f"{rows} advisories imported from {args.file}\n")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from aggregator.audit.advisories import advisory_counts, current_advisories

    db = _db(args)
    listed = current_advisories(db)
    counts = advisory_counts(db)
    if args.json:
        sys.stdout.write(json.dumps({"advisories": [asdict(a) for a in listed], "counts": counts}, indent=2) + "\n")
        return EXIT_OK
    for a in listed:
        rng = " to ".join(x for x in (a.affected_from, a.affected_to) if x) or "any version"
        built = f", built before {a.built_before}" if a.built_before else ""
        sys.stdout.write(f"{a.cve}{' (KEV)' if a.kev else ''}: {a.maker} {a.model_pattern}, {rng}{built}\n")
    for province, per in counts.items():
        sys.stdout.write(f"province {province}: {per['cameras']} cameras matched, {per['kev']} on KEV\n")
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``advisories list`` and ``advisories import FILE``."""
    group = subparsers.add_parser("advisories", help="firmware advisories (known exploited vulnerabilities)")
    sub = group.add_subparsers(dest="advisories_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None, help="database file (default: store.db_path)")
    p = sub.add_parser("import", parents=[common], help="replace the list with a CSV (all or nothing)")
    p.add_argument("file", help="advisories CSV (columns as aggregator/audit/advisories.csv)")
    p.add_argument("--by", default="cli", help="who imports (kept with the import)")
    p.set_defaults(func=_import)
    p = sub.add_parser("list", parents=[common], help="the list in force and matched cameras per province")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
    p.set_defaults(func=_list)
