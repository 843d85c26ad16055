"""``camwatch-aggregator report``: write a month's committee report (CSV, HTML or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aggregator.reports.monthly import build_report, to_csv, to_html, to_json
from aggregator.schema import open_db

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    path = args.db or args.settings.store.db_path
    if not Path(path).exists():
        print(f"camwatch report: no database at {path}", file=sys.stderr)
        return 2
    db = open_db(path, migrate=False)
    try:
        report = build_report(db, args.month, args.province)
    except ValueError as err:
        print(f"camwatch report: {err}", file=sys.stderr)
        return 2
    finally:
        db.close()
    if args.format == "csv":
        text = to_csv(report, args.lang)
    elif args.format == "html":
        text = to_html(report, args.lang)
    else:
        text = json.dumps(to_json(report, args.lang), ensure_ascii=False, indent=1)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"camwatch report: wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` command."""
    p = subparsers.add_parser("report", help="a month's committee report (nation or one province)")
    p.add_argument("--month", required=True, help="Bangkok calendar month, YYYY-MM")
    p.add_argument("--province", default=None, help="DOPA province code (default: the nation)")
    p.add_argument("--format", choices=("csv", "html", "json"), default="csv")
    p.add_argument("--lang", choices=("th", "en"), default="th")
    p.add_argument("--db", default=None, help="database file (default: the store.db_path setting)")
    p.add_argument("-o", "--output", default=None, help="file to write (default: standard output)")
    p.set_defaults(func=_run)
