"""Exact per-site totals over a window, with the time inside maintenance windows as maintenance.

The monthly report needs every site's totals at once: reading them site by site through
:func:`aggregator.store.rollups.rollup_totals` would cost a rollup per site, so they are read
grouped by site (whole days from ``site_day``, partial days integrated from the transitions,
the same rules as the rollups). Maintenance windows are then applied exactly as
:func:`aggregator.store.rollups.rollup_totals` applies them, so an area summed from its sites equals
the API's figure for that area: each camera's covered time is the union of its district's,
its site's and its own windows, counted once:

* district spans: grouped totals of the district's sites over each span;
* site spans minus their district's spans: that site's totals over what is left;
* camera spans minus its site's and district's spans: that camera's own timeline.

The totals inside those spans move to maintenance (:func:`aggregator.availability.with_maintenance`).
Windows are few (an operator writes them by hand), so this is a few extra grouped reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlite_utils import Database

from aggregator.availability import (
    Span,
    Totals,
    Window,
    advance_counts,
    clip_spans,
    merge_spans,
    plan_window,
    segment_totals,
    subtract_spans,
    with_maintenance,
)
from aggregator.days import day_start, from_ms, to_ms
from aggregator.states import COUNT_COLUMNS, N_STATES
from aggregator.store.maintenance import MaintenanceWindow, TargetKind, load_windows
from aggregator.store.rollups import _MS, _camera_raw, checkpoint_ms

__all__ = ["SiteScope", "maintenance_inside", "planned_site_totals", "raw_site_totals"]

SiteScope = tuple[str, list[object]]
"""SQL restricting a ``site`` column (``" AND site IN (...)"``) and its parameters."""

_ALL: SiteScope = ("", [])


def _province_scope(province: str | None) -> SiteScope:
    if province is None:
        return _ALL
    return " AND site IN (SELECT id FROM sites WHERE province = ?)", [province]


def raw_site_totals(db: Database, window: Window, scope: SiteScope = _ALL) -> dict[int, Totals]:
    """Per site row id, exact totals of reported states over ``window`` (the sites of ``scope``)."""
    where, params = scope
    plan = plan_window(window, checkpoint_ms(db))
    out: dict[int, list[int]] = defaultdict(lambda: [0] * N_STATES)
    if plan.first_day is not None and plan.last_day is not None:
        for site, *ms in db.execute(
            f"SELECT site, {_MS} FROM site_day WHERE day BETWEEN ? AND ?{where} GROUP BY site",
            [plan.first_day, plan.last_day, *params],
        ).fetchall():
            acc = out[int(site)]
            for i, v in enumerate(ms):
                acc[i] += int(v or 0)
    for day, a, b in plan.segments:
        counts: dict[int, list[int]] = {
            int(site): [int(v or 0) for v in n]
            for site, *n in db.execute(
                f"SELECT site, {', '.join(COUNT_COLUMNS)} FROM site_day WHERE day = ?{where}", [day, *params]).fetchall()  # fmt: skip
        }
        d0 = day_start(day)
        # The stored day-start counts already include the transitions at exactly midnight: a
        # segment starting later advances them by those after midnight, one starting at midnight
        # undoes the midnight ones (they are counted again among the segment's own changes).
        changes: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        lo, hi = (d0 + 1, a) if a > d0 else (d0, d0 + 1)
        for site, old, new, n in db.execute(
            "SELECT site, old_state, new_state, COUNT(*) FROM transitions WHERE at_ms >= ? AND at_ms < ?"
            f"{where} GROUP BY site, old_state, new_state", [lo, hi, *params]).fetchall():  # fmt: skip
            changes[int(site)].append((int(old), int(new), int(n)) if a > d0 else (int(new), int(old), int(n)))
        inside: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
        for site, old, new, n, sum_at in db.execute(
            "SELECT site, old_state, new_state, COUNT(*), SUM(at_ms) FROM transitions WHERE at_ms >= ? AND at_ms < ?"
            f"{where} GROUP BY site, old_state, new_state", [a, b, *params]).fetchall():  # fmt: skip
            inside[int(site)].append((int(old), int(new), int(n), int(sum_at)))
        for site in set(counts) | set(changes) | set(inside):
            start = advance_counts(counts.get(site, [0] * N_STATES), changes.get(site, []))
            seg = segment_totals(start, a, b, inside.get(site, []))
            acc = out[site]
            for i, v in enumerate(seg.as_list()):
                acc[i] += v
    return {site: Totals.of(v) for site, v in out.items()}


def _target_spans(windows: Iterable[MaintenanceWindow], window: Window) -> dict[tuple[TargetKind, str], list[Span]]:
    """Each target's maintenance spans inside ``window`` (ms, merged)."""
    out: dict[tuple[TargetKind, str], list[Span]] = defaultdict(list)
    start, end = from_ms(window.start_ms), from_ms(window.end_ms)
    for w in windows:
        out[(w.target_kind, w.target_id)].extend((to_ms(a), to_ms(b)) for a, b in w.occurrences(start, end))
    return {target: spans for target, raw in out.items() if (spans := clip_spans(raw, window))}


def _add(acc: dict[int, Totals], more: dict[int, Totals]) -> None:
    for site, t in more.items():
        acc[site] = acc.get(site, Totals()) + t


def maintenance_inside(db: Database, window: Window, province: str | None = None) -> dict[int, Totals]:
    """Per site row id, the totals of reported states its cameras had inside maintenance windows
    during ``window``, each camera's covered time counted once (sites of ``province``, or all)."""
    by_target = _target_spans(load_windows(db), window)
    if not by_target:
        return {}
    prov_sql, prov_params = ("", []) if province is None else (" AND province = ?", [province])
    inside: dict[int, Totals] = {}
    district_spans = {target: spans for (kind, target), spans in by_target.items() if kind is TargetKind.DISTRICT}
    for district, spans in district_spans.items():
        if province is not None and not district.startswith(province):
            continue  # DOPA: a district code starts with its province's; nothing to read
        scope: SiteScope = (f" AND site IN (SELECT id FROM sites WHERE district = ?{prov_sql})", [district, *prov_params])
        for a, b in spans:
            _add(inside, raw_site_totals(db, Window(a, b), scope))
    covered: dict[int, list[Span]] = {}  # site row id -> spans of its own and its district's windows
    for (kind, target), spans in by_target.items():
        if kind is not TargetKind.SITE:
            continue
        row = db.execute(f"SELECT id, district FROM sites WHERE site_id = ?{prov_sql}", [target, *prov_params]).fetchone()
        if row is None:
            continue
        site, above = int(row[0]), district_spans.get(str(row[1]), [])
        for a, b in subtract_spans(spans, above):
            _add(inside, raw_site_totals(db, Window(a, b), (" AND site = ?", [site])))
        covered[site] = merge_spans([*spans, *above])
    joined = "" if province is None else " AND s.province = ?"
    for (kind, target), spans in by_target.items():
        if kind is not TargetKind.CAMERA:
            continue
        for camera, site, district in db.execute(
            "SELECT c.id, c.site, s.district FROM camera_inventory c JOIN sites s ON s.id = c.site "
            f"WHERE c.camera_id = ?{joined}", [target, *prov_params]).fetchall():  # fmt: skip
            above = covered.get(int(site), district_spans.get(str(district), []))
            for a, b in subtract_spans(spans, above):
                _add(inside, {int(site): _camera_raw(db, int(camera), Window(a, b))})
    return inside


def planned_site_totals(db: Database, window: Window, province: str | None = None) -> dict[int, Totals]:
    """Per site row id, exact totals over ``window`` with the time inside maintenance windows
    counted as maintenance (sites of ``province``, or all): what the availability API reports."""
    raw = raw_site_totals(db, window, _province_scope(province))
    inside = maintenance_inside(db, window, province)
    if not inside:
        return raw
    return {site: with_maintenance(raw.get(site, Totals()), inside.get(site, Totals())) for site in raw.keys() | inside.keys()}
