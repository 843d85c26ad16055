"""Hostile XLSX workbooks built by the tests (issue 18): small to upload, huge once expanded.

Each is a minimal but well-formed workbook (content types, relationships, one sheet and its
shared strings) whose sheet or shared strings are streamed into the ZIP, so building a
workbook that expands to hundreds of megabytes never holds them in memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["empty_rows_bomb", "entity_bomb", "huge_cell_bomb", "workbook"]

HEADER = ["Province", "District", "Location", "Latitude", "Longitude", "Status"]
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_BOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="{_REL}">'
    '<sheets><sheet name="Register" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def _header_row() -> str:
    cells = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(HEADER))
    return f'<row r="1">{cells}</row>'


def workbook(path: Path, sheet: Iterable[str], shared: Iterable[str] | None = None) -> Path:
    """Write a workbook whose sheet XML is the concatenation of ``sheet`` (and shared strings
    of ``shared``), streamed in pieces at the strongest compression."""
    pieces = shared if shared is not None else [f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="0"/>']
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _BOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
        for name, parts in (("xl/sharedStrings.xml", pieces), ("xl/worksheets/sheet1.xml", sheet)):
            with archive.open(name, "w", force_zip64=True) as out:
                for part in parts:
                    out.write(part.encode())
    return path


def empty_rows_bomb(path: Path, rows: int = 50_000_000) -> Path:
    """A header, then ``rows`` empty rows (``<row/>``): 50 million weigh about 440 KB zipped."""
    def sheet() -> Iterable[str]:
        yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>{_header_row()}'
        block = "<row/>" * 100_000
        for _ in range(rows // 100_000):
            yield block
        yield "</sheetData></worksheet>"
    return workbook(path, sheet())


def huge_cell_bomb(path: Path, chars: int = 400 * 1024 * 1024) -> Path:
    """A header and one row whose Location is a shared string of ``chars`` characters."""
    def shared() -> Iterable[str]:
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="1" uniqueCount="1"><si><t>'
        block = "x" * (1024 * 1024)
        for _ in range(chars // len(block)):
            yield block
        yield "x" * (chars % len(block)) + "</t></si></sst>"
    row = '<row r="2"><c r="C2" t="s"><v>0</v></c></row>'
    sheet = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>{_header_row()}{row}'
             "</sheetData></worksheet>"]
    return workbook(path, sheet, shared())


def entity_bomb(path: Path) -> Path:
    """Shared strings declaring nested entities ("billion laughs"): 10^9 copies of "lol"."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    shared = [f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [{entities}]>'
              f'<sst {_NS} count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>']
    row = '<row r="2"><c r="C2" t="s"><v>0</v></c></row>'
    sheet = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>{_header_row()}{row}'
             "</sheetData></worksheet>"]
    return workbook(path, sheet, shared)
