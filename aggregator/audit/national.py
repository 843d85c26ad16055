"""The committee's national table: every province's completeness, repair-plan totals and latest
certification, computed once and kept while nothing it depends on changed.

At 400,000 declared cameras the table reads the whole register and every repair-plan line of the
country (about a second and a half on the benchmark machine, more under load), so it is not
recomputed on every page load. :class:`TableCache` keeps the last answer per province scope and
recomputes it when the audit changed (an import, an edit or override, a reconciliation run, a plan
line filled, a certification: :func:`audit_version`, a few primary-key reads) or when it is older
than ``max_age_ms`` (a minute by default): faults open and close all the time, so the table's
fault-derived figures (open fault lines, money spent) may be up to that old.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from aggregator.audit.completeness import Completeness, completeness
from aggregator.audit.plan import PlanTotals, plan_totals
from aggregator.audit.plan_store import Certification, certifications

__all__ = ["NationalRow", "TableCache", "audit_version", "national_table"]


@dataclass(frozen=True, slots=True)
class NationalRow:
    """One province of the national table."""

    completeness: Completeness
    plan: PlanTotals | None
    certification: Certification | None


def audit_version(db: Database) -> tuple[Any, ...]:
    """What changes whenever the audit's own data changes (each a read of an index's end)."""
    row = db.conn.execute(
        "SELECT (SELECT max(id) FROM audit_imports), (SELECT max(id) FROM audit_history), "
        "(SELECT max(id) FROM audit_runs), (SELECT max(id) FROM audit_certifications), "
        "(SELECT count(*) || '/' || coalesce(max(at), '') || '/' || coalesce(sum(cost_baht), 0) "
        "FROM audit_plan_entries)").fetchone()  # fmt: skip
    return tuple(row)


def national_table(db: Database, provinces: Sequence[str] | None, now_ms: int) -> list[NationalRow]:
    """Every province of ``provinces`` (None = all), ranked by completeness, with its plan and certification."""
    totals = plan_totals(db, provinces, now_ms=now_ms)
    certified = certifications(db, provinces)
    return [NationalRow(c, totals.get(c.province), certified.get(c.province)) for c in completeness(db, provinces)]


class TableCache:
    """The last national table per province scope, recomputed on a change or when too old.

    One table is computed at a time (a second caller waits, then takes the fresh answer), on
    the connection ``compute_db`` gives: the API passes a connection of its own, not bounded by
    the 5-second read limit, since a first load on a busy machine may take longer and is then kept.
    """

    def __init__(self, max_age_ms: int = 60_000) -> None:
        self.max_age_ms = max_age_ms
        self._lock = threading.Lock()
        self._computing = threading.Lock()
        self._kept: dict[tuple[str, ...] | None, tuple[tuple[Any, ...], int, list[NationalRow]]] = {}

    def _fresh(self, scope: tuple[str, ...] | None, version: tuple[Any, ...], now_ms: int) -> list[NationalRow] | None:
        with self._lock:
            kept = self._kept.get(scope)
        if kept is not None and kept[0] == version and 0 <= now_ms - kept[1] < self.max_age_ms:
            return kept[2]
        return None

    def get(self, db: Database, provinces: Sequence[str] | None, now_ms: int,
            compute_db: Callable[[], AbstractContextManager[Database]] | None = None) -> list[NationalRow]:  # fmt: skip
        """The table for ``provinces`` at ``now_ms``, from the cache when still good (computed on
        ``compute_db()``'s connection when given, else on ``db``)."""
        scope = tuple(provinces) if provinces is not None else None
        version = audit_version(db)
        if (rows := self._fresh(scope, version, now_ms)) is not None:
            return rows
        with self._computing:
            if (rows := self._fresh(scope, version, now_ms)) is not None:
                return rows  # another caller computed it meanwhile
            if compute_db is None:
                rows = national_table(db, provinces, now_ms)
            else:
                with compute_db() as other:
                    rows = national_table(other, provinces, now_ms)
            with self._lock:
                if len(self._kept) > 256:  # scopes are provinces of tokens: few; never let it grow unbounded
                    self._kept.clear()
                self._kept[scope] = (version, now_ms, rows)
        return rows
