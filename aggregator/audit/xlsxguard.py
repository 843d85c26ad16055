"""Check what an XLSX workbook expands to before openpyxl reads it.

A workbook is a ZIP of XML parts: a 440 KB upload can hold 50 million empty rows or one
400 MB cell, and openpyxl builds each row and each cell's text in memory. So every XML part
is streamed once through expat, in chunks, counting what it expands to: bytes per part and
in total, rows (empty ones too, and the row numbers they claim), and the characters of any
one text run (a cell). The first limit crossed stops the scan. XLSX parts never declare a
document type, so any ``<!DOCTYPE`` (the carrier of entity-expansion bombs) is refused, as
is malformed XML: both become the import's ordinary refusal, never a parser's traceback.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

__all__ = ["XlsxLimits", "XlsxRefused", "check_workbook"]

_CHUNK = 256 * 1024
# Parts whose content is XML; media (images) are never parsed by the import.
_XML_SUFFIXES = (".xml", ".rels", ".vml")


class XlsxRefused(Exception):
    """The workbook is refused; ``too_large`` tells an expansion limit (413) from bad XML (422)."""

    def __init__(self, message: str, *, too_large: bool) -> None:
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True)
class XlsxLimits:
    """What one workbook may expand to."""

    max_part_bytes: int
    max_expanded_bytes: int
    max_rows: int
    max_cell_chars: int


class _PartScan:
    """One XML part fed to expat: counts rows and the longest text run, refuses a DOCTYPE."""

    def __init__(self, name: str, limits: XlsxLimits) -> None:
        self.name = name
        self.limits = limits
        self.rows = 0
        self.run = 0  # characters of the current text run (reset at every tag)
        parser = expat.ParserCreate()
        parser.buffer_text = False  # text arrives in pieces: a huge cell is never held whole
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        self.parser = parser

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self.run = 0
        if tag == "row" or tag.endswith(":row"):
            self.rows += 1
            number = attrs.get("r", "")
            claimed = int(number) if number.isdigit() and len(number) < 12 else self.rows
            if max(self.rows, claimed) > self.limits.max_rows:
                raise XlsxRefused(
                    f"{self.name} has more than {self.limits.max_rows} rows (empty rows count)", too_large=True
                )

    def _end(self, tag: str) -> None:
        self.run = 0

    def _text(self, data: str) -> None:
        self.run += len(data)
        if self.run > self.limits.max_cell_chars:
            raise XlsxRefused(f"a cell in {self.name} is longer than {self.limits.max_cell_chars} characters",
                              too_large=True)  # fmt: skip

    def _doctype(self, *_: object) -> None:
        raise XlsxRefused(f"{self.name} declares a document type (entities): a workbook never does",
                          too_large=False)  # fmt: skip

    def _entity(self, *_: object) -> None:
        raise XlsxRefused(f"{self.name} declares XML entities: a workbook never does", too_large=False)


def check_workbook(path: Path, limits: XlsxLimits) -> None:
    """Stream every XML part of the workbook at ``path``; raise :class:`XlsxRefused` at the
    first limit crossed or the first XML error."""
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.lower().endswith(_XML_SUFFIXES):
                    continue
                if info.file_size > limits.max_part_bytes:
                    raise XlsxRefused(f"its part {info.filename} expands to {info.file_size} bytes, over the "
                                      f"limit of {limits.max_part_bytes}", too_large=True)  # fmt: skip
                total += _scan(archive, info, limits, total)
    except XlsxRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as err:
        raise XlsxRefused(f"a damaged workbook ({err})", too_large=False) from err


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: XlsxLimits, before: int) -> int:
    """Feed one part to expat in chunks; the bytes it expanded to."""
    scan = _PartScan(info.filename, limits)
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            # the declared size is checked above; this holds even when the declaration lies
            if size > limits.max_part_bytes:
                raise XlsxRefused(f"its part {info.filename} expands to more than {limits.max_part_bytes} bytes",
                                  too_large=True)  # fmt: skip
            if before + size > limits.max_expanded_bytes:
                raise XlsxRefused(f"it expands to more than {limits.max_expanded_bytes} bytes in total",
                                  too_large=True)  # fmt: skip
            _feed(scan, chunk, final=False)
        _feed(scan, b"", final=True)
    return size


def _feed(scan: _PartScan, chunk: bytes, *, final: bool) -> None:
    try:
        scan.parser.Parse(chunk, final)
    except expat.ExpatError as err:
        raise XlsxRefused(f"{scan.name} is not well-formed XML ({expat.ErrorString(err.code)}, "
                          f"line {err.lineno})", too_large=False) from err  # fmt: skip
