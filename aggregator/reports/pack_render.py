"""Render a committee pack: a printable HTML page (A4, charts as inline SVG, no script) and JSON.

The page is ``templates/pack.html``: the heading and summary, the monthly report's area and
worst-sites tables (:mod:`aggregator.reports.render`), then one ``templates/pack/<key>.html``
include per section, in the pack's order. Charts are drawn here from the sections' data
(:mod:`aggregator.reports.svg`) and handed to the section's template as ``chart``. Every
printed word comes from :mod:`aggregator.reports.labels`; every date is Bangkok time, in Thai
with Thai month names and Buddhist-era years (:mod:`aggregator.thaidate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from aggregator.days import from_ms
from aggregator.reports.figures import Lang
from aggregator.reports.labels import label
from aggregator.reports.pack import CommitteePack
from aggregator.reports.render import area_cells, columns, site_cells, title
from aggregator.reports.svg import Bar, Series, column_chart, hbar_chart, line_chart
from aggregator.thaidate import date_text, datetime_text, month_text

__all__ = ["pack_html", "pack_json", "pack_title"]

_TEMPLATES = Path(__file__).parent / "templates"


def pct(value: object) -> str:
    """A share as printed: ``83.9%`` (``–`` when unknown)."""
    return f"{value * 100:.1f}%" if isinstance(value, float | int) and not isinstance(value, bool) else "–"


def pts(value: object) -> str:
    """A change in percentage points with its sign: ``+1.2`` / ``−0.4``."""
    if not isinstance(value, float | int) or isinstance(value, bool):
        return "–"
    text = f"{abs(value):.1f}"
    return "0.0" if text == "0.0" else ("+" if value > 0 else "−") + text


def hours(value: object) -> str:
    """Hours with one decimal (``–`` when unknown)."""
    return f"{value:,.1f}" if isinstance(value, float | int) and not isinstance(value, bool) else "–"


def number(value: object) -> str:
    """A count with thousands separators."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "–"


def money(value: object) -> str:
    """Baht with two decimals."""
    return f"{value:,.2f}" if isinstance(value, float | int) and not isinstance(value, bool) else "–"


def when(value: object, lang: Lang) -> str:
    """An ISO time (a certification's) as printed: Bangkok, Thai month and Buddhist year in Thai."""
    if not isinstance(value, str):
        return "–"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    return datetime_text(at if at.tzinfo else at.replace(tzinfo=UTC), lang)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))
    env.globals.update(label=label, pct=pct, pts=pts, hours=hours, number=number, money=money,
                       month_text=month_text, when=when)  # fmt: skip
    return env


def _name(row: Mapping[str, object], lang: Lang) -> str:
    return str(row["name_th" if lang == "th" else "name_en"])


def _rows(data: Mapping[str, object], key: str = "rows") -> list[Mapping[str, object]]:
    rows = data.get(key)
    return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []


def _share(value: object) -> float | None:
    return float(value) if isinstance(value, float | int) and not isinstance(value, bool) else None


def _ranking_chart(data: Mapping[str, object], lang: Lang) -> str:
    rows = sorted(_rows(data), key=lambda r: str(r["code"]))
    bars = [Bar(_name(r, lang), _share(r["value"]), _share(r["target"])) for r in rows]
    return hbar_chart(bars, title=label("section.ranking", lang))


def _daily_chart(data: Mapping[str, object], lang: Lang) -> str:
    days = _rows(data, "days")
    labels = [str(date.fromisoformat(str(d["date"])).day) for d in days]
    series = [Series(label(k, lang), [_share(d[k]) for d in days]) for k in ("available", "usable")]
    return line_chart(series, labels, target=_share(data.get("target")), title=label("section.daily", lang))


def _ageing_chart(data: Mapping[str, object], lang: Lang) -> str:
    total = data.get("total")
    buckets = data.get("buckets")
    if not isinstance(total, Mapping) or not isinstance(buckets, list):
        return ""
    return column_chart([(label(str(b), lang), int(total[b])) for b in buckets], title=label("section.ageing", lang))


_CHARTS: dict[str, Callable[[Mapping[str, object], Lang], str]] = {
    "ranking": _ranking_chart, "daily": _daily_chart, "ageing": _ageing_chart,
}


def pack_title(pack: CommitteePack, lang: Lang) -> str:
    """The pack's heading: what, where, which month (Thai month name and Buddhist year in Thai)."""
    r = pack.report
    where = r.province_th if lang == "th" else r.province_en
    if lang == "th":
        return f"{label('pack.title', lang)} {where} ประจำเดือน{month_text(r.month, lang)}"
    return f"{label('pack.title', lang)}, {where}, {month_text(r.month, lang)}"


def pack_html(pack: CommitteePack, lang: Lang) -> str:
    """The printable pack (A4 landscape, no script, every chart inline SVG)."""
    r = pack.report
    rows, total = area_cells(r, lang)
    sections = []
    for s in pack.sections:
        draw = _CHARTS.get(s.key)
        chart = Markup(draw(s.data, lang)) if draw else None  # our own SVG: every text in it is escaped
        sections.append({"key": s.key, "data": s.data, "chart": chart})
    return _environment().get_template("pack.html").render(
        lang=lang, title=pack_title(pack, lang), report_title=title(r, lang), month=month_text(r.month, lang),
        columns=columns(lang), rows=rows, total=total, sites=site_cells(r, lang), sections=sections,
        name=lambda row: _name(row, lang), total_name=r.total.name_th if lang == "th" else r.total.name_en,
        generated=datetime_text(r.generated_at, lang),
        period=(datetime_text(from_ms(r.window.start_ms), lang), datetime_text(from_ms(r.window.end_ms), lang)),
        history_from=date_text(r.camera_history_from, lang) if r.camera_history_from else None,
    )  # fmt: skip


def pack_json(pack: CommitteePack, lang: Lang) -> dict[str, object]:
    """The pack as data: the heading, the month in words, the area figures and every section's data."""
    r = pack.report
    return {
        "title": pack_title(pack, lang), "month": r.month, "month_text": month_text(r.month, lang),
        "province": r.province, "generated_at": r.generated_at.isoformat(),
        "window": {"start": from_ms(r.window.start_ms).isoformat(), "end": from_ms(r.window.end_ms).isoformat()},
        "total": {"code": r.total.code, "cameras": r.total.cameras, "available": r.total.totals.available,
                  "usable": r.total.totals.usable},
        "sections": {s.key: dict(s.data) for s in pack.sections},
    }  # fmt: skip
