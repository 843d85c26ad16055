"""Edit one declared camera, as an officer corrects the register without a re-import.

The edit is validated exactly as an import row is (:func:`aggregator.audit.rows.check_row`
on the stored row with the changes applied, so the same values are accepted and the same
messages refused), plus the import's serial rule against the other cameras of the province.
Two officers editing the same camera cannot overwrite each other silently: each edit names
the version it started from, and the update only applies to that version
(:class:`VersionConflict` otherwise). Every applied edit is written to the camera's audit
trail (:mod:`aggregator.audit.history`) in the same transaction.

The camera keeps its key (the province, and the id that re-imports match it by): the
province and the register id are not editable; a later re-import of the register overwrites
the row as any import does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from aggregator.audit.history import record
from aggregator.audit.messages import Problem
from aggregator.audit.register import row_hash_of
from aggregator.audit.rows import check_row
from aggregator.audit.store import DECLARED_COLUMNS

__all__ = [
    "EDITABLE",
    "EditRefused",
    "EditResult",
    "NotDeclared",
    "VersionConflict",
    "edit_declared",
    "load_one",
]

# What an officer may change; the province and the register id make the camera's key.
EDITABLE: tuple[str, ...] = tuple(c for c in DECLARED_COLUMNS if c not in ("province", "register_id"))


class NotDeclared(LookupError):
    """No declared camera has this key."""


class EditRefused(ValueError):
    """The edited camera would not pass the import's checks; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.code for p in problems))
        self.problems = problems


class VersionConflict(Exception):
    """Someone changed the camera after the editor loaded it; nothing was changed."""

    def __init__(self, current: int, given: int, by: str, at: str) -> None:
        super().__init__(f"version {current} is current, the edit started from {given}")
        self.current, self.given, self.by, self.at = current, given, by, at


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the new version and each changed column (before, after)."""

    version: int
    changes: dict[str, tuple[Any, Any]]


def load_one(db: Database, key: str) -> dict[str, Any] | None:
    """One declared camera's stored columns and version, or None."""
    names = ("key", *DECLARED_COLUMNS, "version", "line", "import_id", "last_imported")
    row = db.execute(f"SELECT {', '.join(names)} FROM audit_declared WHERE key = ?", [key]).fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def _last_change(db: Database, key: str) -> tuple[str, str]:
    row = db.execute("SELECT by_user, at FROM audit_history WHERE declared_key = ? AND action = 'edit' "
                     "ORDER BY id DESC LIMIT 1", [key]).fetchone()
    if row:
        return str(row[0]), str(row[1])
    imported = db.execute("SELECT i.by_user, i.at FROM audit_declared d JOIN audit_imports i "
                          "ON i.id = d.import_id WHERE d.key = ?", [key]).fetchone()
    return (str(imported[0]), str(imported[1])) if imported else ("", "")


def edit_declared(db: Database, key: str, changes: Mapping[str, Any], *, version: int,
                  by: str, at: str) -> EditResult:
    """Apply ``changes`` (field -> value as the user typed it) to the camera at ``version``."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise EditRefused([Problem("invalid", {"message": f"{name} cannot be edited", "value": changes[name]},
                                   name) for name in unknown])
    current = load_one(db, key)
    if current is None:
        raise NotDeclared(key)
    if current["version"] != version:
        raise VersionConflict(current["version"], version, *_last_change(db, key))
    raw: dict[str, Any] = {c: current[c] for c in DECLARED_COLUMNS}
    raw.update(changes)
    row, problems = check_row(raw)
    if row is not None and row.serial and row.serial != current["serial"]:
        other = db.execute("SELECT key FROM audit_declared WHERE province = ? AND serial = ? AND key != ? LIMIT 1",
                           [row.province, row.serial, key]).fetchone()
        if other:
            problems.append(Problem("duplicate_serial_camera", {"value": row.serial, "key": other[0]}, "serial"))
    if row is None or problems:
        raise EditRefused(problems)
    data = row.model_dump(mode="json")
    columns = tuple(data[c] for c in DECLARED_COLUMNS)
    diff = {c: (current[c], data[c]) for c in DECLARED_COLUMNS if current[c] != data[c]}
    if not diff:
        return EditResult(version, {})
    conn = db.conn
    with conn:
        cursor = conn.execute(
            f"UPDATE audit_declared SET {', '.join(f'{c} = ?' for c in diff)}, row_hash = ?, "
            "version = version + 1 WHERE key = ? AND version = ?",
            [*(data[c] for c in diff), row_hash_of(columns), key, version])
        if cursor.rowcount != 1:  # another writer got there between the read and now
            raise VersionConflict(version + 1, version, *_last_change(db, key))
        record(conn, key, at=at, by=by, action="edit", version=version + 1,
               before={c: b for c, (b, _) in diff.items()}, after={c: a for c, (_, a) in diff.items()})
    return EditResult(version + 1, diff)

