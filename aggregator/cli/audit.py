"""CLI subcommands of the audit: import-register, import-risk-points, reconcile.

Registered on ``camwatch-aggregator`` through :func:`register` (core's COMMANDS hook). Each
command prints a short human summary, or the full report as JSON with ``--json``, with the
reasons in ``--lang`` (English or Thai). An import exits 2 when the file as a whole was refused
(nothing imported) and 1 when some rows were refused (the others were imported), so a script
notices a register that was only partly taken.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from aggregator.audit.tablefile import TableFileError, TableLimits

__all__ = ["load_mapping_file", "parse_mapping", "register"]

EXIT_OK = 0
EXIT_ROWS_REFUSED = 1
EXIT_FILE_REFUSED = 2
EXIT_USAGE = 64


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """Turn ``field=Header text`` arguments into a column mapping."""
    mapping: dict[str, str] = {}
    for item in items or []:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise ValueError(f"--map {item!r} is not FIELD=HEADER")
        mapping[field.strip()] = header.strip()
    return mapping


def load_mapping_file(path: Path) -> dict[str, str]:
    """Read a column mapping kept in a file: a YAML (or JSON) object ``field: header``."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"mapping file {path}: {err}") from err
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"mapping file {path}: expected an object of field: header text")
    return {k.strip(): v.strip() for k, v in data.items()}


def _open(args: argparse.Namespace) -> Database:
    from aggregator.geography import load_geography
    from aggregator.schema import open_db

    path = args.db if args.db is not None else args.settings.store.db_path
    db = open_db(path)
    load_geography(db)
    return db


def _print(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print("\n".join(lines))


_WORDS = {
    "en": {"line": "line", "more": "... and {n} more (see --json)",
           "rows": "rows {rows}: {inserted} new, {updated} updated, {unchanged} unchanged, {rejected} rejected; "
                   "{absent} declared before but absent from this file",
           "risk": "rows {rows}: {inserted} new, {updated} updated, {rejected} rejected",
           "rejected_file": "refused lines written to {path}: fix them and import that file again"},
    "th": {"line": "บรรทัด", "more": "... และอีก {n} รายการ (ดู --json)",
           "rows": "{rows} แถว: เพิ่มใหม่ {inserted} แก้ไข {updated} ไม่เปลี่ยน {unchanged} ไม่รับ {rejected}; "
                   "มีในทะเบียนเดิมแต่ไม่อยู่ในไฟล์นี้ {absent}",
           "risk": "{rows} แถว: เพิ่มใหม่ {inserted} แก้ไข {updated} ไม่รับ {rejected}",
           "rejected_file": "บันทึกบรรทัดที่ไม่รับไว้ที่ {path}: แก้ไขแล้วนำเข้าไฟล์นั้นอีกครั้ง"},
}


def _rejection_lines(data: dict[str, Any], lang: str = "en", limit: int = 50) -> list[str]:
    words = _WORDS[lang]
    lines = [f"  {words['line']} {r['line']}: {'; '.join(r['reasons'])}" for r in data["rejections"][:limit]]
    if data["rejected"] > len(lines):
        lines.append("  " + words["more"].format(n=data["rejected"] - len(lines)))
    return lines


def _import_register(args: argparse.Namespace) -> int:
    from aggregator.audit.register import import_register

    try:
        mapping = load_mapping_file(args.map_file) if args.map_file else {}
        mapping.update(parse_mapping(args.map))
    except ValueError as err:
        print(f"error: {err}")
        return EXIT_USAGE
    db = _open(args)
    try:
        report = import_register(db, Path(args.file), mapping=mapping or None,
                                 limits=TableLimits(max_bytes=args.max_bytes), prune=args.prune,
                                 by="cli")
    except TableFileError as err:
        print(f"refused, nothing imported: {err}")
        return EXIT_FILE_REFUSED
    data = report.as_dict(args.lang)
    words = _WORDS[args.lang]
    extra: list[str] = []
    if args.rejected_out is not None and report.rejected:
        from aggregator.audit.rejected_file import rejected_csv

        args.rejected_out.write_text(rejected_csv(db, report.import_id, args.lang), encoding="utf-8")
        extra.append(words["rejected_file"].format(path=args.rejected_out))
    _print(args, data, [
        f"{report.source}: {report.format} ({report.encoding}), header on line {report.header_line}",
        words["rows"].format(**data)
        + (" (deleted)" if args.prune and report.absent else ""),
        *(["ignored columns: " + ", ".join(report.ignored_columns)] if report.ignored_columns else []),
        *_rejection_lines(data, args.lang),
        *extra,
    ])
    return EXIT_ROWS_REFUSED if report.rejected else EXIT_OK


def _import_risk(args: argparse.Namespace) -> int:
    from aggregator.audit.risk_store import import_risk_points

    db = _open(args)
    try:
        report = import_risk_points(db, Path(args.file), limits=TableLimits(max_bytes=args.max_bytes),
                                    by="cli")
    except TableFileError as err:
        print(f"refused, nothing imported: {err}")
        return EXIT_FILE_REFUSED
    data = report.as_dict(args.lang)
    _print(args, data, [_WORDS[args.lang]["risk"].format(**data), *_rejection_lines(data, args.lang)])
    return EXIT_ROWS_REFUSED if report.rejected else EXIT_OK


def _reconcile(args: argparse.Namespace) -> int:
    from aggregator.audit.queries import match_lines
    from aggregator.audit.reconcile import ReconcileOptions
    from aggregator.audit.store import run_reconcile

    db = _open(args)
    options = ReconcileOptions(position_m=args.position_m, moved_m=args.moved_m)
    run_id, counts = run_reconcile(db, args.province, options)
    data: dict[str, Any] = {"run_id": run_id, "counts": counts}
    if args.json:  # every line of the run: which declared camera went with which discovered one
        data["matches"] = match_lines(db, [args.province] if args.province else None, None, None, 0)
    _print(args, data, [
        f"reconciliation run {run_id}" + (f" (province {args.province})" if args.province else ""),
        *(f"  {klass}: {n}" for klass, n in sorted(counts.items())),
    ])
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add the audit subcommands to ``camwatch-aggregator``'s argparse subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None,
                        help="database file (default: the store.db_path setting)")
    common.add_argument("--json", action="store_true", help="print the full report as JSON")
    common.add_argument("--lang", choices=("en", "th"), default="en",
                        help="language of the reasons a row was refused (default en)")

    p = subparsers.add_parser("import-register", parents=[common],
                              help="import a provincial camera register (CSV or XLSX)")
    p.add_argument("file", help="register file; the content decides CSV or XLSX, not the name")
    p.add_argument("--map", action="append", metavar="FIELD=HEADER",
                   help="map a column whose header is not a known alias (repeatable)")
    p.add_argument("--map-file", type=Path, default=None,
                   help="YAML/JSON file of field: header mappings (--map entries win)")
    p.add_argument("--max-bytes", type=int, default=TableLimits().max_bytes)
    p.add_argument("--prune", action="store_true",
                   help="delete declared cameras of the file's provinces that it no longer lists")
    p.add_argument("--rejected-out", type=Path, default=None, metavar="CSV",
                   help="write the refused lines (the file's own values, then why) to CSV, "
                        "to fix and import again")
    p.set_defaults(func=_import_register)

    p = subparsers.add_parser("import-risk-points", parents=[common],
                              help="import risk points (name, kind, position, radius, province)")
    p.add_argument("file")
    p.add_argument("--max-bytes", type=int, default=TableLimits().max_bytes)
    p.set_defaults(func=_import_risk)

    p = subparsers.add_parser("reconcile", parents=[common],
                              help="match declared cameras to discovered ones and classify them")
    p.add_argument("--province", default=None, help="DOPA province code (default: whole country)")
    p.add_argument("--position-m", type=float, default=30.0)
    p.add_argument("--moved-m", type=float, default=150.0)
    p.set_defaults(func=_reconcile)
