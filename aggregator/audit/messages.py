"""Why a register row (or an edit of a declared camera) was refused, in Thai and English.

A provincial officer reads these lines to fix the file, in the language of the dashboard or
the CLI's ``--lang``. A :class:`Problem` is a code plus the user's own values (as typed: a
Buddhist-era date stays Buddhist-era); :func:`render` writes it in one language. Checks raise
:class:`ProblemError` (a ``ValueError``, so pydantic validators can raise it too).

Usage::

    problem = Problem("status_unknown", {"value": "รอซ่อมใหญ่"})
    render(problem, "th")  # 'สถานะ 'รอซ่อมใหญ่' ไม่ใช่ ใช้งานได้/ชำรุด/รอซ่อม/ไม่ทราบ'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FIELD_NAMES", "Lang", "Problem", "ProblemError", "field_name", "render", "render_all"]

Lang = Literal["th", "en"]

# Column names as an officer knows them (the Thai register's own headers).
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "register_id": ("register_id", "รหัสกล้อง"),
    "province": ("province", "จังหวัด"),
    "district": ("district", "อำเภอ"),
    "agency": ("agency", "หน่วยงาน"),
    "location": ("location", "สถานที่ติดตั้ง"),
    "lat": ("latitude", "ละติจูด"),
    "lon": ("longitude", "ลองจิจูด"),
    "maker": ("maker", "ยี่ห้อ"),
    "model": ("model", "รุ่น"),
    "ip": ("ip", "ไอพี"),
    "mac": ("mac", "แมค"),
    "serial": ("serial", "หมายเลขเครื่อง"),
    "installed": ("installed", "วันที่ติดตั้ง"),
    "status": ("status", "สถานะ"),
    "site": ("site", "รหัสไซต์"),
    "name": ("name", "ชื่อ"),
    "kind": ("kind", "ประเภท"),
    "radius_m": ("radius_m", "รัศมี (เมตร)"),
    "required": ("required", "จำนวนกล้องที่ต้องมี"),
}

# code -> (English, Thai); {placeholders} are filled from Problem.values.
_TEMPLATES: dict[str, tuple[str, str]] = {
    "province_empty": ("province is empty", "ไม่ได้กรอกจังหวัด"),
    "province_unknown": ("unknown province {value!r}", "ไม่รู้จักจังหวัด {value!r}"),
    "district_empty": ("district is empty", "ไม่ได้กรอกอำเภอ"),
    "district_unknown": ("unknown district {value!r} in province {province}",
                         "ไม่พบอำเภอ {value!r} ในจังหวัด {province}"),
    "empty": ("{field} is empty", "ไม่ได้กรอก{field}"),
    "not_a_number": ("{field} {value!r} is not a number", "{field} {value!r} ไม่ใช่ตัวเลข"),
    "outside_thailand": ("coordinates {lat}, {lon} are outside Thailand",
                         "พิกัด {lat}, {lon} อยู่นอกประเทศไทย"),
    "swapped": ("coordinates {lat}, {lon} are outside Thailand (latitude and longitude swapped?)",
                "พิกัด {lat}, {lon} อยู่นอกประเทศไทย (สลับละติจูดกับลองจิจูดหรือไม่?)"),
    "other_province": ("coordinates {lat}, {lon} lie in province {other} ({other_en}), "
                       "not in {province} ({province_en})",
                       "พิกัด {lat}, {lon} อยู่ในจังหวัด{other_th} ({other}) "
                       "ไม่ใช่จังหวัด{province_th} ({province})"),
    "ip_malformed": ("IP address {value!r} is malformed", "หมายเลขไอพี {value!r} ไม่ถูกต้อง"),
    "mac_malformed": ("MAC address {value!r} is malformed", "หมายเลขแมค {value!r} ไม่ถูกต้อง"),
    "date_future": ("installation date {value} is in the future",
                    "วันที่ติดตั้ง {value} เป็นวันในอนาคต"),
    "date_not_date": ("date {value!r} is not a date", "{value!r} ไม่ใช่วันที่"),
    "date_month": ("date {value!r}: unknown month {month!r}",
                   "วันที่ {value!r}: ไม่รู้จักเดือน {month!r}"),
    "date_format": ("date {value!r} is not YYYY-MM-DD, DD/MM/YYYY or '1 ม.ค. 2562'",
                    "วันที่ {value!r} ไม่อยู่ในรูปแบบ วว/ดด/ปปปป, '1 ม.ค. 2562' หรือ YYYY-MM-DD"),
    "date_missing": ("date {value!r} does not exist: {error}", "ไม่มีวันที่ {value!r} ในปฏิทิน"),
    "status_unknown": ("status {value!r} is not one of working/broken/unknown (or Thai)",
                       "สถานะ {value!r} ไม่ใช่ ใช้งานได้/ชำรุด/รอซ่อม/ไม่ทราบ"),
    "invalid": ("{message}", "ค่า {value!r} ไม่ถูกต้อง ({message})"),
    "duplicate_key": ("duplicate of line {line} (same key {key})",
                      "ซ้ำกับบรรทัดที่ {line} (รหัสเดียวกัน {key})"),
    "duplicate_serial_line": ("serial {value} is already declared on line {line}",
                              "หมายเลขเครื่อง {value} ซ้ำกับบรรทัดที่ {line}"),
    "duplicate_serial_camera": ("serial {value} is already declared for camera {key}",
                                "หมายเลขเครื่อง {value} ซ้ำกับกล้อง {key}"),
    "out_of_scope": ("province {province} is outside the importer's provinces",
                     "จังหวัด {province} อยู่นอกจังหวัดที่ท่านรับผิดชอบ"),
    "risk_duplicate": ("duplicate of line {line} (same province, kind and name)",
                       "ซ้ำกับบรรทัดที่ {line} (จังหวัด ประเภท และชื่อเดียวกัน)"),
    "text": ("{text}", "{text}"),
    # Edits of a declared camera (not row problems: whole answers of the edit endpoint).
    "edit_conflict": ("This camera was changed by {by} at {at} after you opened it (it is now "
                      "version {current}; your form has version {given}). Nothing was saved: "
                      "reload the camera, check that change, then apply yours again.",
                      "กล้องนี้ถูกแก้ไขโดย {by} เมื่อ {at} หลังจากที่ท่านเปิดแบบฟอร์ม (ขณะนี้เป็นฉบับที่ "
                      "{current} แต่แบบฟอร์มของท่านเป็นฉบับที่ {given}) ระบบยังไม่ได้บันทึกการแก้ไขของท่าน "
                      "กรุณาโหลดข้อมูลกล้องใหม่ ตรวจสอบการแก้ไขนั้น แล้วแก้ไขอีกครั้ง"),
    "edit_no_version": ("Send the version you edited in an If-Match header (the ETag of the camera).",
                        "ต้องส่งฉบับของข้อมูลที่แก้ไขในส่วนหัว If-Match (ค่า ETag ของกล้อง)"),
    "edit_refused": ("Nothing was saved: {reasons}", "ระบบยังไม่ได้บันทึก: {reasons}"),
}


@dataclass(frozen=True)
class Problem:
    """One reason a value was refused: a code and the user's values that explain it."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)
    # The column it concerns (pydantic field errors are printed "field: reason").
    field: str = ""

    @classmethod
    def plain(cls, text: str) -> Problem:
        """A reason only known as English text (no Thai template)."""
        return cls("text", {"text": text})

    def as_dict(self) -> dict[str, Any]:
        """Plain data to store (render it later in any language)."""
        return {"code": self.code, "values": self.values, "field": self.field}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        """The inverse of :meth:`as_dict`."""
        return cls(str(data["code"]), dict(data.get("values") or {}), str(data.get("field") or ""))


class ProblemError(ValueError):
    """A check failed; ``str()`` is the English sentence (as before the Thai messages)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(render(problem, "en", with_field=False))
        self.problem = problem


def field_name(name: str, lang: Lang) -> str:
    """A column's name in ``lang`` (the canonical field name when unknown)."""
    pair = FIELD_NAMES.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "th" else name


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(problem: Problem, lang: Lang = "en", *, with_field: bool = True) -> str:
    """Write one problem as a sentence in ``lang``."""
    en, th = _TEMPLATES.get(problem.code, _TEMPLATES["text"])
    values = _Values(problem.values)
    if "field" in values:
        values["field"] = _label(str(values["field"]), lang)
    text = (th if lang == "th" else en).format_map(values)
    if with_field and problem.field:
        return f"{field_name(problem.field, lang)}: {text}"
    return text


def _label(name: str, lang: Lang) -> str:
    pair = FIELD_NAMES.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "th" else pair[0]


def render_all(problems: tuple[Problem, ...] | list[Problem], lang: Lang = "en") -> list[str]:
    """Every problem of a row, each as one sentence."""
    return [render(p, lang) for p in problems]
