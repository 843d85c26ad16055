"""Committee reports: a month's availability, never-seen cameras, faults and worst sites.

One report covers the nation (one row per province) or one province (one row per
district) for a Bangkok calendar month, with a total row. The figures are exact: per-site
totals are read from the daily totals for whole days and integrated from the transitions
for the partial days (the same rules as :mod:`aggregator.store.rollups`, grouped by site so a
national report costs a few grouped queries, not one per site), and the time inside
maintenance windows counts as maintenance, once per camera, as the availability API counts
it (:mod:`aggregator.store.site_totals`). Areas are then sums of their sites, so an area's row
equals ``/api/v1/availability`` for that area and month.

* *available* / *usable*: :class:`aggregator.availability.Totals` over the month;
* *never seen*: cameras that existed before the month ended but had no known time
  (up, degraded or down) in it: no check ever saw them;
* *faults opened* / *closed*: faults whose latest opening / resolution fell in the month;
  *MTTR*: mean hours from opening to resolution of the faults closed in the month (won't-fix
  closures and faults held under a wider fault are left out, as in :mod:`aggregator.faults.stats`);
* *worst sites*: the sites with the lowest available figure (most down time first on ties).

:func:`to_csv` and :func:`to_html` render a report in Thai or English.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlite_utils import Database

from aggregator.availability import Totals, Window, month_window
from aggregator.days import BANGKOK, day_of, from_ms, to_ms
from aggregator.states import KNOWN_CODES
from aggregator.store import camera_log
from aggregator.store.retention import kept_from
from aggregator.store.rollups import checkpoint_ms
from aggregator.store.site_totals import planned_site_totals

__all__ = [
    "AreaFigures",
    "Lang",
    "MonthlyReport",
    "SiteFigures",
    "build_report",
    "columns",
    "to_csv",
    "title",
    "to_html",
    "to_json",
]

Lang = Literal["th", "en"]
# How many sites the "worst sites" table lists: a committee page, not a data dump.
WORST_SITES = 10
_KNOWN_STATES = KNOWN_CODES  # up, degraded, down


@dataclass(frozen=True, slots=True)
class AreaFigures:
    """One row of a report: a province, a district, or the total."""

    code: str
    name_th: str
    name_en: str
    cameras: int = 0
    never_seen: int | None = 0  # None: the month reaches before the kept camera history
    totals: Totals = field(default_factory=Totals)
    faults_opened: int = 0
    faults_closed: int = 0
    mttr_h: float | None = None


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """A site in the worst-sites table."""

    site_id: str
    name: str
    province: str
    district: str
    district_th: str
    district_en: str
    cameras: int
    totals: Totals


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """A month's report for the nation (``province`` None) or one province."""

    month: str
    province: str | None
    province_th: str
    province_en: str
    generated_at: datetime
    window: Window
    rows: tuple[AreaFigures, ...]
    total: AreaFigures
    worst_sites: tuple[SiteFigures, ...]
    audit: dict[str, Any] | None = None  # the audit helper's register section, when available
    # Set when the month reaches before the kept camera history: "never seen" is then empty.
    camera_history_from: date | None = None


# ----- reading ------------------------------------------------------------------------------


def _site_totals(db: Database, window: Window, province: str | None) -> dict[int, Totals]:
    """Exact per-site totals over ``window`` (sites of ``province``, or all), the time inside
    maintenance windows counted as maintenance as the availability API counts it."""
    return planned_site_totals(db, window, province)


def _never_seen(db: Database, window: Window, province: str | None) -> dict[int, int]:
    """Per site: cameras that existed before the window ended but were never known in it.

    A camera was known in the window if its current state is known and began before the end
    (the open interval overlaps); or a complete daily total in the window (days before the
    checkpoint) has known time; or, after the checkpoint, one of its transitions in the window
    leaves or enters a known state. The first test settles almost every camera without
    reading its rows; the others are index seeks by (day, camera).
    """
    checkpoint = checkpoint_ms(db)
    where, params = ("", []) if province is None else (" AND s.province = ?", [province])
    closed = list(range(day_of(window.start_ms), min(day_of(window.end_ms - 1), day_of(checkpoint) - 1) + 1))
    lo = max(window.start_ms, checkpoint)
    live = list(range(day_of(lo), day_of(window.end_ms - 1) + 1)) if lo < window.end_ms else []
    later = list(range(day_of(lo), camera_log.db_last_day(db) + 1)) if lo < window.end_ms else []
    rows = db.execute(
        "SELECT c.site, COUNT(*) FROM cameras c JOIN sites s ON s.id = c.site "
        "WHERE c.first_seen_ms < ? AND NOT (c.state IN (0, 1, 2) AND c.tail_ms < ?) "
        f" AND NOT EXISTS (SELECT 1 FROM camera_day d WHERE d.day IN ({camera_log.marks(closed)}) "
        "                 AND d.camera = c.id AND d.up_ms + d.degraded_ms + d.down_ms > 0)"
        # after the checkpoint: a row in the window entering a known state, or a known state
        # in force at ``lo`` (the old state of the first row after it)
        f" AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.day IN ({camera_log.marks(live)}) "
        "                 AND t.camera = c.id AND t.at_ms >= ? AND t.at_ms < ? AND t.new_state IN (0, 1, 2))"
        f" AND NOT COALESCE((SELECT t.old_state IN (0, 1, 2) FROM transitions t WHERE t.day IN ({camera_log.marks(later)}) "
        "                   AND t.camera = c.id AND t.at_ms > ? ORDER BY t.at_ms, t.id LIMIT 1), 0)"
        f"{where} GROUP BY c.site",
        [window.end_ms, window.end_ms, *closed, *live, lo, window.end_ms, *later, lo, *params],
    ).fetchall()
    return {int(site): int(n) for site, n in rows}


@dataclass(slots=True)
class _Tally:
    """What a report row adds up while it is being built (mutable, internal)."""

    cameras: int = 0
    never: int = 0
    totals: Totals = field(default_factory=Totals)
    opened: int = 0
    closed: int = 0
    repair_s: list[float] = field(default_factory=list)


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _faults(db: Database, window: Window, province: str | None) -> dict[tuple[str, str], _Tally]:
    """Faults opened / closed in the window and repair times, keyed by (province, district)."""
    if not db["faults"].exists():
        return {}
    where, params = ("", []) if province is None else (" AND province = ?", [province])
    start, end = from_ms(window.start_ms), from_ms(window.end_ms)
    out: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for prov, district, opened, resolved, resolution, parent in db.execute(
        "SELECT province, district, opened_at, resolved_at, resolution, parent_id FROM faults "
        f"WHERE (resolved_at IS NULL OR resolved_at >= ?){where}",
        [start.isoformat()[:10], *params],
    ).fetchall():
        tally = out[(str(prov), str(district or ""))]
        opened_at, resolved_at = _iso(opened), _iso(resolved)
        if opened_at and start <= opened_at < end:
            tally.opened += 1
        if resolved_at and start <= resolved_at < end:
            tally.closed += 1
            # A resolution stamped before the opening (a backfilled recovery applied to a later
            # fault) is no repair time: it is left out rather than dragging the mean below zero.
            if opened_at and resolved_at >= opened_at and resolution != "wont_fix" and parent is None:
                tally.repair_s.append((resolved_at - opened_at).total_seconds())
    return out


# ----- building -----------------------------------------------------------------------------


def _mean_h(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) / 3600.0 if values else None


def build_report(
    db: Database, month: str, province: str | None = None, *, now: datetime | None = None,
    with_audit: bool = True,
) -> MonthlyReport:
    """Build the report for ``month`` (``YYYY-MM``, Bangkok) for the nation or ``province``
    (``with_audit``: add the register audit's section, which costs seconds at 1M cameras)."""
    now = now or datetime.now(UTC)
    full = month_window(month)
    if full.start_ms >= to_ms(now):
        raise ValueError(f"month {month} has not started yet")
    window = Window(full.start_ms, min(full.end_ms, to_ms(now)))
    if province is not None:
        row = db.execute("SELECT name_th, name_en FROM provinces WHERE code = ?", [province]).fetchone()
        if row is None:
            raise ValueError(f"province {province!r} is not a DOPA province code")
        prov_th, prov_en = str(row[0]), str(row[1])
    else:
        prov_th, prov_en = "ประเทศไทย", "Thailand"

    totals = _site_totals(db, window, province)
    # Before the first kept day of camera history (aggregator.store.retention) nobody can tell
    # which cameras were seen: the column is left empty rather than counting every camera.
    history_from = kept_from(db, window.start_ms)
    never = None if history_from is not None else _never_seen(db, window, province)
    faults = _faults(db, window, province)
    where, params = ("", []) if province is None else (" WHERE s.province = ?", [province])
    sites = db.execute(
        "SELECT s.id, s.site_id, s.name, s.province, s.district, d.name_th, d.name_en, "
        " (SELECT COUNT(*) FROM cameras c WHERE c.site = s.id AND c.first_seen_ms < ?) "
        f"FROM sites s JOIN districts d ON d.code = s.district{where}",
        [window.end_ms, *params],
    ).fetchall()

    # Areas: provinces of the nation, or districts of the province (every one, even empty).
    if province is None:
        areas = db.execute("SELECT code, name_th, name_en FROM provinces ORDER BY code").fetchall()
    else:
        areas = db.execute(
            "SELECT code, name_th, name_en FROM districts WHERE province = ? ORDER BY code", [province]
        ).fetchall()
    acc = {str(c): _Tally() for c, _th, _en in areas}
    site_rows: list[SiteFigures] = []
    for rowid, site_id, name, prov, district, d_th, d_en, cams in sites:
        tally = acc[str(prov) if province is None else str(district)]
        t = totals.get(int(rowid), Totals())
        tally.cameras += int(cams)
        tally.never += 0 if never is None else never.get(int(rowid), 0)
        tally.totals = tally.totals + t
        site_rows.append(SiteFigures(str(site_id), str(name), str(prov), str(district), str(d_th),
                                     str(d_en), int(cams), t))  # fmt: skip
    for (prov, district), counts in faults.items():
        tally_or_none = acc.get(prov if province is None else district)
        if tally_or_none is None:
            continue
        tally_or_none.opened += counts.opened
        tally_or_none.closed += counts.closed
        tally_or_none.repair_s.extend(counts.repair_s)

    rows: list[AreaFigures] = []
    all_repair: list[float] = []
    for code, name_th, name_en in areas:
        a = acc[str(code)]
        all_repair.extend(a.repair_s)
        rows.append(AreaFigures(str(code), str(name_th), str(name_en), a.cameras, None if never is None else a.never,
                                a.totals, a.opened, a.closed, _mean_h(a.repair_s)))  # fmt: skip
    grand = Totals()
    for r in rows:
        grand = grand + r.totals
    total = AreaFigures(
        province or "TH", prov_th, prov_en, sum(r.cameras for r in rows),
        None if never is None else sum(r.never_seen or 0 for r in rows),
        grand, sum(r.faults_opened for r in rows), sum(r.faults_closed for r in rows), _mean_h(all_repair),
    )
    ranked = sorted(
        (s for s in site_rows if s.totals.available is not None),
        key=lambda s: (s.totals.available or 0.0, -s.totals.down_ms, s.site_id),
    )
    return MonthlyReport(month, province, prov_th, prov_en, now, window, tuple(rows), total,
                         tuple(ranked[:WORST_SITES]), _audit(db, province, window.end_ms) if with_audit else None,
                         history_from)  # fmt: skip


def _audit(db: Database, province: str | None, now_ms: int) -> dict[str, Any] | None:
    """The register audit's section (declared vs seen cameras, risk points, hygiene), if any."""
    try:
        from aggregator.reports.audit_section import audit_section
    except ImportError:
        return None
    try:
        return audit_section(db, province, now_ms=now_ms).as_dict()
    except sqlite3.OperationalError:  # audit tables not migrated in this database
        return None


# ----- rendering ----------------------------------------------------------------------------

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
        return f"รายงานความพร้อมใช้งานกล้อง CCTV {where} เดือน {report.month}"
    return f"CCTV availability report, {where}, {report.month}"


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
    """The area rows and total as CSV (percentages as 0-100 numbers), UTF-8 with a BOM-free header."""
    cols = columns(lang)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c["label"] for c in cols])
    for r in (*report.rows, report.total):
        row = _row(r, lang)
        writer.writerow([_csv_value(row[c["key"]], c["kind"]) for c in cols])
    return buf.getvalue()


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


def to_html(report: MonthlyReport, lang: Lang) -> str:
    """A printable page (A4, no scripts) rendered from ``templates/report.html``."""
    from aggregator.web.pages import render_template

    cols = columns(lang)
    rows = [[(_fmt(_row(r, lang)[c["key"]], c["kind"]), c["kind"]) for c in cols] for r in report.rows]
    total = [(_fmt(_row(report.total, lang)[c["key"]], c["kind"]), c["kind"]) for c in cols]
    sites = [
        {**s, "available": _fmt(s["available"], "pct"), "usable": _fmt(s["usable"], "pct"),
         "down_h": _fmt(s["down_h"], "hours")}
        for s in _sites(report, lang)
    ]  # fmt: skip
    return render_template(
        "report.html",
        lang=lang,
        title=title(report, lang),
        columns=cols,
        rows=rows,
        total=total,
        sites=sites,
        audit=report.audit,
        history_from=report.camera_history_from.isoformat() if report.camera_history_from else None,
        generated=report.generated_at.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M"),
        period=(from_ms(report.window.start_ms).astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M"),
                from_ms(report.window.end_ms).astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")),  # fmt: skip
    )
