"""The audit pages of the dashboard benchmark (issue 14): a synthetic provincial register of
``--declared`` cameras (400,000 by default) with a current reconciliation, and the API calls of
the declared-camera list, the reconciliation page and the completeness table, as their ES
modules make them. ``bench/dashboard_bench.py`` times them beside the nation page in one run.

The register is written straight into the audit tables once (like the fault queue's faults):
declared cameras paired with the country's cameras where there are some (70 % verified, 10 %
declared but broken, 10 % unconfirmed) and ghosts beyond them and for one in ten, each province's
lines made current by one reconciliation run.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["AUDIT_PAGES", "audit_page_calls", "cold_table_s", "pack_audit_times", "seed_register"]

AUDIT_PAGES = ("audit declared list", "audit reconciliation", "audit completeness")
_IMPORT_ID = 1_000_000  # the synthetic register's import: above any real one
_CLASSES = ("verified",) * 7 + ("declared_but_broken", "unconfirmed", "ghost")


def audit_page_calls(kind: str) -> list[list[str]]:
    """The API calls of one audit page, in stages (a stage runs concurrently), national caller."""
    if kind == "audit declared list":  # pages/audit-declared.js: provinces for the filter, then the list
        return [["/api/v1/provinces"], ["/api/v1/audit/declared?limit=500&lang=th"]]
    if kind == "audit reconciliation":  # pages/audit-reconcile.js: summary, flagged, then the first class's lines
        lines = "/api/v1/audit/matches?class=verified&limit=1000&lang=th"
        return [["/api/v1/provinces"], ["/api/v1/audit/summary?lang=th"], [lines], [lines]]
    if kind == "audit completeness":  # pages/audit-completeness.js
        return [["/api/v1/audit/completeness?lang=th"]]
    raise ValueError(kind)


def seed_register(db_path: Path, declared: int) -> int:
    """Write a ``declared``-camera register and its reconciliation once; answer the register's size."""
    from aggregator.schema import open_db

    db = open_db(db_path)
    try:
        have = int(db.execute("SELECT COUNT(*) FROM audit_declared WHERE import_id = ?", [_IMPORT_ID]).fetchone()[0])
        if have >= declared:
            return int(db.execute("SELECT COUNT(*) FROM audit_declared").fetchone()[0])
        cameras = list(db.execute(
            "SELECT s.site_id || '/' || c.camera_id, s.province, s.district, coalesce(s.lat, 13.75), "
            "coalesce(s.lon, 100.5), s.agency FROM cameras c JOIN sites s ON s.id = c.site ORDER BY c.id LIMIT ?",
            [declared]))  # fmt: skip
        at = "2026-11-01T00:00:00+00:00"
        with db.conn:
            db.conn.execute("DELETE FROM audit_declared WHERE import_id = ?", [_IMPORT_ID])
            db.conn.execute(
                "INSERT OR REPLACE INTO audit_imports (id, kind, at, source, sha256, format, encoding, rows, inserted, "
                "updated, unchanged, rejected, rejections, by_user, scope) VALUES (?, 'register', ?, 'bench.csv', '', "
                "'csv', 'utf-8', ?, ?, 0, 0, 0, '[]', 'bench', '')", [_IMPORT_ID, at, declared, declared])  # fmt: skip
            run = db.conn.execute("INSERT INTO audit_runs (at, province, counts) VALUES (?, NULL, '{}')", [at]).lastrowid
            declared_rows, match_rows = [], []
            for i in range(declared):
                found, province, district, lat, lon, agency = cameras[i % len(cameras)] if cameras else (
                    None, "10", "1001", 13.75, 100.5, "")  # fmt: skip
                klass = _CLASSES[i % len(_CLASSES)] if i < len(cameras) else "ghost"
                key = f"{province}|id|B{i:07d}"
                status = "broken" if i % 13 == 0 else ("unknown" if i % 17 == 0 else "working")
                declared_rows.append((key, f"B{i:07d}", province, district, agency if i % 5 else "", f"จุดที่ {i}",
                                      lat + (i % 100) * 1e-5, lon, "", "", "", "", f"SN{i:07d}" if i % 4 else "",
                                      None, status, "", f"h{i}", i + 2, _IMPORT_ID, at, at))  # fmt: skip
                match_rows.append((run, klass, key, None if klass == "ghost" else found, "serial", 0.98, None,
                                   province, district, "up", lat, lon, ""))  # fmt: skip
                if len(declared_rows) >= 50_000 or i == declared - 1:
                    db.conn.executemany(f"INSERT INTO audit_declared (key, register_id, province, district, agency, "
                                        "location, lat, lon, maker, model, ip, mac, serial, installed, status, site, "
                                        f"row_hash, line, import_id, first_imported, last_imported) VALUES "
                                        f"({','.join('?' * 21)})", declared_rows)  # fmt: skip
                    db.conn.executemany("INSERT INTO audit_matches (run_id, klass, declared_key, discovered_key, rule, "
                                        "confidence, distance_m, province, district, state, lat, lon, note) VALUES "
                                        f"({','.join('?' * 13)})", match_rows)  # fmt: skip
                    declared_rows, match_rows = [], []
            provinces = [p for (p,) in db.conn.execute("SELECT DISTINCT province FROM audit_matches WHERE run_id = ?", [run])]
            db.conn.executemany("INSERT INTO audit_current (province, run_id) VALUES (?, ?) ON CONFLICT (province) "
                                "DO UPDATE SET run_id = excluded.run_id", [(p, run) for p in provinces])  # fmt: skip
            db.conn.execute("UPDATE audit_runs SET counts = ? WHERE id = ?", [json.dumps({"declared": declared}), run])
            db.conn.execute("INSERT OR REPLACE INTO audit_class_counts (run_id, province, klass, n) SELECT run_id, "
                            "province, klass, count(*) FROM audit_matches WHERE run_id = ? GROUP BY province, klass",
                            [run])  # fmt: skip
        db.conn.execute("ANALYZE")
        return int(db.execute("SELECT COUNT(*) FROM audit_declared").fetchone()[0])
    finally:
        db.close()


def cold_table_s(db_path: Path, repeat: int = 3) -> float:
    """Median seconds to compute the national completeness table from scratch (what the first
    load after a change of the audit costs; later loads are served from the API's cache)."""
    import statistics
    import time

    from aggregator.audit.national import national_table
    from aggregator.schema import open_db

    db = open_db(db_path, migrate=False)
    try:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            national_table(db, None, int(time.time() * 1000))
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    finally:
        db.close()


def _lines_counted(db: object, province: str | None = None) -> dict[str, dict[str, int]]:
    """The pack's classes per province as counted before the runs' stored counts: every current line."""
    from sqlite_utils import Database

    assert isinstance(db, Database) and province is None
    out: dict[str, dict[str, int]] = {}
    for area, klass, n in db.conn.execute("SELECT province, klass, count(*) FROM audit_current_matches "
                                          "GROUP BY province, klass"):  # fmt: skip
        out.setdefault(str(area), {})[str(klass)] = int(n)
    return out


def pack_audit_times(db_path: Path, repeat: int = 5) -> dict[str, list[float]]:
    """Seconds per build of the nation's pack sections that read the audit, on one connection and
    one report of this month: the audit section as before (every current line counted) and as
    now (each run's stored counts), alternated on the same data; and the repair-plan and
    completeness sections."""
    import time
    from datetime import UTC, datetime

    from aggregator.reports import audit_pack
    from aggregator.reports.audit_section import class_counts_by_area
    from aggregator.reports.completeness_pack import completeness_pack_section
    from aggregator.reports.monthly import build_report
    from aggregator.reports.plan_pack import plan_pack_section
    from aggregator.reports.section import PackContext
    from aggregator.schema import open_db
    from aggregator.settings.report import ReportSettings

    db = open_db(db_path, migrate=False)
    try:
        now = datetime.now(UTC)
        report = build_report(db, f"{now.year}-{now.month:02d}", None, now=now, with_audit=False)
        counted_now = class_counts_by_area
        times: dict[str, list[float]] = {"audit section, lines counted (before)": [],
                                         "audit section, runs' counts (now)": [], "plan section": [],
                                         "completeness section": []}  # fmt: skip
        for _ in range(repeat):
            for name, counter in (("audit section, lines counted (before)", _lines_counted),
                                  ("audit section, runs' counts (now)", counted_now)):  # fmt: skip
                setattr(audit_pack, "class_counts_by_area", counter)  # noqa: B010  (the section's one counter)
                try:
                    t = time.perf_counter()
                    audit_pack.audit_pack_section(PackContext(db, report, None, ReportSettings(), now))
                    times[name].append(time.perf_counter() - t)
                finally:
                    setattr(audit_pack, "class_counts_by_area", counted_now)  # noqa: B010
            for name, builder in (("plan section", plan_pack_section), ("completeness section", completeness_pack_section)):
                t = time.perf_counter()
                builder(PackContext(db, report, None, ReportSettings(), now))
                times[name].append(time.perf_counter() - t)
        return times
    finally:
        db.close()
