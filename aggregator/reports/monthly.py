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

:mod:`aggregator.reports.render` renders a report in Thai or English (:func:`to_csv`,
:func:`to_html`, :func:`to_json` are re-exported here for the CLI).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from aggregator.availability import Totals, Window, month_window
from aggregator.days import day_of, from_ms, to_ms
from aggregator.reports.audit_section import audit_section
from aggregator.reports.figures import WORST_SITES, AreaFigures, Lang, MonthlyReport, SiteFigures
from aggregator.reports.recording import recording_section
from aggregator.reports.render import columns, title, to_csv, to_html, to_json
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

_KNOWN_STATES = KNOWN_CODES  # up, degraded, down
# The protocol accepts times from 2000 on (aggregator.days): an earlier month has no figures.
_FIRST_MONTH = "2000-01"


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
    if month < _FIRST_MONTH:
        raise ValueError(f"month {month} is before {_FIRST_MONTH}: no camera history is that old")
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
                         history_from, recording_section(db, province))  # fmt: skip


def _audit(db: Database, province: str | None, now_ms: int) -> dict[str, Any] | None:
    """The register audit's section (declared vs seen cameras, risk points, hygiene), if any."""
    try:
        return audit_section(db, province, now_ms=now_ms).as_dict()
    except sqlite3.OperationalError:  # audit tables not migrated in this database
        return None
