"""Charts of the committee pack as inline SVG, drawn on the server: the printed page needs no script.

Three plain shapes, enough for a committee page: horizontal bars with a target mark per bar
(areas against their targets), lines over days (availability through the month), and columns
(faults by age). Output is deterministic (fixed decimals, no ids from memory, no clock) so the
same figures give the same bytes; text is escaped. Every mark carries a class (``bar``,
``target``, ``series``, ``column``) and a ``<title>`` with its figure, so tests read the
structure and a reader hovering a chart in a browser sees the number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Bar", "Series", "column_chart", "hbar_chart", "line_chart"]

_FONT = 'font-family="Noto Sans Thai, Loma, Garuda, sans-serif"'
_OK, _SHORT, _NONE = "#2e7d32", "#c62828", "#9e9e9e"
_SERIES_COLOURS = ("#1565c0", "#ef6c00", "#6a1b9a")


def _n(value: float) -> str:
    """A coordinate with one decimal, no trailing noise (deterministic text)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True, slots=True)
class Bar:
    """One area: its label, its share (0-1, None when unknown) and its target (0-1)."""

    label: str
    value: float | None
    target: float | None = None


def hbar_chart(bars: Sequence[Bar], *, width: int = 720, row: int = 16, label_w: int = 190, title: str = "") -> str:
    """Horizontal bars 0-100 % with each bar's target as a tick; short of target is red."""
    plot = width - label_w - 60
    height = row * len(bars) + 28
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart hbar" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {_FONT} font-size="10">']  # fmt: skip
    for pct in (0, 25, 50, 75, 100):
        x = label_w + plot * pct / 100
        out.append(f'<line class="grid" x1="{_n(x)}" y1="4" x2="{_n(x)}" y2="{height - 20}" stroke="#ddd"/>'
                   f'<text x="{_n(x)}" y="{height - 6}" text-anchor="middle">{pct}%</text>')  # fmt: skip
    for i, b in enumerate(bars):
        y = 4 + i * row
        meets = b.value is not None and (b.target is None or b.value >= b.target)
        colour = _NONE if b.value is None else (_OK if meets else _SHORT)
        kind = "none" if b.value is None else ("meets" if meets else "short")
        w = plot * (b.value or 0.0)
        out.append(f'<text x="{label_w - 4}" y="{_n(y + row * 0.7)}" text-anchor="end">{escape(b.label)}</text>')
        out.append(f'<rect class="bar {kind}" x="{label_w}" y="{_n(y + 2)}" width="{_n(w)}" height="{row - 4}" '
                   f'fill="{colour}"><title>{escape(b.label)}: {_pct(b.value)}</title></rect>')  # fmt: skip
        out.append(f'<text x="{_n(label_w + w + 3)}" y="{_n(y + row * 0.7)}">{_pct(b.value)}</text>')
        if b.target is not None:
            tx = label_w + plot * b.target
            out.append(f'<line class="target" x1="{_n(tx)}" y1="{_n(y)}" x2="{_n(tx)}" y2="{_n(y + row)}" '
                       f'stroke="#000" stroke-width="2"><title>{_pct(b.target)}</title></line>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Series:
    """A named line: one share (0-1, None for a gap) per x position."""

    name: str
    values: Sequence[float | None]


def line_chart(series: Sequence[Series], x_labels: Sequence[str], *, target: float | None = None,
               width: int = 720, height: int = 220, title: str = "") -> str:  # fmt: skip
    """Lines over days on a share axis from a round floor below the lowest point to 100 %."""
    known = [v for s in series for v in s.values if v is not None] + ([target] if target is not None else [])
    lowest = min(known) if known else 0.0
    floor, step = min(0.9, math.floor(lowest * 10) / 10), 0.1  # gridlines every 10 points ...
    if floor < 0.5:
        floor, step = math.floor(lowest * 5) / 5, 0.2  # ... or every 20 on a tall axis
    left, right, top, bottom = 44, 10, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(x_labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - floor) / (1 - floor if floor < 1 else 1))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart line" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {_FONT} font-size="10">']  # fmt: skip
    for k in range(round((1 - floor) / step) + 1):
        g = floor + step * k
        out.append(f'<line class="grid" x1="{left}" y1="{_n(y(g))}" x2="{width - right}" y2="{_n(y(g))}" stroke="#ddd"/>'
                   f'<text x="{left - 4}" y="{_n(y(g) + 3)}" text-anchor="end">{g * 100:.0f}%</text>')  # fmt: skip
    step = max(1, len(x_labels) // 10)
    for i, lab in enumerate(x_labels):
        if i % step == 0 or i == len(x_labels) - 1:
            out.append(f'<text x="{_n(x(i))}" y="{height - bottom + 14}" text-anchor="middle">{escape(lab)}</text>')
    if target is not None:
        out.append(f'<line class="target" x1="{left}" y1="{_n(y(target))}" x2="{width - right}" y2="{_n(y(target))}" '
                   f'stroke="#000" stroke-dasharray="4 3"><title>{_pct(target)}</title></line>')  # fmt: skip
    for si, s in enumerate(series):
        colour = _SERIES_COLOURS[si % len(_SERIES_COLOURS)]
        pts = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
        if pts:
            path = " ".join(f"{_n(px)},{_n(py)}" for px, py in pts)
            out.append(f'<polyline class="series" data-series="{escape(s.name)}" points="{path}" fill="none" '
                       f'stroke="{colour}" stroke-width="2"/>')  # fmt: skip
        for i, v in enumerate(s.values):
            if v is not None:
                out.append(f'<circle class="point" cx="{_n(x(i))}" cy="{_n(y(v))}" r="2" fill="{colour}">'
                           f'<title>{escape(x_labels[i])} {escape(s.name)}: {_pct(v)}</title></circle>')  # fmt: skip
        lx = left + 8 + si * 150
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="4" fill="{colour}"/>'
                   f'<text x="{lx + 14}" y="{height - 7}">{escape(s.name)}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def column_chart(columns: Sequence[tuple[str, int]], *, width: int = 420, height: int = 180, title: str = "") -> str:
    """Vertical columns of counts (faults by age), each labelled with its count."""
    left, bottom, top = 10, 30, 18
    plot_h = height - bottom - top
    most = max((c for _, c in columns), default=0) or 1
    slot = (width - 2 * left) / max(1, len(columns))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart columns" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {_FONT} font-size="10">']  # fmt: skip
    for i, (lab, count) in enumerate(columns):
        h = plot_h * count / most
        cx = left + slot * i + slot * 0.2
        out.append(f'<rect class="column" x="{_n(cx)}" y="{_n(top + plot_h - h)}" width="{_n(slot * 0.6)}" '
                   f'height="{_n(h)}" fill="{_SHORT if i == len(columns) - 1 else _SERIES_COLOURS[0]}">'
                   f'<title>{escape(lab)}: {count:,}</title></rect>'
                   f'<text x="{_n(cx + slot * 0.3)}" y="{_n(top + plot_h - h - 4)}" text-anchor="middle">{count:,}</text>'
                   f'<text x="{_n(cx + slot * 0.3)}" y="{height - bottom + 14}" text-anchor="middle">{escape(lab)}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)
