"""The lines an import refused, as a CSV the officer fixes and uploads again.

The file has the register's own columns with the user's own values (nothing converted: a
Buddhist-era date stays as typed), then the original line and the reasons in the officer's
language. Those last two headers are no register field, so a re-upload ignores them.
It starts with a UTF-8 BOM so Excel on Windows opens the Thai text correctly.
"""

from __future__ import annotations

import csv
import io

from sqlite_utils import Database

from aggregator.audit.history import rejected_lines
from aggregator.audit.messages import Lang

__all__ = ["BOM", "rejected_csv"]

BOM = "\ufeff"
_EXTRA: dict[str, tuple[str, str]] = {"en": ("original line", "why refused"),
                                      "th": ("บรรทัดเดิม", "เหตุที่ไม่รับ")}


def rejected_csv(db: Database, import_id: int, lang: Lang) -> str:
    """Every refused line of an import as CSV text (with a BOM); only the header when none."""
    lines = rejected_lines(db, import_id, lang)
    headers: list[str] = []
    for _, cells, _ in lines:
        headers.extend(h for h in cells if h not in headers)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*headers, *_EXTRA[lang]])
    for line, cells, reasons in lines:
        writer.writerow([*(cells.get(h, "") for h in headers), line, "; ".join(reasons)])
    return BOM + out.getvalue()
