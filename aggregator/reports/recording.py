"""The recording section of the monthly report (issue 16): retention compliance per province.

Figures are the latest each camera's agent reported (recording figures travel in heartbeats,
aggregator/store/recording.py), so the section says "at the time the report was made", not
over the month. A camera counts as compliant when its recorder keeps at least the required
days; cameras whose agent reports no recording figures are left out and said to be.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from aggregator.store.queries.recording import ProvinceRetention, retention_by_province

__all__ = ["recording_section"]


def _row(p: ProvinceRetention, names: dict[str, tuple[str, str]]) -> dict[str, Any]:
    th, en = names.get(p.province, (p.province, p.province))
    return {"province": p.province, "name_th": th, "name_en": en, "cameras": p.cameras, "compliant": p.compliant,
            "short": p.short, "not_recording": p.not_recording, "storage": p.storage, "share": p.share}


def recording_section(db: Database, province: str | None = None) -> dict[str, Any] | None:
    """Per province (or the one province): recorded cameras, compliant, short, not recording, storage faults;
    None without figures."""
    rows = retention_by_province(db, None if province is None else [province])
    if not rows:
        return None
    names = {str(c): (str(th), str(en)) for c, th, en in db.execute("SELECT code, name_th, name_en FROM provinces")}
    total = ProvinceRetention(province or "TH", sum(r.cameras for r in rows), sum(r.compliant for r in rows),
                              sum(r.short for r in rows), sum(r.not_recording for r in rows),
                              sum(r.storage for r in rows))
    return {"rows": [_row(r, names) for r in rows], "total": _row(total, {total.province: ("รวม", "Total")})}
