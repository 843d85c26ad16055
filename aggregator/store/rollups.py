"""Select the rows availability needs: daily totals, day-start counts, transitions.

The maths is in :mod:`aggregator.availability`; this module only reads. It works on any
connection (API readers open their own), never on the writer's memory.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from sqlite_utils import Database

from aggregator.availability import (
    Span,
    Totals,
    Window,
    advance_counts,
    clip_spans,
    integrate_timeline,
    merge_spans,
    plan_window,
    segment_totals,
    segment_totals_backward,
    subtract_spans,
    with_maintenance,
)
from aggregator.days import day_of, day_start, from_ms, to_ms
from aggregator.states import COUNT_COLUMNS, MS_COLUMNS
from aggregator.store import camera_log
from aggregator.store.maintenance import MaintenanceWindow, TargetKind, load_windows

__all__ = ["Level", "camera_timeline", "camera_totals", "checkpoint_ms", "planned_totals", "rollup_totals"]

_MS = ", ".join(f"SUM({c})" for c in MS_COLUMNS)
_N = ", ".join(f"SUM({c})" for c in COUNT_COLUMNS)
_FOREVER = 2**62


class Level(StrEnum):
    """Where a rollup is taken."""

    NATION = "nation"
    PROVINCE = "province"
    DISTRICT = "district"
    AGENCY = "agency"
    SITE = "site"


def checkpoint_ms(db: Database) -> int:
    """The last Bangkok midnight the writer rolled into the daily totals."""
    row = db.execute("SELECT value FROM store_meta WHERE key = 'checkpoint_ms'").fetchone()
    return int(row[0]) if row else 0


def _sites_clause(level: Level, key: str | None) -> tuple[str, list[object]]:
    """SQL restricting ``site`` columns to the level's sites (empty for the nation)."""
    if level is Level.NATION:
        return "", []
    if level is Level.SITE:
        return " AND site = (SELECT id FROM sites WHERE site_id = ?)", [key]
    column = {Level.PROVINCE: "province", Level.DISTRICT: "district", Level.AGENCY: "agency"}[level]
    return f" AND site IN (SELECT id FROM sites WHERE {column} = ?)", [key]


def _transitions_clause(level: Level, key: str | None) -> tuple[str, list[object]]:
    """SQL restricting ``transitions`` rows to the level's cameras. A site or district is a few
    cameras: reaching their rows through the (camera, at_ms) index reads only theirs, where the
    time index would scan the whole nation's transitions in the range (measured 10-50x)."""
    if level is Level.SITE:
        return " AND camera IN (SELECT id FROM camera_inventory WHERE site = (SELECT id FROM sites WHERE site_id = ?))", [key]
    if level is Level.DISTRICT:
        return (" AND camera IN (SELECT id FROM camera_inventory WHERE site IN (SELECT id FROM sites WHERE district = ?))",
                [key])  # fmt: skip
    return _sites_clause(level, key)


def _day_sums(db: Database, level: Level, key: str | None, cols: str, first: int, last: int) -> list[int]:
    where: str
    params: list[object]
    if level in (Level.NATION, Level.PROVINCE):
        where, params = ("", []) if level is Level.NATION else (" AND province = ?", [key])
        sql = f"SELECT {cols} FROM province_day WHERE day BETWEEN ? AND ?{where}"
    else:
        where, params = _sites_clause(level, key)
        sql = f"SELECT {cols} FROM site_day WHERE day BETWEEN ? AND ?{where}"
    row = db.execute(sql, [first, last, *params]).fetchone()
    return [int(v or 0) for v in row]


class Live(Protocol):
    """The writer's in-memory view (``StateStore``), for the part of a window after the checkpoint."""

    lock: Any

    @property
    def checkpoint(self) -> int: ...

    def counts_now(self, level: str, key: str | None) -> list[int]: ...

    def open_ms(self, level: str, key: str | None, start_ms: int, end_ms: int) -> list[int]: ...

    def changes(self, level: str, key: str | None, lo: int, hi: int) -> list[tuple[int, int, int, int]] | None: ...


def _changes(
    db: Database, where: str, params: list[object], lo: int, hi: int, live: Live | None = None,
    level: Level = Level.NATION, key: str | None = None,
) -> list[tuple[int, int, int, int]]:  # fmt: skip
    if hi <= lo:
        return []
    if live is not None:
        recent = live.changes(level.value, key, lo, hi)
        if recent is not None:
            return recent
    days: list[object] = []
    if level in (Level.SITE, Level.DISTRICT):  # reach the few cameras' rows through (day, camera, at_ms)
        days = list(range(day_of(lo), min(day_of(hi - 1), camera_log.db_last_day(db)) + 1))
        where = f" AND day IN ({camera_log.marks(days)}){where}"
    rows = db.execute(
        "SELECT old_state, new_state, COUNT(*), SUM(at_ms) FROM transitions WHERE at_ms >= ? AND at_ms < ?"
        f"{where} GROUP BY old_state, new_state", [lo, hi, *days, *params]).fetchall()  # fmt: skip
    return [(int(o), int(n), int(c), int(t)) for o, n, c, t in rows]


def _segment(
    db: Database, level: Level, key: str | None, day: int, a: int, b: int, checkpoint: int,
    live: Live | None, now_ms: int,
) -> Totals:  # fmt: skip
    """Exact totals over ``[a, b)`` inside Bangkok ``day``, scanning as few transitions as possible:
    forward from the day's start counts, backward from the next day's start counts, backward
    from the live counts (window ending now), or the day's totals plus the live open intervals."""
    where, params = _transitions_clause(level, key)
    d0, d1 = day_start(day), day_start(day + 1)
    options: list[tuple[int, str]] = [(b - d0, "forward")]
    if d1 <= checkpoint:
        options.append((d1 - a, "from_day_end"))
    if live is not None and b == now_ms:
        options.append((now_ms - a, "from_now"))
        if a == d0 == checkpoint:
            options.append((0, "day_plus_open"))
    _, how = min(options)
    if how == "day_plus_open":
        assert live is not None
        closed = _day_sums(db, level, key, _MS, day, day)
        return Totals.of(closed) + Totals.of(live.open_ms(level.value, key, a, b))
    inside = _changes(db, where, params, a, b, live, level, key)
    # Stored day-start counts include the transitions at exactly midnight; "before x" excludes those at x.
    if how == "forward":
        counts = _day_sums(db, level, key, _N, day, day)
        if a > d0:
            counts = advance_counts(counts, [c[:3] for c in _changes(db, where, params, d0 + 1, a, live, level, key)])
        else:
            counts = _undo(counts, _changes(db, where, params, d0, d0 + 1, live, level, key))
        return segment_totals(counts, a, b, inside)
    if how == "from_day_end":
        counts = _undo(_day_sums(db, level, key, _N, day + 1, day + 1), _changes(db, where, params, b, d1 + 1, live, level, key))
    else:
        assert live is not None
        counts = _undo(live.counts_now(level.value, key), _changes(db, where, params, b, _FOREVER, live, level, key))
    return segment_totals_backward(counts, a, b, inside)


def _undo(counts: list[int], changes: list[tuple[int, int, int, int]]) -> list[int]:
    """Counts before ``changes`` happened."""
    return advance_counts(counts, [(new, old, n) for old, new, n, _ in changes])


def rollup_totals(
    db: Database, level: Level, key: str | None, window: Window, *, live: Live | None = None, now_ms: int | None = None,
) -> Totals:  # fmt: skip
    """Exact totals of every camera of one nation/province/district/agency/site over ``window``.

    ``live`` (the in-process StateStore) makes windows ending now cheap; it is held locked so
    the database and memory are read at the same instant. The API never passes it: its readers
    must not wait on a lock the writer holds through its busy waits (issue 18); they read one
    WAL snapshot of the database instead (aggregator.api.readers).
    """
    windows = load_windows(db)
    if live is not None:
        with live.lock:
            now = now_ms or window.end_ms
            total = _rollup(db, level, key, window, live.checkpoint, live, now)
            return _planned(db, level, key, window, windows, total, live.checkpoint)
    checkpoint = checkpoint_ms(db)
    total = _rollup(db, level, key, window, checkpoint, None, 0)
    return _planned(db, level, key, window, windows, total, checkpoint)


def _rollup(
    db: Database, level: Level, key: str | None, window: Window, checkpoint: int, live: Live | None, now_ms: int
) -> Totals:
    plan = plan_window(window, checkpoint)
    total = Totals()
    if plan.first_day is not None and plan.last_day is not None:
        total = total + Totals.of(_day_sums(db, level, key, _MS, plan.first_day, plan.last_day))
    for day, a, b in plan.segments:
        total = total + _segment(db, level, key, day, a, b, checkpoint, live, now_ms)
    return total


def camera_totals(db: Database, camera: int, window: Window) -> Totals:
    """Exact totals of one camera (by row id) over ``window``, from its own transitions, with
    the time inside maintenance windows (its own, its site's, its district's) as maintenance."""
    tail = db.execute("SELECT tail_ms FROM camera_state WHERE camera = ?", [camera]).fetchone()
    total = _camera_raw(db, camera, window, tail[0] if tail else None)
    windows = load_windows(db)
    if not windows:
        return total
    row = db.execute(
        "SELECT c.camera_id, s.site_id, s.district FROM camera_inventory c JOIN sites s ON s.id = c.site WHERE c.id = ?",
        [camera],
    ).fetchone()
    if row is None:
        return total
    targets = {(TargetKind.CAMERA, row[0]), (TargetKind.SITE, row[1]), (TargetKind.DISTRICT, row[2])}
    spans = merge_spans(sp for w in windows if (w.target_kind, w.target_id) in targets for sp in _spans(w, window))
    inside = Totals()
    for a, b in spans:
        inside = inside + _camera_raw(db, camera, Window(a, b))
    return with_maintenance(total, inside)


def _spans(w: MaintenanceWindow, window: Window) -> list[Span]:
    """The window's occurrences inside ``window`` as ms spans."""
    return clip_spans(((to_ms(a), to_ms(b)) for a, b in w.occurrences(from_ms(window.start_ms), from_ms(window.end_ms))),
                      window)  # fmt: skip


def _planned(
    db: Database, level: Level, key: str | None, window: Window, windows: list[MaintenanceWindow], total: Totals,
    checkpoint: int,
) -> Totals:  # fmt: skip
    """``total`` with the time maintenance windows cover moved to maintenance, exactly.

    Each camera's covered time is the union of its district's, site's and own windows;
    counted once: district windows as district rollups when the whole district is in the
    scope (else as rollups of the scope's sites in it), site windows minus their district's
    spans, camera windows minus both. Windows are few, so this is a few extra rollups. They read
    the database only (transitions are committed every batch, so it is exact; the writer's
    memory would cost a nation-wide site mask per call): a site or district reaches its own
    transitions through the camera index. Measured at 1M cameras: a 30-day nation rollup with
    a weekly and a one-off district window and a site window takes ~5 ms (0.3 ms without).
    A camera window names a camera id; an id shared by N cameras costs ~30 us per camera.
    """
    if not windows:
        return total
    by_target: dict[tuple[TargetKind, str], list[Span]] = {}
    for w in windows:
        spans = _spans(w, window)
        if spans:
            by_target.setdefault((w.target_kind, w.target_id), []).extend(spans)
    if not by_target:
        return total
    scope, params = _scope_sql(level, key)
    district_spans = {t[1]: merge_spans(sp) for t, sp in by_target.items() if t[0] is TargetKind.DISTRICT}
    whole_districts: dict[str, list[Span]] = {}
    site_units: dict[str, list[Span]] = {}  # site_id -> spans counted with a site rollup
    covered: dict[int, tuple[str, list[Span]]] = {}  # site row id -> (site_id, spans of its site and district)
    for district, spans in district_spans.items():
        if level in (Level.NATION, Level.PROVINCE, Level.DISTRICT) and db.execute(
            f"SELECT 1 FROM sites WHERE district = ?{scope} LIMIT 1", [district, *params]
        ).fetchone():
            whole_districts[district] = spans
        elif level in (Level.SITE, Level.AGENCY):
            for site_row, site_id in db.execute(
                f"SELECT id, site_id FROM sites WHERE district = ?{scope}", [district, *params]
            ).fetchall():
                site_units[site_id] = list(spans)
                covered[int(site_row)] = (site_id, list(spans))
    for (kind, target), spans in by_target.items():
        if kind is not TargetKind.SITE:
            continue
        row = db.execute(f"SELECT id, district FROM sites WHERE site_id = ?{scope}", [target, *params]).fetchone()
        if row is None:
            continue
        own = merge_spans(spans)
        site_units[target] = subtract_spans(merge_spans(site_units.get(target, []) + own),
                                            whole_districts.get(row[1], []))  # fmt: skip
        covered[int(row[0])] = (target, merge_spans(covered.get(int(row[0]), ("", []))[1] + own
                                                    + district_spans.get(row[1], [])))  # fmt: skip
    inside = Totals()
    for district, spans in whole_districts.items():
        for a, b in spans:
            inside = inside + _rollup(db, Level.DISTRICT, district, Window(a, b), checkpoint, None, 0)
    for site_id, spans in site_units.items():
        for a, b in spans:
            inside = inside + _rollup(db, Level.SITE, site_id, Window(a, b), checkpoint, None, 0)
    for (kind, target), spans in by_target.items():
        if kind is not TargetKind.CAMERA:
            continue
        joined, _ = _scope_sql(level, key, "s.")
        for cam, site_row, district in db.execute(
            "SELECT c.id, c.site, s.district FROM camera_inventory c JOIN sites s ON s.id = c.site "
            f"WHERE c.camera_id = ?{joined}", [target, *params],
        ).fetchall():  # fmt: skip
            above = covered.get(int(site_row), ("", district_spans.get(district, [])))[1]
            for a, b in subtract_spans(spans, above):
                inside = inside + _camera_raw(db, int(cam), Window(a, b))
    return with_maintenance(total, inside)


def planned_totals(
    db: Database, level: Level, key: str | None, window: Window, windows: list[MaintenanceWindow], total: Totals,
    checkpoint: int,
) -> Totals:  # fmt: skip
    """``total`` (raw totals of one area computed elsewhere, e.g. by a grouped rollup of every
    province) with the time maintenance windows cover moved to maintenance, as rollup_totals does."""
    return _planned(db, level, key, window, windows, total, checkpoint)


def _scope_sql(level: Level, key: str | None, alias: str = "") -> tuple[str, list[object]]:
    """SQL restricting rows of ``sites`` (``alias``: its name in a join) to the level's sites."""
    if level is Level.NATION:
        return "", []
    column = {Level.PROVINCE: "province", Level.DISTRICT: "district", Level.AGENCY: "agency", Level.SITE: "site_id"}
    return f" AND {alias}{column[level]} = ?", [key]


def _camera_raw(db: Database, camera: int, window: Window, tail: int | None = None) -> Totals:
    return integrate_timeline(camera_timeline(db, camera, window.start_ms, window.end_ms, tail=tail), window)


def camera_timeline(db: Database, camera: int, a: int, b: int, *, tail: int | None = None) -> list[tuple[int, int]]:
    """``(at_ms, new_state)`` of the camera's row in force at ``a`` (if any) and its rows in ``(a, b)``;
    ``tail`` (camera_state.tail_ms) saves the walk back for a camera quiet since before ``a``."""
    first = camera_log.last_at_or_before(db, camera, a, tail=tail)
    head = [(first[0], first[2])] if first is not None else []
    return head + camera_log.between(db, camera, a, b)
