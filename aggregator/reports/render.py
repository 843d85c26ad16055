"""Render a committee report: JSON for the dashboard, CSV, and a printable HTML page.

The page comes from this folder's own ``templates/report.html`` (autoescaped Jinja2), so
reports never reach into the dashboard (web/ is a higher room).
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from aggregator.days import from_ms
from aggregator.reports.figures import AreaFigures, Lang, MonthlyReport
from aggregator.reports.labels import label
from aggregator.thaidate import date_text, datetime_text, month_text

__all__ = ["CSV_BOM", "area_cells", "columns", "csv_bytes", "site_cells", "title", "to_csv", "to_html", "to_json"]

# Excel on Windows reads a CSV file without a byte-order mark in the local code page and
# garbles Thai; with the UTF-8 BOM it reads UTF-8. Every CSV a person downloads starts with it.
CSV_BOM = "\ufeff"

_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))
    env.globals["label"] = label
    return env


_LABELS: dict[str, tuple[str, str]] = {
    "code": ("รหัส", "Code"),
    "name": ("พื้นที่", "Area"),
    "cameras": ("กล้อง", "Cameras"),
    "available": ("พร้อมใช้งาน", "Available"),
    "usable": ("ใช้งานได้จริง", "Usable"),
    "unknown_h": ("ไม่ทราบสถานะ (ชม.)", "Unknown (h)"),
    "maintenance_h": ("ซ่อมบำรุง (ชม.)", "Maintenance (h)"),
    "never_seen": ("ไม่เคยพบ", "Never seen"),
    "faults_opened": ("เหตุขัดข้องเปิด", "Faults opened"),
    "faults_closed": ("เหตุขัดข้องปิด", "Faults closed"),
    "mttr_h": ("เวลาซ่อมเฉลี่ย (ชม.)", "MTTR (h)"),
}
_KINDS = {"code": "text", "name": "text", "cameras": "int", "available": "pct", "usable": "pct",
          "unknown_h": "hours", "maintenance_h": "hours", "never_seen": "int", "faults_opened": "int",
          "faults_closed": "int", "mttr_h": "hours"}  # fmt: skip


def columns(lang: Lang) -> list[dict[str, str]]:
    """The report's columns: key, label in ``lang``, and kind (text, int, pct, hours)."""
    i = 0 if lang == "th" else 1
    return [{"key": k, "label": v[i], "kind": _KINDS[k]} for k, v in _LABELS.items()]


def _row(r: AreaFigures, lang: Lang) -> dict[str, object]:
    return {
        "code": r.code,
        "name": r.name_th if lang == "th" else r.name_en,
        "cameras": r.cameras,
        "available": r.totals.available,
        "usable": r.totals.usable,
        "unknown_h": r.totals.unknown_ms / 3_600_000,
        "maintenance_h": r.totals.maint_ms / 3_600_000,
        "never_seen": r.never_seen,
        "faults_opened": r.faults_opened,
        "faults_closed": r.faults_closed,
        "mttr_h": r.mttr_h,
    }


def title(report: MonthlyReport, lang: Lang) -> str:
    """The report's heading."""
    where = report.province_th if lang == "th" else report.province_en
    if lang == "th":
        return f"รายงานความพร้อมใช้งานกล้อง CCTV {where} ประจำเดือน{month_text(report.month, lang)}"
    return f"CCTV availability report, {where}, {month_text(report.month, lang)}"


def _sites(report: MonthlyReport, lang: Lang) -> list[dict[str, object]]:
    return [
        {
            "site_id": s.site_id, "name": s.name, "province": s.province, "district": s.district,
            "district_name": s.district_th if lang == "th" else s.district_en, "cameras": s.cameras,
            "available": s.totals.available, "usable": s.totals.usable,
            "down_h": s.totals.down_ms / 3_600_000,
        }
        for s in report.worst_sites
    ]  # fmt: skip


def to_json(report: MonthlyReport, lang: Lang) -> dict[str, object]:
    """The report as the dashboard draws it."""
    return {
        "title": title(report, lang),
        "month": report.month,
        "province": report.province,
        "generated_at": report.generated_at.isoformat(),
        "window": {"start": from_ms(report.window.start_ms).isoformat(),
                   "end": from_ms(report.window.end_ms).isoformat()},  # fmt: skip
        "columns": columns(lang),
        "rows": [_row(r, lang) for r in (*report.rows, report.total)],
        "worst_sites": _sites(report, lang),
        "audit": report.audit,
        "recording": report.recording,
        "camera_history_from": report.camera_history_from.isoformat() if report.camera_history_from else None,
    }


def _csv_value(value: object, kind: str) -> str:
    if value is None:
        return ""
    if kind == "pct" and isinstance(value, float):
        return f"{value * 100:.2f}"
    if kind == "hours" and isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def to_csv(report: MonthlyReport, lang: Lang) -> str:
    """The area rows and total as CSV text (percentages as 0-100 numbers); :func:`csv_bytes` is the file."""
    cols = columns(lang)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c["label"] for c in cols])
    for r in (*report.rows, report.total):
        row = _row(r, lang)
        writer.writerow([_csv_value(row[c["key"]], c["kind"]) for c in cols])
    return buf.getvalue()


def csv_bytes(text: str) -> bytes:
    """A CSV text as the file a person downloads: UTF-8 with a byte-order mark (see :data:`CSV_BOM`)."""
    return (CSV_BOM + text).encode("utf-8")


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct" and isinstance(value, float):
        return f"{value * 100:.1f}%"
    if kind == "hours" and isinstance(value, float):
        return f"{value:,.1f}"
    if kind == "int" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


Cell = tuple[str, str]  # (text, kind) of a printed table cell


def area_cells(report: MonthlyReport, lang: Lang) -> tuple[list[list[Cell]], list[Cell]]:
    """The printed area table: a row of (text, kind) cells per area, and the total row."""
    cols = columns(lang)
    rows = [[(_fmt(_row(r, lang)[c["key"]], c["kind"]), c["kind"]) for c in cols] for r in report.rows]
    total = [(_fmt(_row(report.total, lang)[c["key"]], c["kind"]), c["kind"]) for c in cols]
    return rows, total


def site_cells(report: MonthlyReport, lang: Lang) -> list[dict[str, object]]:
    """The printed worst-sites table: one dict of texts per site."""
    return [
        {**s, "available": _fmt(s["available"], "pct"), "usable": _fmt(s["usable"], "pct"),
         "down_h": _fmt(s["down_h"], "hours")}
        for s in _sites(report, lang)
    ]  # fmt: skip


def to_html(report: MonthlyReport, lang: Lang) -> str:
    """A printable page (A4, no scripts) rendered from ``templates/report.html``."""
    cols = columns(lang)
    rows, total = area_cells(report, lang)
    return _environment().get_template("report.html").render(
        lang=lang,
        title=title(report, lang),
        columns=cols,
        rows=rows,
        total=total,
        sites=site_cells(report, lang),
        audit=report.audit,
        recording=report.recording,
        history_from=date_text(report.camera_history_from, lang) if report.camera_history_from else None,
        generated=datetime_text(report.generated_at, lang),
        period=(datetime_text(from_ms(report.window.start_ms), lang),
                datetime_text(from_ms(report.window.end_ms), lang)),  # fmt: skip
    )
