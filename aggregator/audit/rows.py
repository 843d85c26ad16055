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

from aggregator.audit.province_check import wrong_province
from aggregator.audit.spatial import THAILAND_BOUNDS

__all__ = [
    "FIELDS",
    "HEADER_ALIASES",
    "REQUIRED_FIELDS",
    "DeclaredStatus",
    "RegisterRow",
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
                            "ชำรุด", "ใช้งานไม่ได้", "ใช้การไม่ได้", "เสีย", "เสียหาย", "ไม่ปกติ"),
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
        raise ValueError(f"{what} {text!r} is not a number") from err


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
            raise ValueError(f"date {value!r} is not a date")
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
            raise ValueError(f"date {text!r}: unknown month {m[2]!r}")
        d, mo, y = int(m[1]), _THAI_MONTHS[m[2]], int(m[3])
    else:
        raise ValueError(f"date {text!r} is not YYYY-MM-DD, DD/MM/YYYY or '1 ม.ค. 2562'")
    try:
        return date(_year(y), mo, d)
    except ValueError as err:
        raise ValueError(f"date {text!r} does not exist: {err}") from err


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
        raise ValueError(f"IP address {text!r} is malformed") from err


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
            raise ValueError(f"MAC address {_text(value)!r} is malformed")
        return ":".join(text[i:i + 2] for i in range(0, 12, 2))

    @field_validator("serial", mode="before")
    @classmethod
    def _serial(cls, value: Any) -> str:
        return _text(value).upper()

    @field_validator("installed", mode="before")
    @classmethod
    def _installed(cls, value: Any) -> date | None:
        found = parse_date(value)
        if found is not None and found > date.today():
            raise ValueError(f"installation date {found.isoformat()} is in the future")
        return found

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> DeclaredStatus:
        text = _text(value)
        found = _STATUS_WORDS.get(normalize_header(text))
        if found is None:
            raise ValueError(f"status {text!r} is not one of working/broken/unknown (or Thai)")
        return found


def position_problem(province: str, lat: float, lon: float) -> str | None:
    """Say what is wrong with a position declared in ``province``: outside Thailand, or
    clearly inside another province; None when it is plausible."""
    return _check_position(lat, lon) or _check_province(province, lat, lon)


def _check_position(lat: float, lon: float) -> str | None:
    if THAILAND_BOUNDS.contains(lat, lon):
        return None
    if THAILAND_BOUNDS.contains(lon, lat):
        return f"coordinates {lat}, {lon} are outside Thailand (latitude and longitude swapped?)"
    return f"coordinates {lat}, {lon} are outside Thailand"


def _check_province(province: str, lat: float, lon: float) -> str | None:
    other = wrong_province(province, lat, lon)
    if other is None:
        return None
    found, declared = geothai.province(other), geothai.province(province)
    return (f"coordinates {lat}, {lon} lie in province {other} "
            f"({found.name_en if found else '?'}), not in {province} "
            f"({declared.name_en if declared else '?'})")


# Stand-ins for fields already found wrong, so the model still reports every other problem.
_PLACEHOLDERS: dict[str, Any] = {"province": "10", "district": "1001", "lat": 13.75, "lon": 100.5,
                                 "location": "?"}


def parse_row(raw: Mapping[str, Any]) -> tuple[RegisterRow | None, list[str]]:
    """Validate one raw row (canonical field -> cell); return the row or the reasons it fails."""
    errors: list[str] = []
    failed: set[str] = set()
    values: dict[str, Any] = {f: _text(raw.get(f)) for f in FIELDS if f not in ("installed", "lat", "lon")}
    values["installed"] = raw.get("installed")
    province_text = values["province"]
    province = resolve_province(province_text) if province_text else None
    if province is None:
        errors.append(f"unknown province {province_text!r}" if province_text else "province is empty")
        failed.update(("province", "district"))
    else:
        values["province"] = province
        district_text = values["district"]
        district = resolve_district(province, district_text) if district_text else None
        if district is None:
            errors.append(f"unknown district {district_text!r} in province {province}"
                          if district_text else "district is empty")
            failed.add("district")
        else:
            values["district"] = district
    for axis, label in (("lat", "latitude"), ("lon", "longitude")):
        cell = raw.get(axis)
        if cell is None or _text(cell) == "":
            errors.append(f"{label} is empty")
            failed.add(axis)
            continue
        try:
            values[axis] = parse_coordinate(cell, label)
        except ValueError as err:
            errors.append(str(err))
            failed.add(axis)
    if "lat" not in failed and "lon" not in failed:
        where = _check_position(values["lat"], values["lon"])
        if where is None and province is not None:
            where = _check_province(province, values["lat"], values["lon"])
        if where:
            errors.append(where)
            failed.update(("lat", "lon"))
    if not values["location"]:
        errors.append("location is empty")
        failed.add("location")
    for name in failed:
        values[name] = _PLACEHOLDERS[name]
    try:
        row = RegisterRow.model_validate(values)
    except ValidationError as err:
        for item in err.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in item["loc"])
            errors.append(f"{field}: {item['msg'].removeprefix('Value error, ')}")
        return None, errors
    return (None, errors) if errors else (row, [])


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
