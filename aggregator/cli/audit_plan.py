"""CLI of the province's plans: ``audit-plan export`` (the repair plan as XLSX or CSV),
``audit-plan totals`` (repair-plan figures per province) and ``audit-plan certify``.

Registered on ``camwatch-aggregator`` through :func:`register` (core's COMMANDS hook). The same
functions answer the API (``/api/v1/audit/plans/...``), so a file written here has the same
lines as the dashboard's download.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

__all__ = ["register"]

EXIT_OK = 0
EXIT_USAGE = 64
_WORDS = {
    "en": {"export": "{out}: {n} lines ({open} open, {done} done), {fmt}",
           "totals": "{province}: {rows} lines, {open} open, {planned} planned ({cost} baht), {done} done, "
                     "{spent} baht spent"},
    "th": {"export": "{out}: {n} รายการ (ยังไม่เสร็จ {open} เสร็จแล้ว {done}), {fmt}",
           "totals": "{province}: {rows} รายการ ยังไม่เสร็จ {open} วางแผนแล้ว {planned} (งบ {cost} บาท) "
                     "เสร็จแล้ว {done} ใช้จ่ายจริง {spent} บาท"},
}


def _open(args: argparse.Namespace) -> Database:
    from aggregator.geography import load_geography
    from aggregator.schema import open_db

    path = args.db if args.db is not None else args.settings.store.db_path
    db = open_db(path)
    load_geography(db)
    return db


def _now() -> datetime:
    return datetime.now(UTC)


def _now_ms() -> int:
    from aggregator.days import to_ms

    return to_ms(_now())


def _province(db: Database, code: str) -> bool:
    return db.execute("SELECT 1 FROM provinces WHERE code = ?", [code]).fetchone() is not None


def _export(args: argparse.Namespace) -> int:
    from aggregator.audit.plan import repair_plan
    from aggregator.audit.plan_export import plan_csv, plan_xlsx

    db = _open(args)
    if not _province(db, args.province):
        print(f"unknown province {args.province!r} (a DOPA code such as 50)", file=sys.stderr)
        return EXIT_USAGE
    lines = repair_plan(db, args.province, _now_ms())
    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "xlsx")
    data = plan_csv(lines, args.lang) if fmt == "csv" else plan_xlsx(lines, args.lang, title=f"repair {args.province}")
    args.out.write_bytes(data)
    open_lines = sum(1 for line in lines if line.status == "open")
    print(_WORDS[args.lang]["export"].format(out=args.out, n=len(lines), open=open_lines, done=len(lines) - open_lines,
                                             fmt=fmt))  # fmt: skip
    return EXIT_OK


def _totals(args: argparse.Namespace) -> int:
    from aggregator.audit.plan import plan_totals

    db = _open(args)
    totals = plan_totals(db, [args.province] if args.province else None, now_ms=_now_ms())
    if args.json:
        print(json.dumps({p: t.as_dict() for p, t in totals.items()}, ensure_ascii=False, indent=2))
        return EXIT_OK
    for p, t in totals.items():
        print(_WORDS[args.lang]["totals"].format(province=p, rows=t.rows, open=t.open, planned=t.planned,
                                                 cost=f"{t.planned_cost_baht:,.2f}", done=t.done,
                                                 spent=f"{t.spent_baht:,.2f}"))  # fmt: skip
    return EXIT_OK


def _certify(args: argparse.Namespace) -> int:
    from aggregator.audit.certify import certify
    from aggregator.days import to_ms

    db = _open(args)
    if not _province(db, args.province):
        print(f"unknown province {args.province!r} (a DOPA code such as 50)", file=sys.stderr)
        return EXIT_USAGE
    now = _now()
    cert_id = certify(db, args.province, args.officer, by="cli", at=now.isoformat(timespec="seconds"),
                      note=args.note, now_ms=to_ms(now))  # fmt: skip
    data: dict[str, Any] = {"id": cert_id, "province": args.province, "officer": args.officer}
    print(json.dumps(data, ensure_ascii=False) if args.json else f"province {args.province} certified ({cert_id})")
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``audit-plan`` and its subcommands to ``camwatch-aggregator``'s argparse subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None, help="database file (default: the store.db_path setting)")
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument("--lang", choices=("en", "th"), default="th", help="language of headers and words (default th)")
    top = subparsers.add_parser("audit-plan", help="the provinces' repair plans: export, totals, certification")
    sub = top.add_subparsers(dest="plan_command", required=True)

    p = sub.add_parser("export", parents=[common], help="write a province's repair plan as XLSX or CSV")
    p.add_argument("--province", required=True, help="DOPA province code, e.g. 50")
    p.add_argument("--out", type=Path, required=True, help="file to write (.csv: CSV, else XLSX)")
    p.add_argument("--format", choices=("xlsx", "csv"), default=None, help="default: from --out's suffix")
    p.set_defaults(func=_export)

    p = sub.add_parser("totals", parents=[common], help="repair-plan figures per province")
    p.add_argument("--province", default=None)
    p.set_defaults(func=_totals)

    p = sub.add_parser("certify", parents=[common], help="certify a province's audit (freeze its figures)")
    p.add_argument("--province", required=True)
    p.add_argument("--officer", required=True, help="name and position of the signing officer")
    p.add_argument("--note", default="")
    p.set_defaults(func=_certify)
