"""Recording and retention in the committee pack (issue 16): per province, at the time the pack is made.

The figures are the monthly report's recording section (:mod:`aggregator.reports.recording`,
read once by :func:`aggregator.reports.monthly.build_report`): cameras whose agent reports
recording figures, those keeping at least the required days, those keeping fewer, those not
recording now and those whose recorder's storage is faulty or full now. They are the latest
figures the agents sent, not the month's, so the section says "at" the pack's time. A province's
pack has one row, the province; cameras without figures are left out (and the page says so).
"""

from __future__ import annotations

from collections.abc import Mapping

from aggregator.reports.section import PackContext, PackSection

__all__ = ["RECORDING_FIGURES", "recording_pack_section"]

# The figures of a province's row, as ProvinceRetention names them (and the cameras API lets one count).
RECORDING_FIGURES = ("cameras", "compliant", "short", "not_recording", "storage", "share")


def _figures(row: Mapping[str, object]) -> dict[str, object]:
    return {k: row.get(k, 0 if k != "share" else None) for k in RECORDING_FIGURES}


def recording_pack_section(ctx: PackContext) -> PackSection:
    """Per province: cameras with recording figures, compliant, short, not recording, storage faults, share."""
    found = ctx.report.recording or {}
    rows_in = found.get("rows")
    rows = [{"code": str(r["province"]), "name_th": r["name_th"], "name_en": r["name_en"], **_figures(r)}
            for r in (rows_in if isinstance(rows_in, list) else []) if isinstance(r, Mapping)]  # fmt: skip
    total_in = found.get("total")
    total = _figures(total_in if isinstance(total_in, Mapping) else {})
    return PackSection("recording", {"at": ctx.now.isoformat(timespec="seconds"), "rows": rows, "total": total})
