"""Faults as a committee reads them: how old the open ones are, how fast repairs are, what they cost.

Three pack sections from one read of the fault book (the ``faults`` table, which the fault
service writes; reports only read it):

* *ageing*: faults still open when the month's window ends, by age since their latest opening
  (under 1 day, 1-7 days, 7-30 days, over 30 days), per area;
* *mttr*: mean and median hours from opening to resolution of the faults resolved in the month,
  beside last month's (won't-fix closures, faults held under a wider fault and resolutions
  stamped before their opening are left out, as in the monthly report);
* *repairs*: faults opened against faults resolved in the month, and the parts and cost the
  technicians recorded when they resolved them (the fault book's ``parts`` and ``cost``).

Only top-level faults count (a camera fault held under its site's fault is the site's), so a
site that went dark is one fault, as in the fault queue.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from aggregator.days import from_ms
from aggregator.reports.section import PackContext, PackSection, area_key
from aggregator.timetext import iso, parse_iso

__all__ = ["AGE_BUCKETS", "FaultRecord", "age_bucket", "ageing_section", "load_faults", "mttr_section",
           "repairs_section"]  # fmt: skip

# (key, lower bound in days): a fault is in the last bucket whose bound its age reaches.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (("lt_1d", 0.0), ("1_7d", 1.0), ("7_30d", 7.0), ("gt_30d", 30.0))
# How many distinct part names the repair section lists: a committee page, not the stores ledger.
TOP_PARTS = 8


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """The fields of one fault the pack reads."""

    area: str
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    parts: str
    cost: float | None


def age_bucket(age_days: float) -> str:
    """The bucket of a fault ``age_days`` old."""
    key = AGE_BUCKETS[0][0]
    for name, bound in AGE_BUCKETS:
        if age_days >= bound:
            key = name
    return key


def load_faults(db: Database, province: str | None, since: datetime, end: datetime) -> list[FaultRecord]:
    """Top-level faults opened before ``end`` and not resolved before ``since``, with their area."""
    if not db["faults"].exists():
        return []
    where, params = ("", []) if province is None else (" AND province = ?", [province])
    out: list[FaultRecord] = []
    # The fault book writes fixed-width UTC text (aggregator.timetext), but rows written by other
    # tools may carry an offset: SQL narrows by date with a day to spare, Python decides exactly.
    for prov, district, opened, resolved, resolution, parts, cost in db.execute(
        "SELECT province, district, opened_at, resolved_at, resolution, parts, cost FROM faults "
        f"WHERE parent_id IS NULL AND opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?){where}",
        [(end + timedelta(days=1)).date().isoformat(), (since - timedelta(days=1)).date().isoformat(), *params],
    ).fetchall():  # fmt: skip
        opened_at, resolved_at = parse_iso(opened), parse_iso(resolved)
        if opened_at is None or opened_at >= end or (resolved_at is not None and resolved_at < since):
            continue
        out.append(FaultRecord(area_key(province, str(prov), district), opened_at, resolved_at,
                               resolution, str(parts or ""), None if cost is None else float(cost)))  # fmt: skip
    return out


def _faults(ctx: PackContext) -> list[FaultRecord]:
    """The faults of this month and last month (read once per pack: three sections use them)."""
    cached = ctx.memo.get("faults")
    if isinstance(cached, list):
        return cached
    since = from_ms((ctx.previous.window if ctx.previous else ctx.window).start_ms)
    faults = load_faults(ctx.db, ctx.province, since, from_ms(ctx.window.end_ms))
    ctx.memo["faults"] = faults
    return faults


def _names(ctx: PackContext) -> list[dict[str, object]]:
    return [{"code": a.code, "name_th": a.name_th, "name_en": a.name_en} for a in ctx.areas]


def ageing_section(ctx: PackContext) -> PackSection:
    """Faults open at the window's end, per area and age bucket."""
    end = from_ms(ctx.window.end_ms)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for f in _faults(ctx):
        if f.opened_at < end and (f.resolved_at is None or f.resolved_at >= end):
            counts[f.area][age_bucket((end - f.opened_at).total_seconds() / 86_400)] += 1
    buckets = [name for name, _ in AGE_BUCKETS]
    rows = [{**n, **{b: counts[str(n["code"])][b] for b in buckets}, "open": sum(counts[str(n["code"])].values())}
            for n in _names(ctx)]  # fmt: skip
    total = {b: sum(int(str(r[b])) for r in rows) for b in buckets}
    return PackSection("ageing", {"at": iso(end), "buckets": buckets, "rows": rows,
                                  "total": {**total, "open": sum(total.values())}})  # fmt: skip


def _repair_hours(faults: list[FaultRecord], start: datetime, end: datetime) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for f in faults:
        if f.resolved_at is not None and start <= f.resolved_at < end and f.resolution != "wont_fix" \
                and f.resolved_at >= f.opened_at:
            out[f.area].append((f.resolved_at - f.opened_at).total_seconds() / 3600)
    return out


def _stats(hours: list[float]) -> dict[str, object]:
    return {"resolved": len(hours), "mean_h": statistics.fmean(hours) if hours else None,
            "median_h": statistics.median(hours) if hours else None}  # fmt: skip


def mttr_section(ctx: PackContext) -> PackSection:
    """Mean and median time to repair this month and last month, per area."""
    faults = _faults(ctx)
    start, end = from_ms(ctx.window.start_ms), from_ms(ctx.window.end_ms)
    now_h = _repair_hours(faults, start, end)
    before_h: dict[str, list[float]] = defaultdict(list)
    if ctx.previous is not None:
        before = ctx.previous.window
        before_h = _repair_hours(faults, from_ms(before.start_ms), from_ms(before.end_ms))
    rows = [{**n, **_stats(now_h[str(n["code"])]),
             "before": _stats(before_h[str(n["code"])])} for n in _names(ctx)]  # fmt: skip
    every_now = [h for hs in now_h.values() for h in hs]
    every_before = [h for hs in before_h.values() for h in hs]
    return PackSection("mttr", {"rows": rows, "total": {**_stats(every_now), "before": _stats(every_before)}})


def _part_names(text: str) -> list[str]:
    return [p.strip() for p in text.replace(";", ",").replace("\n", ",").split(",") if p.strip()]


def repairs_section(ctx: PackContext) -> PackSection:
    """Opened against resolved in the month, with the recorded parts and cost of the resolved faults."""
    faults = _faults(ctx)
    start, end = from_ms(ctx.window.start_ms), from_ms(ctx.window.end_ms)
    acc: dict[str, dict[str, float]] = defaultdict(lambda: {"opened": 0, "resolved": 0, "wont_fix": 0,
                                                           "with_cost": 0, "cost": 0.0, "with_parts": 0})  # fmt: skip
    parts: Counter[str] = Counter()
    for f in faults:
        a = acc[f.area]
        if start <= f.opened_at < end:
            a["opened"] += 1
        if f.resolved_at is None or not start <= f.resolved_at < end:
            continue
        if f.resolution == "wont_fix":
            a["wont_fix"] += 1
            continue
        a["resolved"] += 1
        if f.cost is not None:
            a["with_cost"] += 1
            a["cost"] += f.cost
        if f.parts.strip():
            a["with_parts"] += 1
            parts.update(_part_names(f.parts))
    keys = ("opened", "resolved", "wont_fix", "with_cost", "with_parts")
    rows = [{**n, **{k: int(acc[str(n["code"])][k]) for k in keys}, "cost": round(acc[str(n["code"])]["cost"], 2)}
            for n in _names(ctx)]  # fmt: skip
    total: dict[str, object] = {k: sum(int(str(r[k])) for r in rows) for k in keys}
    total["cost"] = round(sum(float(str(r["cost"])) for r in rows), 2)
    top = sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PARTS]
    return PackSection("repairs", {"rows": rows, "total": total, "parts": [{"name": k, "count": n} for k, n in top]})
