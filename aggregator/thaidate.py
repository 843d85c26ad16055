"""Thai calendar words: month names and Buddhist-era years, for text a Thai reader signs.

A committee reads "ธันวาคม 2569", not "2026-12": the Thai civil calendar is the Gregorian
one with the year counted from the Buddha (BE = CE + 543, since 1941 the year starts on
1 January). Every date here is a Bangkok calendar date (:mod:`aggregator.days`): an instant
is turned into its Bangkok date first, so 23:30 UTC on 31 December is already 1 January
(and the next Buddhist year) in Thailand.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from aggregator.days import BANGKOK

__all__ = [
    "BE_OFFSET",
    "MONTHS_EN",
    "MONTHS_TH",
    "MONTHS_TH_SHORT",
    "be_year",
    "date_text",
    "datetime_text",
    "month_text",
    "parse_month",
    "previous_month",
]

Lang = Literal["th", "en"]

BE_OFFSET = 543  # Buddhist era year = Gregorian year + 543
MONTHS_TH = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
             "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")  # fmt: skip
MONTHS_TH_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
                   "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")  # fmt: skip
MONTHS_EN = ("January", "February", "March", "April", "May", "June",
             "July", "August", "September", "October", "November", "December")  # fmt: skip


def be_year(year: int) -> int:
    """The Buddhist-era year of a Gregorian year."""
    return year + BE_OFFSET


def parse_month(month: str) -> tuple[int, int]:
    """``"2026-12"`` -> ``(2026, 12)``; ValueError for anything else."""
    year, sep, mon = month.partition("-")
    if not sep or len(year) != 4 or len(mon) != 2 or not (year.isdigit() and mon.isdigit()) or not 1 <= int(mon) <= 12:
        raise ValueError(f"month {month!r} is not YYYY-MM")
    return int(year), int(mon)


def previous_month(month: str) -> str:
    """The calendar month before ``month`` (``"2027-01"`` -> ``"2026-12"``)."""
    year, mon = parse_month(month)
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def month_text(month: str, lang: Lang) -> str:
    """``"2026-12"`` as ``"ธันวาคม 2569"`` (Thai) or ``"December 2026"`` (English)."""
    year, mon = parse_month(month)
    if lang == "th":
        return f"{MONTHS_TH[mon - 1]} {be_year(year)}"
    return f"{MONTHS_EN[mon - 1]} {year}"


def date_text(value: date, lang: Lang, *, short: bool = False) -> str:
    """A calendar date: ``"31 ธันวาคม 2569"`` / ``"31 December 2026"`` (``short``: ``"31 ธ.ค. 2569"``)."""
    if lang == "th":
        names = MONTHS_TH_SHORT if short else MONTHS_TH
        return f"{value.day} {names[value.month - 1]} {be_year(value.year)}"
    name = MONTHS_EN[value.month - 1]
    return f"{value.day} {name[:3] if short else name} {value.year}"


def datetime_text(at: datetime, lang: Lang) -> str:
    """An instant as its Bangkok date and time: ``"1 มกราคม 2570 00:01 น."`` / ``"1 January 2027 00:01"``."""
    local = at.astimezone(BANGKOK)
    clock = local.strftime("%H:%M")
    return f"{date_text(local.date(), lang)} {clock}" + (" น." if lang == "th" else "")
