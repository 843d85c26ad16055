"""The committee pack as an XLSX workbook: one sheet per table, numbers as numbers.

A province's officer re-sorts and charts the figures in a spreadsheet: shares are stored as
fractions with a percent format, hours and baht as plain numbers, so nothing is text that
looks like a number. Sheet names and headers are in the reader's language (Thai by default);
the month is in the workbook's first sheet as words ("พฤศจิกายน 2569").
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from aggregator.reports.figures import Lang
from aggregator.reports.labels import label
from aggregator.reports.pack import CommitteePack
from aggregator.reports.pack_render import pack_title
from aggregator.reports.render import columns, to_json

__all__ = ["pack_xlsx"]

Cell = str | int | float | bool | None
Table = tuple[list[str], list[list[Cell]], list[str]]  # headers, rows, kind per column
_FORMATS = {"pct": "0.0%", "pts": "+0.0;-0.0;0.0", "hours": "#,##0.0", "money": "#,##0.00", "int": "#,##0"}
_SHEET_CHARS = 31  # Excel's limit on a sheet name


def _cell(value: object) -> Cell:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _name(row: Mapping[str, object], lang: Lang) -> str:
    return str(row.get("name_th" if lang == "th" else "name_en", row.get("code", "")))


def _rows(data: Mapping[str, object], key: str = "rows") -> list[Mapping[str, object]]:
    rows = data.get(key)
    return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []


def _strings(data: Mapping[str, object], key: str) -> list[str]:
    values = data.get(key)
    return [str(v) for v in values] if isinstance(values, list) else []


def _with_total(data: Mapping[str, object]) -> list[Mapping[str, object]]:
    total = data.get("total")
    return _rows(data) + ([total] if isinstance(total, Mapping) else [])


def _ranking(d: Mapping[str, object], lang: Lang) -> Table:
    fig = label(str(d.get("figure", "usable")), lang)
    head = [label("rank", lang), label("area", lang), label("cameras", lang), fig, label("target", lang),
            label("gap", lang), label("meets", lang)]  # fmt: skip
    rows = [[_cell(r.get("rank")), _name(r, lang), _cell(r["cameras"]), _cell(r["value"]), _cell(r["target"]),
             _cell(r["gap_pts"]), None if r["meets"] is None else label("yes" if r["meets"] else "no", lang)]
            for r in _with_total(d)]  # fmt: skip
    return head, rows, ["int", "text", "int", "pct", "pct", "num", "text"]


def _comparison(d: Mapping[str, object], lang: Lang) -> Table:
    now, before, change = label("this_month", lang), label("last_month", lang), label("change", lang)
    a, u, f = label("available", lang), label("usable", lang), label("faults_opened", lang)
    head = [label("area", lang), f"{a}: {now}", f"{a}: {before}", f"{a}: {change}", f"{u}: {now}", f"{u}: {before}",
            f"{u}: {change}", f"{f}: {now}", f"{f}: {before}"]  # fmt: skip
    keys = ("available", "available_before", "available_change_pts", "usable", "usable_before", "usable_change_pts",
            "faults_opened", "faults_opened_before")  # fmt: skip
    rows = [[_name(r, lang), *(_cell(r[k]) for k in keys)] for r in _with_total(d)]
    return head, rows, ["text", "pct", "pct", "num", "pct", "pct", "num", "int", "int"]


def _daily(d: Mapping[str, object], lang: Lang) -> Table:
    rows = [[str(r["date"]), _cell(r["available"]), _cell(r["usable"])] for r in _rows(d, "days")]
    return [label("date", lang), label("available", lang), label("usable", lang)], rows, ["text", "pct", "pct"]


def _ageing(d: Mapping[str, object], lang: Lang) -> Table:
    buckets = _strings(d, "buckets")
    head = [label("area", lang), *(label(b, lang) for b in buckets), label("open_faults", lang)]
    rows = [[_name(r, lang), *(_cell(r[b]) for b in buckets), _cell(r["open"])] for r in _with_total(d)]
    return head, rows, ["text", *(["int"] * (len(buckets) + 1))]


def _mttr(d: Mapping[str, object], lang: Lang) -> Table:
    now, before = label("this_month", lang), label("last_month", lang)
    head = [label("area", lang)] + [f"{label(k, lang)}: {when}" for when in (now, before)
                                    for k in ("resolved", "mean_h", "median_h")]  # fmt: skip
    rows = []
    for r in _with_total(d):
        b = r.get("before")
        prev = b if isinstance(b, Mapping) else {}
        rows.append([_name(r, lang), _cell(r["resolved"]), _cell(r["mean_h"]), _cell(r["median_h"]),
                     _cell(prev.get("resolved")), _cell(prev.get("mean_h")), _cell(prev.get("median_h"))])  # fmt: skip
    return head, rows, ["text", "int", "hours", "hours", "int", "hours", "hours"]


def _repairs(d: Mapping[str, object], lang: Lang) -> Table:
    keys = ("opened", "resolved", "wont_fix", "with_parts", "cost")
    rows = [[_name(r, lang), *(_cell(r[k]) for k in keys)] for r in _with_total(d)]
    return [label("area", lang), *(label(k, lang) for k in keys)], rows, ["text", "int", "int", "int", "int", "money"]


def _plan(d: Mapping[str, object], lang: Lang) -> Table:
    keys = ("rows", "open", "planned", "planned_cost_baht", "done", "done_share", "spent_baht")
    rows = [[_name(r, lang), *(_cell(r[k]) for k in keys)] for r in _with_total(d)]
    return ([label("area", lang), *(label(k, lang) for k in keys)], rows,
            ["text", "int", "int", "int", "money", "int", "pct", "money"])  # fmt: skip


def _completeness(d: Mapping[str, object], lang: Lang) -> Table:
    shares = ("position_share", "serial_share", "agency_share", "status_share", "score", "verified_share")
    head = [label("rank", lang), label("area", lang), label("declared", lang),
            *(label("agent_verified_share" if k == "verified_share" else k, lang) for k in shares),
            label("ghosts", lang), label("unregistered_n", lang), label("certified_by", lang),
            label("certified_at", lang), label("changed_since", lang)]  # fmt: skip
    rows = []
    for r in _with_total(d):
        changed = r.get("changed_since_certification")
        rows.append([_cell(r.get("rank")), _name(r, lang), _cell(r["declared"]), *(_cell(r[k]) for k in shares),
                     _cell(r["ghosts"]), _cell(r["unregistered"]), _cell(r.get("certified_by")),
                     _cell(r.get("certified_at")),
                     None if changed is None else label("changed.yes" if changed else "changed.no", lang)])  # fmt: skip
    return head, rows, ["int", "text", "int", *(["pct"] * len(shares)), "int", "int", "text", "text", "text"]


def _audit(d: Mapping[str, object], lang: Lang) -> Table:
    classes = _strings(d, "classes")
    head = [label("area", lang), label("declared", lang), *(label(k, lang) for k in classes),
            label("verified_share", lang)]  # fmt: skip
    rows = []
    for r in _with_total(d):
        counts = r.get("classes")
        per = counts if isinstance(counts, Mapping) else {}
        share = r.get("verified_share", r.get("seen_working_share"))
        rows.append([_name(r, lang), _cell(r["declared"]), *(_cell(per.get(k, 0)) for k in classes), _cell(share)])
    return head, rows, ["text", "int", *(["int"] * len(classes)), "pct"]


def _risk(d: Mapping[str, object], lang: Lang) -> Table:
    head = [label(k, lang) for k in ("point", "kind", "province", "cameras", "usable_now", "usable_30d")]
    rows = [[str(p["name"]), label(str(p["kind"]), lang), _name(p, lang), _cell(p["cameras"]), _cell(p["usable_now"]),
             _cell(p["usable_30d"])] for p in _rows(d, "uncovered")]  # fmt: skip
    return head, rows, ["text", "text", "text", "int", "int", "int"]


def _recording(d: Mapping[str, object], lang: Lang) -> Table:
    keys = ("cameras", "compliant", "short", "not_recording", "storage", "share")
    rows = [[_name(r, lang), *(_cell(r.get(k)) for k in keys)] for r in _with_total(d)]
    return ([label("area", lang), *(label(f"rec.{k}", lang) for k in keys)], rows,
            ["text", "int", "int", "int", "int", "int", "pct"])  # fmt: skip


def _advisories(d: Mapping[str, object], lang: Lang) -> Table:
    """One row per province (and the total), one column per matched CVE, KEV said in its header."""
    cves = [(str(c["cve"]), bool(c["kev"])) for c in _rows(d, "cves")]
    head = [label("area", lang), label("adv.cameras", lang), label("adv.kev", lang),
            *(f"{cve} (KEV)" if kev else cve for cve, kev in cves)]  # fmt: skip
    rows = []
    for r in _with_total(d):
        per = r.get("cves")
        counts = per if isinstance(per, Mapping) else {}
        rows.append([_name(r, lang), _cell(r["cameras"]), _cell(r["kev"]), *(_cell(counts.get(c, 0)) for c, _ in cves)])
    return head, rows, ["text", "int", "int", *(["int"] * len(cves))]


_TABLES: dict[str, Callable[[Mapping[str, object], Lang], Table]] = {
    "ranking": _ranking, "comparison": _comparison, "daily": _daily, "ageing": _ageing, "mttr": _mttr,
    "repairs": _repairs, "plan": _plan, "audit": _audit, "completeness": _completeness, "risk": _risk,
    "recording": _recording, "advisories": _advisories,
}  # fmt: skip


def _write(sheet: Worksheet, head: Sequence[str], rows: Sequence[Sequence[Cell]], kinds: Sequence[str],
           top: int = 1) -> None:  # fmt: skip
    """Append a table (header on row ``top``, then its rows), numbers formatted by column kind."""
    sheet.append(list(head))
    for row in rows:
        sheet.append(list(row))
    for col, kind in enumerate(kinds, start=1):
        fmt = _FORMATS.get("pts" if kind == "num" else kind)
        if fmt is None:
            continue
        for (cell,) in sheet.iter_rows(min_row=top + 1, min_col=col, max_col=col):
            cell.number_format = fmt
    sheet.freeze_panes = f"A{top + 1}"


def pack_xlsx(pack: CommitteePack, lang: Lang) -> bytes:
    """The pack's tables as an XLSX workbook: the area summary first, then a sheet per section."""
    book = Workbook()
    summary = book.active
    assert summary is not None  # a new workbook has its first sheet
    summary.title = label("section.summary", lang)[:_SHEET_CHARS]
    summary.append([pack_title(pack, lang)])
    cols = columns(lang)
    rows = to_json(pack.report, lang)["rows"]
    areas = [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []
    _write(summary, [c["label"] for c in cols], [[_cell(r[c["key"]]) for c in cols] for r in areas],
           [c["kind"] for c in cols], top=2)  # fmt: skip
    for section in pack.sections:
        table = _TABLES.get(section.key)
        if table is None:
            continue
        data = dict(section.data)
        total = data.get("total")
        if isinstance(total, Mapping):  # the total row is named like the area tables' (ประเทศไทย, the province)
            data["total"] = {"name_th": pack.report.total.name_th, "name_en": pack.report.total.name_en, **total}
        sheet = book.create_sheet(label(f"section.{section.key}", lang)[:_SHEET_CHARS])
        _write(sheet, *table(data, lang))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
