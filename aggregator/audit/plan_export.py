"""The repair plan as a spreadsheet: XLSX (openpyxl) and CSV with a UTF-8 BOM, Thai or English.

The BOM makes Excel on Windows read the CSV as UTF-8, so Thai stays readable. Both files have
the same header row and the same cells, one line per plan line, in the plan's order.

Text a province typed (an action, an agency) is data, never a formula: the XLSX stores every text
cell as a string (openpyxl would make ``=...`` a formula), and the CSV puts an apostrophe before
text that Excel would otherwise run (starting with ``=``, ``+``, ``@``, or ``-`` and not a number).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from aggregator.audit.messages import Lang
from aggregator.audit.plan import PlanLine

__all__ = ["COLUMNS", "plan_csv", "plan_table", "plan_xlsx"]

# (column key, English header, Thai header)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rank", "Rank", "ลำดับ"),
    ("item", "Item", "รายการ"),
    ("kind", "Kind", "ประเภท"),
    ("province", "Province", "จังหวัด"),
    ("district", "District", "อำเภอ"),
    ("location", "Location", "สถานที่"),
    ("owner", "Owning agency", "หน่วยงานเจ้าของ"),
    ("camera", "Camera", "กล้อง"),
    ("fault_id", "Fault", "เหตุขัดข้อง"),
    ("age_days", "Fault age (days)", "อายุเหตุขัดข้อง (วัน)"),
    ("uncovered_points", "Uncovered risk points it covers", "จุดเสี่ยงที่ยังไม่มีกล้องครอบคลุม"),
    ("importance", "Risk points around it", "จำนวนจุดเสี่ยงรอบกล้อง"),
    ("status", "Progress", "ความคืบหน้า"),
    ("action", "Action", "สิ่งที่จะทำ"),
    ("agency", "Responsible agency", "หน่วยงานรับผิดชอบ"),
    ("target_date", "Target date", "วันที่เป้าหมาย"),
    ("cost_baht", "Estimated cost (baht)", "ประมาณการค่าใช้จ่าย (บาท)"),
    ("parts", "Parts used", "อะไหล่ที่ใช้"),
    ("spent_baht", "Spent (baht)", "ค่าใช้จ่ายจริง (บาท)"),
)
_WORDS = {"th": {"declared": "กล้องในทะเบียน", "fault": "เหตุขัดข้อง", "open": "ยังไม่เสร็จ", "done": "เสร็จแล้ว"},
          "en": {"declared": "declared camera", "fault": "fault", "open": "open", "done": "done"}}


def plan_table(lines: Sequence[PlanLine], lang: Lang = "en") -> list[list[Any]]:
    """Header row, then one row of cells per plan line (numbers stay numbers)."""
    words = _WORDS[lang]
    rows: list[list[Any]] = [[th if lang == "th" else en for _, en, th in COLUMNS]]
    for i, line in enumerate(lines, start=1):
        entry = line.entry
        cells = {**line.as_dict(), "rank": i, "kind": words[line.kind], "status": words[line.status],
                 "uncovered_points": "; ".join(line.uncovered_points), "action": entry.get("action", ""),
                 "agency": entry.get("agency", ""), "target_date": entry.get("target_date") or "",
                 "cost_baht": entry.get("cost_baht")}  # fmt: skip
        rows.append([("" if cells.get(key) is None else cells[key]) for key, _, _ in COLUMNS])
    return rows


def _inert(value: Any) -> Any:
    """Text Excel would take for a formula, with an apostrophe before it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "@", "-"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def plan_csv(lines: Sequence[PlanLine], lang: Lang = "en") -> bytes:
    """The plan as CSV, UTF-8 with a BOM."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([[_inert(v) for v in row] for row in plan_table(lines, lang)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def plan_xlsx(lines: Sequence[PlanLine], lang: Lang = "en", title: str = "plan") -> bytes:
    """The plan as an XLSX workbook of one sheet (header row frozen)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "plan")
    sheet.freeze_panes = "A2"
    for row in plan_table(lines, lang):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
