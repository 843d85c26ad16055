"""Saving reconciliation runs: short transactions, all-or-nothing visibility, old lines removed (issue 8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import pytest
from sqlite_utils import Database

import aggregator.audit.store as audit_store
from aggregator.audit.reconcile import Class, Match, Rule
from aggregator.schema import open_db

pytestmark = pytest.mark.timeout(60)


def line(key: str, province: str, klass: Class = Class.GHOST) -> Match:
    return Match(klass, key, None, Rule.NONE, 1.0, None, province, f"{province}01", "", 13.0, 100.0)


def current(db: Database) -> list[tuple[str, str]]:
    return sorted(db.execute("SELECT province, declared_key FROM audit_current_matches").fetchall())


class Watching(Sequence[Match]):
    """Matches whose later chunks look at what readers see while the run is half written."""

    def __init__(self, items: list[Match], db: Database, seen: list[list[tuple[str, str]]]) -> None:
        self.items, self.db, self.seen = items, db, seen

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> Match: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Match]: ...
    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice) and i.start:
            self.seen.append(current(self.db))
        return self.items[i]

    def __iter__(self) -> Any:
        return iter(self.items)


def test_runs_replace_lines_per_scope(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_store, "_SAVE_CHUNK", 2)  # many short transactions
    db = open_db(tmp_path / "camwatch.sqlite3")
    first, _ = audit_store.save_matches(db, [line("a", "10"), line("b", "10"), line("c", "50")], None)
    assert current(db) == [("10", "a"), ("10", "b"), ("50", "c")]
    seen: list[list[tuple[str, str]]] = []
    new = [line("d", "50"), line("e", "50"), line("f", "50"), line("g", "50"), line("h", "50")]
    audit_store.save_matches(db, Watching(new, db, seen), "50")
    # While the province run was being written, readers saw the old lines only.
    assert seen and all(s == [("10", "a"), ("10", "b"), ("50", "c")] for s in seen)
    assert current(db) == [("10", "a"), ("10", "b"), *[("50", k) for k in "defgh"]]
    # A national run with nothing left in Bangkok empties Bangkok too.
    audit_store.save_matches(db, [line("z", "50")], None)
    assert current(db) == [("50", "z")]
    assert db.execute("SELECT count(*) FROM audit_matches").fetchone() == (1,)  # old lines deleted
    assert db.execute("SELECT count(*) FROM audit_runs").fetchone() == (3,)
    assert first == 1
