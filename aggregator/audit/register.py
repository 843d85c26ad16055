"""Import a provincial camera register (CSV or XLSX) into the declared-cameras table.

Valid rows are inserted or updated by their natural key
(:func:`aggregator.audit.rows.natural_key`), invalid and duplicate rows are rejected with
their line number and reasons, and a whole-file problem
(:class:`aggregator.audit.tablefile.TableFileError`) imports nothing, so a register is never half
imported without the report saying so. The file is validated into a private staging database
first and merged in one short transaction (see :func:`import_register`).

Usage::

    report = import_register(db, Path("chiang-mai.xlsx"))
    print(report.inserted, report.updated, report.rejected)
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from aggregator.audit.messages import Lang, Problem, render
from aggregator.audit.rows import (
    HEADER_ALIASES,
    REQUIRED_FIELDS,
    RegisterRow,
    check_row,
    natural_key,
)
from aggregator.audit.store import DECLARED_COLUMNS, utcnow_text
from aggregator.audit.tablefile import (
    EncodingError,
    Table,
    TableFileError,
    TableLimits,
    open_table,
)

__all__ = [
    "ImportReport",
    "Rejection",
    "file_sha256",
    "import_register",
    "row_hash_of",
    "user_cells",
]

logger = logging.getLogger(__name__)

# Rows staged per executemany: big enough to amortise SQLite calls, small enough to keep
# memory flat on a 400k-row file.
_BATCH = 2000
# Rejections kept in the import log and in API answers; the count is always exact.
MAX_REPORTED_REJECTIONS = 1000


@dataclass(frozen=True)
class Rejection:
    """One refused row: its line in the file, every problem, and the user's own cells
    (file header -> value as typed) so the line can be fixed and uploaded again."""

    line: int
    problems: tuple[Problem, ...]
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The problems in English."""
        return tuple(render(p) for p in self.problems)

    def as_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """Return the rejection as plain data for JSON, its reasons in ``lang``."""
        return {"line": self.line, "reasons": [render(p, lang) for p in self.problems],
                "values": self.cells}


@dataclass(frozen=True)
class ImportReport:
    """What one import did. ``rejected`` is exact; ``rejections`` holds the first ones."""

    import_id: int
    source: str
    format: str
    encoding: str
    header_line: int
    columns: dict[str, str]
    ignored_columns: tuple[str, ...]
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    absent: int
    rejections: tuple[Rejection, ...] = field(default_factory=tuple)

    def as_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """Return the report as plain data for JSON (reasons in ``lang``)."""
        return {
            "import_id": self.import_id, "source": self.source, "format": self.format,
            "encoding": self.encoding, "header_line": self.header_line, "columns": self.columns,
            "ignored_columns": list(self.ignored_columns), "rows": self.rows,
            "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": self.rejected, "absent": self.absent,
            "rejections": [r.as_dict(lang) for r in self.rejections],
        }


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_hash_of(values: tuple[Any, ...]) -> str:
    """The hash of a declared camera's columns: an import counts a differing one as updated."""
    return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


@dataclass
class _Counts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    provinces: set[str] = field(default_factory=set)
    # Every refused line, kept whole for the stage's ``rejected`` table (flushed per batch).
    pending: list[Rejection] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def reject(self, line: int, problems: list[Problem], raw: Mapping[str, Any]) -> None:
        self.rejected += 1
        rejection = Rejection(line, tuple(problems), user_cells(raw, self.headers))
        self.pending.append(rejection)
        if len(self.rejections) < MAX_REPORTED_REJECTIONS:
            self.rejections.append(rejection)


def user_cells(raw: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The row as the user wrote it: file header -> cell text (dates as typed, no conversion)."""
    return {headers.get(f, f): _cell_text(v) for f, v in raw.items()}


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):  # an XLSX date cell
        text = str(value.isoformat())
        return text.removesuffix("T00:00:00")
    return str(value).strip()


class _Duplicates:
    """Remember which line first declared each key and serial, to refuse repeats."""

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}
        self._serials: dict[str, int] = {}

    def check(self, line: int, key: str, row: RegisterRow) -> list[Problem]:
        reasons: list[Problem] = []
        first = self._keys.setdefault(key, line)
        if first != line:
            reasons.append(Problem("duplicate_key", {"line": first, "key": key}))
        if row.serial:
            serial_key = f"{row.province}|{row.serial}"
            first_serial = self._serials.setdefault(serial_key, line)
            if first_serial != line and first == line:
                reasons.append(Problem("duplicate_serial_line", {"value": row.serial, "line": first_serial}))
        return reasons


def import_register(db: Database, path: Path, *, mapping: Mapping[str, str] | None = None,
                    limits: TableLimits | None = None, source: str | None = None,
                    by: str = "", prune: bool = False,
                    allowed_provinces: frozenset[str] | None = None, dry_run: bool = False) -> ImportReport:
    """Import one register file; raise TableFileError (nothing imported) for whole-file errors.

    ``prune`` deletes declared cameras of the file's provinces that the file no longer lists;
    without it they are only counted as ``absent``. ``allowed_provinces`` (an importer scoped
    to some provinces) rejects rows of any other province. ``dry_run`` does everything, then
    rolls it back: the report is the preview of what the import would change (its
    ``import_id`` is 0, nothing is kept).

    Two phases, so the database's write lock is held only for the merge: the file is read,
    validated and written to a private staging database first (the slow part, seconds for a
    big register, while ingest keeps writing), then merged in one transaction.
    """
    name = source or path.name
    sha = file_sha256(path)
    with tempfile.TemporaryDirectory(prefix="camwatch-register-") as tmp:
        stage_path = Path(tmp) / "stage.sqlite3"
        try:
            table, counts = _read(path, stage_path, mapping, limits, allowed_provinces, None)
        except _LateThaiText:
            # The sniffed start was plain ASCII (English headers) but Thai text further down
            # is TIS-620: read the whole file again as such. Only the private stage was written.
            stage_path.unlink(missing_ok=True)
            table, counts = _read(path, stage_path, mapping, limits, allowed_provinces, "cp874")
        scope = ",".join(sorted(allowed_provinces)) if allowed_provinces is not None else ""
        import_id, absent = _merge(db, stage_path, counts, prune,
                                   (name, sha, table.format, table.encoding, by, scope), dry_run)
    logger.info("%s: register imported: %d rows, %d new, %d updated, %d unchanged, %d rejected",
                name, counts.rows, counts.inserted, counts.updated, counts.unchanged, counts.rejected)
    return ImportReport(
        import_id=import_id, source=name, format=table.format, encoding=table.encoding,
        header_line=table.header_line, columns=table.columns,
        ignored_columns=tuple(table.ignored), rows=counts.rows, inserted=counts.inserted,
        updated=counts.updated, unchanged=counts.unchanged, rejected=counts.rejected,
        absent=absent, rejections=tuple(counts.rejections),
    )


def _read(path: Path, stage_path: Path, mapping: Mapping[str, str] | None,
          limits: TableLimits | None, allowed: frozenset[str] | None,
          encoding: str | None) -> tuple[Table, _Counts]:
    """Validate the file into the stage; raise EncodingError for a late UTF-8 failure."""
    table = open_table(path, HEADER_ALIASES, REQUIRED_FIELDS, mapping=mapping, limits=limits,
                       encoding=encoding)
    counts = _Counts(headers=dict(table.columns))
    try:
        _stage(stage_path, _batches(table.rows, counts, _Duplicates(), allowed), counts)
    except EncodingError as err:
        if encoding is None and table.encoding.startswith("utf-8"):
            raise _LateThaiText(str(err)) from err
        raise
    finally:
        table.close()
    return table, counts


class _LateThaiText(EncodingError):
    """UTF-8 was sniffed from the start of the file but fails further down."""


_STAGE_COLUMNS = ("key", *DECLARED_COLUMNS, "row_hash", "line")


def _stage(path: Path, batches: Iterator[list[tuple[int, str, RegisterRow]]], counts: _Counts) -> None:
    """Write validated rows (and the refused lines, whole) to a private database: no lock on
    the real one meanwhile."""
    stage = sqlite3.connect(path)
    try:
        # A throw-away file: no journal, no fsync.
        stage.execute("PRAGMA journal_mode=OFF")
        stage.execute("PRAGMA synchronous=OFF")
        stage.execute(f"CREATE TABLE rows ({', '.join(_STAGE_COLUMNS)})")
        stage.execute("CREATE TABLE rejected (line, cells, problems)")
        insert = f"INSERT INTO rows VALUES ({', '.join('?' * len(_STAGE_COLUMNS))})"

        def flush_rejected() -> None:
            stage.executemany("INSERT INTO rejected VALUES (?, ?, ?)", [
                (r.line, json.dumps(r.cells, ensure_ascii=False),
                 json.dumps([p.as_dict() for p in r.problems], ensure_ascii=False, default=str))
                for r in counts.pending])
            counts.pending.clear()

        for batch in batches:
            flush_rejected()
            values = []
            for line, key, row in batch:
                data = row.model_dump(mode="json")
                columns = tuple(data[c] for c in DECLARED_COLUMNS)
                values.append((key, *columns, row_hash_of(columns), line))
            stage.executemany(insert, values)
        flush_rejected()
        stage.commit()
    finally:
        stage.close()


def _merge(db: Database, stage_path: Path, counts: _Counts, prune: bool,
           log: tuple[str, str, str, str, str, str], dry_run: bool = False) -> tuple[int, int]:
    """Merge the staged rows into audit_declared in one transaction; return (import id, absent)."""
    conn = db.conn
    conn.execute("ATTACH DATABASE ? AS audit_stage", (str(stage_path),))
    try:
        # A savepoint, not BEGIN: it rolls back exactly this import.
        conn.execute("SAVEPOINT audit_import")
        try:
            import_id = _start_import(db, *log)
            inserted, updated, unchanged = conn.execute(
                "SELECT count(*) - count(d.key), coalesce(sum(d.row_hash != s.row_hash), 0), "
                "coalesce(sum(d.row_hash = s.row_hash), 0) FROM audit_stage.rows s "
                "LEFT JOIN main.audit_declared d ON d.key = s.key").fetchone()
            counts.inserted, counts.updated, counts.unchanged = inserted, updated, unchanged
            now = utcnow_text()
            conn.execute(
                f"INSERT INTO main.audit_declared ({', '.join(_STAGE_COLUMNS)}, import_id, "
                f"first_imported, last_imported) SELECT {', '.join(_STAGE_COLUMNS)}, ?, ?, ? "
                "FROM audit_stage.rows WHERE true ON CONFLICT(key) DO UPDATE SET "
                # A changed row is a new version (an officer's open edit form then conflicts).
                "version = version + (row_hash != excluded.row_hash), "
                + ", ".join(f"{c}=excluded.{c}" for c in (*DECLARED_COLUMNS, "row_hash", "line",
                                                          "import_id", "last_imported")),
                (import_id, now, now))
            conn.execute("INSERT INTO main.audit_rejected (import_id, line, cells, problems) "
                         "SELECT ?, line, cells, problems FROM audit_stage.rejected ORDER BY line",
                         (import_id,))
            counts.provinces.update(p for (p,) in conn.execute(
                "SELECT DISTINCT province FROM audit_stage.rows"))
            absent = _absent(db, counts.provinces, import_id, prune)
            _finish_import(db, import_id, counts)
            if dry_run:  # a preview: every count computed, nothing kept
                conn.execute("ROLLBACK TO audit_import")
                import_id = 0
            conn.execute("RELEASE audit_import")
        except BaseException:
            conn.execute("ROLLBACK TO audit_import")
            conn.execute("RELEASE audit_import")
            raise
    finally:
        conn.execute("DETACH DATABASE audit_stage")
    return import_id, absent


def _batches(rows: Iterator[tuple[int, dict[str, Any]]], counts: _Counts, duplicates: _Duplicates,
             allowed: frozenset[str] | None) -> Iterator[list[tuple[int, str, RegisterRow]]]:
    batch: list[tuple[int, str, RegisterRow]] = []
    for line, raw in rows:
        counts.rows += 1
        row, problems = check_row(raw)
        if row is None:
            counts.reject(line, problems, raw)
            continue
        if allowed is not None and row.province not in allowed:
            counts.reject(line, [Problem("out_of_scope", {"province": row.province})], raw)
            continue
        key = natural_key(row)
        problems = duplicates.check(line, key, row)
        if problems:
            counts.reject(line, problems, raw)
            continue
        batch.append((line, key, row))
        if len(batch) >= _BATCH or len(counts.pending) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _absent(db: Database, provinces: set[str], import_id: int, prune: bool) -> int:
    if not provinces:
        return 0
    marks = ",".join("?" * len(provinces))
    where = f"province IN ({marks}) AND import_id != ?"
    params = [*sorted(provinces), import_id]
    absent = int(db.conn.execute(f"SELECT count(*) FROM audit_declared WHERE {where}", params)
                 .fetchone()[0])
    if prune and absent:
        db.conn.execute(f"DELETE FROM audit_declared WHERE {where}", params)
    return absent


def _start_import(db: Database, source: str, sha: str, fmt: str, encoding: str, by: str,
                  scope: str) -> int:
    """Write the import log entry (counts follow in _finish_import); ``scope`` is the
    importer's provinces ("" = national), which decides who sees the import later."""
    cursor = db.conn.execute(
        "INSERT INTO audit_imports (kind, at, source, sha256, format, encoding, rows, inserted, "
        "updated, unchanged, rejected, rejections, by_user, scope) "
        "VALUES ('register', ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, '[]', ?, ?)",
        (utcnow_text(), source, sha, fmt, encoding, by, scope),
    )
    if cursor.lastrowid is None:
        raise TableFileError("the import log did not return an id")
    return cursor.lastrowid


def _finish_import(db: Database, import_id: int, counts: _Counts) -> None:
    db.conn.execute(
        "UPDATE audit_imports SET rows=?, inserted=?, updated=?, unchanged=?, rejected=?, "
        "rejections=? WHERE id=?",
        (counts.rows, counts.inserted, counts.updated, counts.unchanged, counts.rejected,
         json.dumps([{"line": r.line, "reasons": list(r.reasons)} for r in counts.rejections],
                   ensure_ascii=False), import_id),
    )
