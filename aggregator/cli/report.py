"""``camwatch-aggregator report``: write a month's committee report (CSV, HTML or JSON) or the
committee pack (``--pack``: HTML or JSON; ``--format pdf`` and ``--format xlsx`` are always the
pack, the PDF printed by headless Chromium)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from aggregator.reports.monthly import build_report, to_csv, to_html, to_json
from aggregator.reports.pack import build_pack
from aggregator.reports.pack_render import pack_html, pack_json
from aggregator.reports.pack_xlsx import pack_xlsx
from aggregator.reports.pdf import PdfError, chromium_path, html_to_pdf
from aggregator.reports.render import csv_bytes
from aggregator.schema import open_db

__all__ = ["register"]


def _fail(message: str) -> int:
    print(f"camwatch report: {message}", file=sys.stderr)
    return 2


def _pack_output(args: argparse.Namespace, db_path: str) -> bytes | str | int:
    """The pack as HTML, JSON or PDF (an exit code when it cannot be made)."""
    settings = args.settings.report
    if args.format == "pdf" and chromium_path(settings.chromium) is None:  # before seconds of figures
        return _fail(f"PDF needs headless Chromium and {settings.chromium!r} was not found: install the Debian "
                     "package chromium (scripts/setup.sh demo) or set report.chromium")  # fmt: skip
    db = open_db(db_path, migrate=False)
    try:
        pack = build_pack(db, args.month, args.province, settings, now=datetime.now(UTC))
    except ValueError as err:
        return _fail(str(err))
    finally:
        db.close()
    if args.format == "json":
        return json.dumps(pack_json(pack, args.lang), ensure_ascii=False, indent=1)
    if args.format == "xlsx":
        return pack_xlsx(pack, args.lang)
    html = pack_html(pack, args.lang)
    if args.format == "html":
        return html
    try:
        return html_to_pdf(html, chromium=settings.chromium, timeout_s=settings.pdf_timeout_s)
    except PdfError as err:
        return _fail(str(err))


def _report_output(args: argparse.Namespace, db_path: str) -> bytes | str | int:
    db = open_db(db_path, migrate=False)
    try:
        report = build_report(db, args.month, args.province)
    except ValueError as err:
        return _fail(str(err))
    finally:
        db.close()
    if args.format == "csv":
        return csv_bytes(to_csv(report, args.lang))  # with the BOM Excel needs to read Thai
    if args.format == "html":
        return to_html(report, args.lang)
    return json.dumps(to_json(report, args.lang), ensure_ascii=False, indent=1)


def _run(args: argparse.Namespace) -> int:
    path = args.db or args.settings.store.db_path
    if not Path(path).exists():
        return _fail(f"no database at {path}")
    pack = args.pack or args.format in ("pdf", "xlsx")
    if pack and args.format == "csv":
        return _fail("the committee pack is HTML, PDF, XLSX or JSON (--format html|pdf|xlsx|json)")
    if args.format in ("pdf", "xlsx") and not args.output:
        return _fail(f"--format {args.format} needs -o FILE")
    out = _pack_output(args, str(path)) if pack else _report_output(args, str(path))
    if isinstance(out, int):
        return out
    data = out.encode("utf-8") if isinstance(out, str) else out
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"camwatch report: wrote {args.output}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` command."""
    p = subparsers.add_parser("report", help="a month's committee report or pack (nation or one province)")
    p.add_argument("--month", required=True, help="Bangkok calendar month, YYYY-MM")
    p.add_argument("--province", default=None, help="DOPA province code (default: the nation)")
    p.add_argument("--format", choices=("csv", "html", "json", "pdf", "xlsx"), default="csv",
                   help="pdf, xlsx: the committee pack (needs -o); pdf is printed by headless Chromium")  # fmt: skip
    p.add_argument("--pack", action="store_true",
                   help="the committee pack (targets, month on month, faults, audit, charts) instead of the report")
    p.add_argument("--lang", choices=("th", "en"), default="th")
    p.add_argument("--db", default=None, help="database file (default: the store.db_path setting)")
    p.add_argument("-o", "--output", default=None, help="file to write (default: standard output)")
    p.set_defaults(func=_run)
