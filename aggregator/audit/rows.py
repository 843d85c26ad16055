"""One row of a provincial camera register: header aliases, value parsing, validation.

The provinces filled their registers by hand in a web reporting system and exported them
as spreadsheets, so headers come in Thai or English (sometimes both, sometimes mixed in one
file), dates in Buddhist-era years, provinces as names or codes. This module turns one raw
row (a mapping from canonical field to cell value) into a validated :class:`RegisterRow` or a
list of human-readable reasons.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import geothai
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aggregator.audit.messages import Problem, ProblemError, render
from aggregator.audit.province_check import wrong_province
from aggregator.audit.spatial import THAILAND_BOUNDS
from aggregator.days import today_in_bangkok

__all__ = [
    "FIELDS",
    "HEADER_ALIASES",
    "REQUIRED_FIELDS",
    "DeclaredStatus",
    "RegisterRow",
    "check_row",
    "parse_row",
    "natural_key",
    "normalize_header",
    "resolve_district",
    "resolve_province",
    "parse_coordinate",
    "parse_date",
    "position_problem",
]


class DeclaredStatus(StrEnum):
    """What the register says about a camera."""

    WORKING = "working"
    BROKEN = "broken"
    UNKNOWN = "unknown"


# Canonical field -> header spellings seen in provincial exports (compared after
# normalize_header, so case, spaces, underscores and dots do not matter).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "register_id": ("register_id", "register id", "camera_id", "camera id", "camera no",
                    "รหัสกล้อง", "เลขทะเบียนกล้อง", "รหัสทะเบียน", "เลขที่กล้อง"),
    "province": ("province", "changwat", "จังหวัด", "ชื่อจังหวัด"),
    "district": ("district", "amphoe", "อำเภอ", "เขต", "อำเภอ/เขต", "ชื่ออำเภอ"),
    "agency": ("agency", "owner", "owning agency", "owner agency", "หน่วยงาน",
               "หน่วยงานเจ้าของ", "หน่วยงานที่รับผิดชอบ", "เจ้าของ"),
    "location": ("location", "location name", "place", "installation site", "สถานที่",
                 "สถานที่ติดตั้ง", "จุดติดตั้ง", "ชื่อจุดติดตั้ง", "ตำแหน่งติดตั้ง"),
    "lat": ("lat", "latitude", "ละติจูด", "พิกัดละติจูด"),
    "lon": ("lon", "lng", "long", "longitude", "ลองจิจูด", "ลองติจูด", "พิกัดลองจิจูด"),
    "maker": ("maker", "brand", "manufacturer", "make", "ยี่ห้อ", "ผู้ผลิต"),
    "model": ("model", "รุ่น"),
    "ip": ("ip", "ip address", "ipv4", "ไอพี", "หมายเลขไอพี", "ที่อยู่ไอพี"),
    "mac": ("mac", "mac address", "แมค", "หมายเลขแมค"),
    "serial": ("serial", "serial number", "serial no", "s/n", "sn", "หมายเลขเครื่อง",
               "หมายเลขซีเรียล", "ซีเรียล"),
    "installed": ("installed", "installation date", "install date", "installed on",
                  "วันที่ติดตั้ง", "วันติดตั้ง"),
    "status": ("status", "working status", "condition", "สถานะ", "สถานะการใช้งาน",
               "สภาพการใช้งาน", "สภาพ"),
    "site": ("site", "site id", "รหัสไซต์", "รหัสจุด"),
}
FIELDS: tuple[str, ...] = tuple(HEADER_ALIASES)
# A register without these cannot place or judge a camera at all.
REQUIRED_FIELDS: tuple[str, ...] = ("province", "district", "location", "lat", "lon", "status")

_HEADER_STRIP = re.compile(r"[\s_.\-:/]+")


def normalize_header(text: str) -> str:
    """Put a column header in the form the aliases are compared in."""
    return _HEADER_STRIP.sub("", text.replace("\ufeff", "").strip().lower())


_STATUS_WORDS: dict[str, DeclaredStatus] = {}
for _status, _words in {
    DeclaredStatus.WORKING: ("working", "ok", "normal", "good", "active", "online", "up",
                             "ใช้งานได้", "ใช้การได้", "ปกติ", "ดี", "ใช้งานได้ปกติ"),
    DeclaredStatus.BROKEN: ("broken", "not working", "faulty", "down", "offline", "damaged",
                            "ชำรุด", "ใช้งานไม่ได้", "ใช้การไม่ได้", "เสีย", "เสียหาย", "ไม่ปกติ",
                            # Awaiting or under repair: not working today (issue 14).
                            "รอซ่อม", "รอการซ่อม", "รอซ่อมแซม", "ส่งซ่อม", "อยู่ระหว่างซ่อม",
                            "ระหว่างซ่อม", "กำลังซ่อม", "awaiting repair", "under repair",
                            "in repair"),
    DeclaredStatus.UNKNOWN: ("", "unknown", "n/a", "-", "ไม่ทราบ", "ไม่ระบุ"),
}.items():
    for _w in _words:
        _STATUS_WORDS[normalize_header(_w)] = _status

_PLACE_PREFIX = re.compile(r"^(?:จังหวัด|อำเภอ|กิ่งอำเภอ|เขต|จ\.|อ\.)")
_PLACE_MARKS = re.compile(r"[\s.'\-]")
_PROVINCE_ALIASES = {"กทม": "10", "กรุงเทพ": "10", "bkk": "10", "อยุธยา": "14", "ayutthaya": "14"}


def _place(text: str) -> str:
    return _PLACE_MARKS.sub("", _PLACE_PREFIX.sub("", text.strip().lower()))


@lru_cache(maxsize=4096)
def resolve_province(text: str) -> str | None:
    """Return the DOPA code of a province given as code, Thai name or English name."""
    value = text.strip()
    if re.fullmatch(r"[1-9][0-9]", value):
        return value if geothai.province(value) is not None else None
    key = _place(value)
    if key in _PROVINCE_ALIASES:
        return _PROVINCE_ALIASES[key]
    for p in geothai.provinces():
        if key in (_place(p.name_th), _place(p.name_en)):
            return p.code
    return None


@lru_cache(maxsize=16384)
def resolve_district(province_code: str, text: str) -> str | None:
    """Return the DOPA code of a district of ``province_code`` given as code or name."""
    value = text.strip()
    if re.fullmatch(r"[1-9][0-9]{3}", value):
        found = geothai.district(value)
        return value if found is not None and found.province_code == province_code else None
    key = _place(value)
    for d in geothai.districts(province_code):
        if key in (_place(d.name_th), _place(d.name_en)):
            return d.code
    # "อ.เมือง" / "Mueang" alone means the capital district, always code XX01 (not in Bangkok).
    if key in ("เมือง", "mueang", "muang") and province_code != "10":
        return f"{province_code}01"
    return None


# Thai digits appear in hand-typed registers; Python's float() reads them, regexes do not.
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


_AXES = {"latitude": "lat", "longitude": "lon"}


def parse_coordinate(value: Any, what: str) -> float:
    """Read a latitude or longitude cell, accepting a decimal comma and Thai digits."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace("°", "").translate(_THAI_DIGITS)
    if re.fullmatch(r"-?\d+,\d+", text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError as err:
        raise ProblemError(Problem("not_a_number", {"field": _AXES.get(what, what), "value": text})) from err


_THAI_MONTHS = {m: i for i, ms in enumerate((
    ("ม.ค.", "มกราคม"), ("ก.พ.", "กุมภาพันธ์"), ("มี.ค.", "มีนาคม"), ("เม.ย.", "เมษายน"),
    ("พ.ค.", "พฤษภาคม"), ("มิ.ย.", "มิถุนายน"), ("ก.ค.", "กรกฎาคม"), ("ส.ค.", "สิงหาคม"),
    ("ก.ย.", "กันยายน"), ("ต.ค.", "ตุลาคม"), ("พ.ย.", "พฤศจิกายน"), ("ธ.ค.", "ธันวาคม"),
), start=1) for m in ms}
# Spreadsheet day numbers from 1970 to 2100: anything else in a date column is no date.
_EXCEL_SERIALS = (25569, 73051)
# Years above this are Buddhist era (BE = CE + 543); registers use both.
_BE_THRESHOLD = 2400


def _year(y: int) -> int:
    return y - 543 if y > _BE_THRESHOLD else y


def parse_date(value: Any) -> date | None:
    """Read an installation date: ISO, d/m/Y (CE or BE), Thai month names, or a spreadsheet date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().replace(year=_year(value.year))
    if isinstance(value, date):
        return value.replace(year=_year(value.year))
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A date cell the exporter left unformatted: days since 1899-12-30 (Excel's epoch).
        if not _EXCEL_SERIALS[0] <= value <= _EXCEL_SERIALS[1]:
            raise ProblemError(Problem("date_not_date", {"value": value}))
        return date(1899, 12, 30) + timedelta(days=int(value))
    text = str(value).strip().translate(_THAI_DIGITS)
    if not text:
        return None
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})\s*(\S+)\s*(\d{4})", text):
        if m[2] not in _THAI_MONTHS:
            raise ProblemError(Problem("date_month", {"value": text, "month": m[2]}))
        d, mo, y = int(m[1]), _THAI_MONTHS[m[2]], int(m[3])
    else:
        raise ProblemError(Problem("date_format", {"value": text}))
    try:
        return date(_year(y), mo, d)
    except ValueError as err:
        raise ProblemError(Problem("date_missing", {"value": text, "error": str(err)})) from err


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first: CSV cells are always str
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DOTTED_QUAD = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


@lru_cache(maxsize=65536)
def _normalize_ip(text: str) -> str:
    if not text:
        return ""
    if _DOTTED_QUAD.fullmatch(text):  # canonical IPv4 already: skip the slower parser
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as err:
        raise ProblemError(Problem("ip_malformed", {"value": text})) from err


class RegisterRow(BaseModel):
    """One validated declared camera."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    register_id: str = Field(default="", max_length=64, description="Id in the provincial register")
    province: str = Field(pattern=r"^[1-9][0-9]$", description="DOPA province code")
    district: str = Field(pattern=r"^[1-9][0-9]{3}$", description="DOPA district code")
    agency: str = Field(default="", max_length=200, description="Owning agency")
    location: str = Field(min_length=1, max_length=300, description="Location name")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    maker: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=100)
    ip: str = Field(default="", max_length=45, description="Normalised IP address, or empty")
    mac: str = Field(default="", pattern=r"^([0-9a-f]{2}(:[0-9a-f]{2}){5})?$")
    serial: str = Field(default="", max_length=100, description="Upper-cased serial, or empty")
    installed: date | None = None
    status: DeclaredStatus = DeclaredStatus.UNKNOWN
    site: str = Field(default="", pattern=r"^([A-Za-z0-9_.-]{1,64})?$")

    @field_validator("ip", mode="before")
    @classmethod
    def _ip(cls, value: Any) -> str:
        return _normalize_ip(_text(value))

    @field_validator("mac", mode="before")
    @classmethod
    def _mac(cls, value: Any) -> str:
        text = re.sub(r"[^0-9a-fA-F]", "", _text(value)).lower()
        if not _text(value):
            return ""
        if len(text) != 12:
            raise ProblemError(Problem("mac_malformed", {"value": _text(value)}))
        return ":".join(text[i:i + 2] for i in range(0, 12, 2))

    @field_validator("serial", mode="before")
    @classmethod
    def _serial(cls, value: Any) -> str:
        return _text(value).upper()

    @field_validator("installed", mode="before")
    @classmethod
    def _installed(cls, value: Any) -> date | None:
        found = parse_date(value)
        if found is not None and found > today_in_bangkok():
            raise ProblemError(Problem("date_future", {"value": _typed_date(value, found)}))
        return found

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> DeclaredStatus:
        text = _text(value)
        found = _STATUS_WORDS.get(normalize_header(text))
        if found is None:
            raise ProblemError(Problem("status_unknown", {"value": text}))
        return found


def position_problem(province: str, lat: float, lon: float) -> str | None:
    """Say what is wrong with a position declared in ``province``: outside Thailand, or
    clearly inside another province; None when it is plausible."""
    found = _check_position(lat, lon) or _check_province(province, lat, lon)
    return render(found) if found else None


def _check_position(lat: float, lon: float) -> Problem | None:
    if THAILAND_BOUNDS.contains(lat, lon):
        return None
    code = "swapped" if THAILAND_BOUNDS.contains(lon, lat) else "outside_thailand"
    return Problem(code, {"lat": lat, "lon": lon})


def _check_province(province: str, lat: float, lon: float) -> Problem | None:
    other = wrong_province(province, lat, lon)
    if other is None:
        return None
    found, declared = geothai.province(other), geothai.province(province)
    return Problem("other_province", {
        "lat": lat, "lon": lon, "other": other, "province": province,
        "other_en": found.name_en if found else "?", "other_th": found.name_th if found else "?",
        "province_en": declared.name_en if declared else "?",
        "province_th": declared.name_th if declared else "?"})


def _typed_date(value: Any, found: date) -> str:
    """The installation date as the user typed it (a Buddhist-era text stays as it was)."""
    return value.strip() if isinstance(value, str) and value.strip() else found.isoformat()


# Stand-ins for fields already found wrong, so the model still reports every other problem.
_PLACEHOLDERS: dict[str, Any] = {"province": "10", "district": "1001", "lat": 13.75, "lon": 100.5,
                                 "location": "?"}


def parse_row(raw: Mapping[str, Any]) -> tuple[RegisterRow | None, list[str]]:
    """Validate one raw row (canonical field -> cell); return the row or the reasons it fails
    (in English; :func:`check_row` gives them as :class:`Problem` for any language)."""
    row, problems = check_row(raw)
    return row, [render(p) for p in problems]


def check_row(raw: Mapping[str, Any]) -> tuple[RegisterRow | None, list[Problem]]:
    """Validate one raw row (canonical field -> cell); return the row or every problem."""
    errors: list[Problem] = []
    failed: set[str] = set()
    values: dict[str, Any] = {f: _text(raw.get(f)) for f in FIELDS if f not in ("installed", "lat", "lon")}
    values["installed"] = raw.get("installed")
    province_text = values["province"]
    province = resolve_province(province_text) if province_text else None
    if province is None:
        errors.append(Problem("province_unknown", {"value": province_text}) if province_text
                      else Problem("province_empty"))
        failed.update(("province", "district"))
    else:
        values["province"] = province
        district_text = values["district"]
        district = resolve_district(province, district_text) if district_text else None
        if district is None:
            errors.append(Problem("district_unknown", {"value": district_text, "province": province})
                          if district_text else Problem("district_empty"))
            failed.add("district")
        else:
            values["district"] = district
    for axis, label in (("lat", "latitude"), ("lon", "longitude")):
        cell = raw.get(axis)
        if cell is None or _text(cell) == "":
            errors.append(Problem("empty", {"field": axis}))
            failed.add(axis)
            continue
        try:
            values[axis] = parse_coordinate(cell, label)
        except ProblemError as err:
            errors.append(err.problem)
            failed.add(axis)
    if "lat" not in failed and "lon" not in failed:
        where = _check_position(values["lat"], values["lon"])
        if where is None and province is not None:
            where = _check_province(province, values["lat"], values["lon"])
        if where:
            errors.append(where)
            failed.update(("lat", "lon"))
    if not values["location"]:
        errors.append(Problem("empty", {"field": "location"}))
        failed.add("location")
    for name in failed:
        values[name] = _PLACEHOLDERS[name]
    try:
        row = RegisterRow.model_validate(values)
    except ValidationError as err:
        for item in err.errors(include_url=False):
            errors.append(_field_problem(item, raw))
        return None, errors
    return (None, errors) if errors else (row, [])


def _field_problem(item: Any, raw: Mapping[str, Any]) -> Problem:
    """A pydantic error as a Problem: a check's own ProblemError, or the rule it broke."""
    field = ".".join(str(p) for p in item["loc"])
    error = (item.get("ctx") or {}).get("error")
    if isinstance(error, ProblemError):
        return Problem(error.problem.code, error.problem.values, field)
    return Problem("invalid", {"message": str(item["msg"]).removeprefix("Value error, "),
                               "value": _text(raw.get(field))}, field)


def natural_key(row: RegisterRow) -> str:
    """Return the key that makes re-imports update rather than duplicate (docs/audit.md).

    The register's own id when the file has one; otherwise the serial; otherwise location
    name plus IP. Always prefixed by the province: ids and IP plans are per province.
    """
    if row.register_id:
        return f"{row.province}|id|{row.register_id}"
    if row.serial:
        return f"{row.province}|sn|{row.serial}"
    return f"{row.province}|loc|{_place(row.location)}|{row.ip}"
