"""Stream rows out of an uploaded CSV or XLSX file, whatever its encoding or header language.

Exceptions (whole-file problems: nothing of the file is imported)::

    TableFileError
    ├── NotATableError      content is neither CSV text nor an XLSX workbook
    ├── FileTooLargeError   over a byte limit, or what a workbook expands to over its limits
    ├── EncodingError       text that is neither UTF-8/UTF-16 nor TIS-620 (cp874)
    ├── HeaderError         required columns missing, or two columns for one field
    └── RaggedRowsError     CSV records without the header's number of fields (with their lines)

Limits (:class:`TableLimits`) bound what a file expands to, not only what it weighs: an
XLSX workbook is checked part by part while streaming (:mod:`aggregator.audit.xlsxguard`)
before openpyxl reads it; rows count empty ones too.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aggregator.audit.csvdialect import choose_dialect
from aggregator.audit.rows import normalize_header
from aggregator.audit.xlsxguard import XlsxLimits, XlsxRefused, check_workbook

__all__ = [
    "EncodingError",
    "FileTooLargeError",
    "HeaderError",
    "NotATableError",
    "RaggedRowsError",
    "Table",
    "TableFileError",
    "TableLimits",
    "open_table",
    "sniff",
]

# Bytes looked at to recognise a format and an encoding: enough for the header and many rows.
_SNIFF_BYTES = 256 * 1024
# Characters of whole records the CSV dialect is decided from.
_DIALECT_SAMPLE_CHARS = 64 * 1024
# A title or note row often sits above the header in provincial exports: look this far down.
_HEADER_SEARCH_ROWS = 10
# Thai registers carry long free-text notes; the csv module's 128 KiB default is kept as a
# ceiling per cell so a broken quote cannot swallow the rest of a 400k-row file silently.
csv.field_size_limit(1024 * 1024)


class TableFileError(Exception):
    """The file as a whole cannot be imported."""


class NotATableError(TableFileError):
    """The content is neither CSV text nor an XLSX workbook."""


class FileTooLargeError(TableFileError):
    """The file is over the configured size or row limit."""


class EncodingError(TableFileError):
    """The text is in no encoding camwatch reads."""


class HeaderError(TableFileError):
    """Required columns are missing or ambiguous."""


class RaggedRowsError(TableFileError):
    """CSV records whose number of fields is not the header's: imported, they would shift."""


# Line numbers named in a ragged-rows refusal at most (the count says how many more).
_RAGGED_LISTED = 20


@dataclass(frozen=True)
class TableLimits:
    """Bounds on one imported file: its size, and what it expands to.

    Excel's own limit on one cell is 32,767 characters; a workbook part is one XML file
    inside the XLSX (a sheet, the shared strings).
    """

    max_bytes: int = 256 * 1024 * 1024
    max_rows: int = 2_000_000
    max_part_bytes: int = 512 * 1024 * 1024
    max_expanded_bytes: int = 1024 * 1024 * 1024
    max_cell_chars: int = 32_767

    def xlsx(self) -> XlsxLimits:
        """The limits the workbook check applies."""
        return XlsxLimits(self.max_part_bytes, self.max_expanded_bytes, self.max_rows, self.max_cell_chars)


@dataclass
class Table:
    """An open file: which column holds which field, and a stream of (line, fields) rows."""

    format: Literal["csv", "xlsx"]
    encoding: str
    header_line: int
    columns: dict[str, str]
    ignored: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    _closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Release the file."""
        for closer in self._closers:
            closer()
        self._closers.clear()


def sniff(path: Path) -> tuple[Literal["csv", "xlsx"], str]:
    """Recognise the format (and text encoding) from the content, not the file name."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile as err:
            raise NotATableError(f"{path.name}: a damaged ZIP archive, not an XLSX workbook") from err
        if "xl/workbook.xml" not in names:
            raise NotATableError(f"{path.name}: a ZIP archive but not an XLSX workbook")
        return "xlsx", "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotATableError(f"{path.name}: a legacy .xls (OLE) file: save it as .xlsx or CSV")
    if head.startswith(b"%PDF"):
        raise NotATableError(f"{path.name}: a PDF document, not a CSV or XLSX file")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv", "utf-16"
    if b"\x00" in head:
        raise NotATableError(f"{path.name}: binary content, not a CSV or XLSX file")
    return "csv", _text_encoding(path.name, head)


def _text_encoding(name: str, head: bytes) -> str:
    try:
        # final=False: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp874")
    except UnicodeDecodeError as err:
        raise EncodingError(f"{name}: text is neither UTF-8 nor TIS-620/cp874") from err
    return "cp874"


def map_headers(headers: Sequence[Any], aliases: Mapping[str, Sequence[str]],
                mapping: Mapping[str, str] | None = None) -> tuple[dict[int, str], list[str]]:
    """Map column positions to fields by alias (or by an explicit field -> header mapping).

    A header such as "ละติจูด (Latitude)" is tried whole, then by the part outside and the
    part inside the brackets. Returns (position -> field, ignored header texts).
    """
    index: dict[str, str] = {}
    for field_name, spellings in aliases.items():
        for spelling in (field_name, *spellings):
            index[normalize_header(spelling)] = field_name
    explicit = {normalize_header(h): f for f, h in (mapping or {}).items()}
    explicit_fields = set(explicit.values())
    unknown = set((mapping or {}).keys()) - set(aliases)
    if unknown:
        raise HeaderError(f"column mapping names unknown fields: {', '.join(sorted(unknown))}")
    found: dict[int, str] = {}
    where: dict[str, str] = {}
    ignored: list[str] = []
    for pos, cell in enumerate(headers):
        text = "" if cell is None else str(cell).strip()
        if not text:
            continue
        candidates = [text]
        if bracket := re.match(r"^([^()]*)\(([^()]*)\)", text):
            candidates.extend(bracket.groups())
        name: str | None = None
        for candidate in candidates:
            key = normalize_header(candidate)
            name = explicit.get(key)
            if name is None and index.get(key) not in explicit_fields:
                # An alias never wins over a field the operator mapped to another column.
                name = index.get(key)
            if name:
                break
        if name is None:
            ignored.append(text)
            continue
        if name in where:
            raise HeaderError(f"columns {where[name]!r} and {text!r} both mean {name!r}")
        where[name] = text
        found[pos] = name
    return found, ignored


def _missing(found: Mapping[int, str], required: Sequence[str]) -> list[str]:
    present = set(found.values())
    return [f for f in required if f not in present]


def open_table(path: Path, aliases: Mapping[str, Sequence[str]], required: Sequence[str], *,
               mapping: Mapping[str, str] | None = None,
               limits: TableLimits | None = None, encoding: str | None = None) -> Table:
    """Open a CSV/XLSX file, find its header row and return a stream of mapped rows.

    ``encoding`` overrides the sniffed text encoding (a retry after a late decoding error).
    """
    limits = limits or TableLimits()
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise FileTooLargeError(f"{path.name}: {size} bytes is over the limit of {limits.max_bytes}")
    if size == 0:
        raise NotATableError(f"{path.name}: the file is empty")
    fmt, sniffed = sniff(path)
    if fmt == "xlsx" or encoding is None:
        encoding = sniffed
    closers: list[Any] = []
    raw: Iterator[tuple[int, Sequence[Any]]]
    if fmt == "xlsx":
        try:
            check_workbook(path, limits.xlsx())
        except XlsxRefused as err:
            error = FileTooLargeError if err.too_large else NotATableError
            raise error(f"{path.name}: workbook refused: {err}") from err
        raw = _xlsx_rows(path, closers)
    else:
        raw = _csv_rows(path, encoding, closers)
    try:
        header_line, positions, ignored, cells = _find_header(path.name, raw, aliases, required,
                                                              mapping)
    except BaseException:
        for closer in closers:
            closer()
        raise
    columns = {name: str(cells[pos]).strip() for pos, name in positions.items()}
    width = len(cells) if fmt == "csv" else None
    return Table(fmt, encoding, header_line, columns, ignored,
                 _mapped(raw, positions, limits, path.name, width), closers)


def _find_header(name: str, raw: Iterator[tuple[int, Sequence[Any]]],
                 aliases: Mapping[str, Sequence[str]], required: Sequence[str],
                 mapping: Mapping[str, str] | None
                 ) -> tuple[int, dict[int, str], list[str], Sequence[Any]]:
    best: tuple[int, dict[int, str], list[str]] | None = None
    seen = 0
    for line, cells in raw:
        if not any(c not in (None, "") for c in cells):
            continue
        found, ignored = map_headers(cells, aliases, mapping)
        if not _missing(found, required):
            return line, found, ignored, cells
        if best is None or len(found) > len(best[1]):
            best = (line, found, ignored)
        seen += 1
        if seen >= _HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise HeaderError(f"{name}: no header row (the file has no non-empty row)")
    missing = _missing(best[1], required)
    raise HeaderError(
        f"{name}: missing required column(s) {', '.join(missing)} "
        f"(best header candidate on line {best[0]}; unrecognised headers: "
        f"{', '.join(repr(h) for h in best[2]) or 'none'})"
    )


def _mapped(raw: Iterator[tuple[int, Sequence[Any]]], positions: Mapping[int, str],
            limits: TableLimits, name: str, width: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows after the header, mapped to fields. ``width`` (CSV: the header's fields) makes
    a record of another width refuse the file, once every such line is known."""
    count = 0
    for line, cells in raw:
        count += 1  # empty rows count: a file of millions of them is no small file
        if count > limits.max_rows:
            raise FileTooLargeError(f"{name}: more than {limits.max_rows} rows (empty rows count)")
        if not any(c not in (None, "") for c in cells):
            continue
        if width is not None and len(cells) != width:
            _refuse_ragged(name, width, line, len(cells), raw)
        yield line, {f: (cells[p] if p < len(cells) else None) for p, f in positions.items()}


def _refuse_ragged(name: str, width: int, line: int, found: int, rest: Iterator[tuple[int, Sequence[Any]]]) -> None:
    """Read the rest of the file for its other ragged records, then refuse it naming their lines."""
    lines = [(line, found)]
    total = 1
    for other, cells in rest:
        if cells and any(c not in (None, "") for c in cells) and len(cells) != width:
            total += 1
            if len(lines) < _RAGGED_LISTED:
                lines.append((other, len(cells)))
    listed = ", ".join(f"line {n} has {k}" for n, k in lines)
    more = f" and {total - len(lines)} more" if total > len(lines) else ""
    raise RaggedRowsError(
        f"{name}: {total} record(s) do not have the header's {width} fields ({listed}{more}); "
        "nothing imported: quote fields that contain the separator"
    )


def _csv_rows(path: Path, encoding: str, closers: list[Any]) -> Iterator[tuple[int, Sequence[Any]]]:
    handle = path.open("r", encoding=encoding, newline="")
    closers.append(handle.close)
    try:
        sample = handle.read(_DIALECT_SAMPLE_CHARS + 1)
        handle.seek(0)
    except UnicodeDecodeError as err:
        raise EncodingError(f"{path.name}: not valid {encoding} text near the start") from err
    complete = len(sample) <= _DIALECT_SAMPLE_CHARS
    reader = csv.reader(handle, choose_dialect(sample[:_DIALECT_SAMPLE_CHARS], complete=complete))
    # csv.reader.line_num is the physical line where a record ENDS; report where it starts.
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except UnicodeDecodeError as err:
        raise EncodingError(f"{path.name}: not valid {encoding} text after line {start}") from err
    except csv.Error as err:
        raise NotATableError(f"{path.name}: broken CSV near line {start}: {err}") from err
    finally:
        handle.close()


def _xlsx_rows(path: Path, closers: list[Any]) -> Iterator[tuple[int, Sequence[Any]]]:
    # Imported here so an aggregator without openpyxl still imports CSV registers.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    # A handle, not the path: openpyxl judges a path by its extension, and uploads have none.
    handle = path.open("rb")
    closers.append(handle.close)
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, InvalidFileException) as err:
        handle.close()
        raise NotATableError(f"{path.name}: unreadable XLSX workbook: {err}") from err
    closers.append(book.close)
    sheet = book.worksheets[0]
    # Some exporters write a wrong <dimension>; read-only mode would then stop early.
    sheet.reset_dimensions()
    try:
        yield from enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
    except (SyntaxError, ValueError, KeyError, zipfile.BadZipFile) as err:
        # xml.etree's ParseError is a SyntaxError: malformed XML is a refusal, not a traceback
        raise NotATableError(f"{path.name}: unreadable XLSX workbook: {err}") from err
    finally:
        book.close()
        handle.close()
