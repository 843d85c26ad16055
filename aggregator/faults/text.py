"""What an alert says: what, where, since when and why, in Thai and English, with a link."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

from sqlite_utils import Database

from aggregator.days import BANGKOK
from aggregator.faults.model import Fault, FaultKind
from protocol import Alert, AlertAction, Reason

__all__ = [
    "REASON_TEXT",
    "Directory",
    "Place",
    "RegistryDirectory",
    "build_alert",
    "local_time",
    "summary",
]

# Plain words a technician understands, per reason code: (English, Thai).
REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.NONE: ("no reason given", "ไม่ระบุสาเหตุ"),
    Reason.UNREACHABLE: ("the camera does not answer on the network", "กล้องไม่ตอบสนองทางเครือข่าย"),
    Reason.AUTH_FAILED: (
        "the camera refuses the login (user name or password wrong)",
        "กล้องปฏิเสธการเข้าสู่ระบบ (ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง)",
    ),
    Reason.ONVIF_FAILED: ("the camera's ONVIF service fails", "บริการ ONVIF ของกล้องขัดข้อง"),
    Reason.STREAM_FAILED: ("the video stream does not open", "เปิดสตรีมวิดีโอไม่ได้"),
    Reason.NO_VIDEO: ("the picture is black or missing", "ไม่มีภาพหรือภาพเป็นสีดำ"),
    Reason.FROZEN: ("the picture is frozen", "ภาพค้าง ไม่เคลื่อนไหว"),
    Reason.BLURRED: ("the picture is blurred", "ภาพเบลอ ไม่ชัด"),
    Reason.OBSTRUCTED: ("the lens is covered or blocked", "เลนส์ถูกบังหรือมีสิ่งกีดขวาง"),
    Reason.SCENE_CHANGED: ("the camera was moved (the scene changed)", "กล้องถูกขยับ มุมภาพเปลี่ยนไป"),
    Reason.LOW_FPS: ("too few frames per second", "อัตราเฟรมต่ำเกินไป"),
    Reason.CLOCK_SKEW: ("the camera's clock is wrong", "นาฬิกาของกล้องไม่ตรง"),
    Reason.SITE_OFFLINE: (
        "the site stopped reporting (power or network lost)",
        "จุดติดตั้งหยุดรายงาน (ไฟฟ้าดับหรือเครือข่ายขัดข้อง)",
    ),
    Reason.MISSING: ("the camera is no longer found at the site", "ไม่พบกล้องที่จุดติดตั้งแล้ว"),
    Reason.PLANNED: ("planned maintenance", "งานบำรุงรักษาตามแผน"),
    Reason.NEVER_CONNECTED: (
        "the site was enrolled but has never come online",
        "จุดติดตั้งลงทะเบียนแล้วแต่ยังไม่เคยเชื่อมต่อ",
    ),
    Reason.NOT_RECORDING: (
        "the picture is live but the recorder has stopped recording it",
        "ภาพสดปกติ แต่เครื่องบันทึกหยุดบันทึกภาพ",
    ),
    Reason.RECORDING_GAP: ("the recording has a gap", "การบันทึกภาพขาดช่วง"),
    Reason.RETENTION_SHORT: (
        "the recorder keeps fewer days of footage than required",
        "เครื่องบันทึกเก็บภาพย้อนหลังได้น้อยกว่าที่กำหนด",
    ),
    Reason.STORAGE_FAULT: ("the recorder's disk has failed", "ฮาร์ดดิสก์ของเครื่องบันทึกขัดข้อง"),
    Reason.STORAGE_FULL: ("the recorder's disk is full", "ฮาร์ดดิสก์ของเครื่องบันทึกเต็ม"),
    Reason.NIGHT_BLACK: ("the picture is black at night (fine by day)", "ภาพมืดสนิทตอนกลางคืน (กลางวันปกติ)"),
    Reason.NIGHT_NO_IR: (
        "no picture at night, only noise (infrared light or IR-cut filter faulty)",
        "กลางคืนเห็นแต่สัญญาณรบกวน (ไฟอินฟราเรดหรือฟิลเตอร์ IR-cut เสีย)",
    ),
    Reason.LOW_BITRATE: ("the stream sends far less data than configured", "สตรีมส่งข้อมูลน้อยกว่าที่ตั้งไว้มาก"),
    Reason.RESOLUTION_CHANGED: (
        "the stream's resolution is not the configured one", "ความละเอียดของสตรีมไม่ตรงกับที่ตั้งไว้",
    ),
}

_KIND_TEXT: dict[FaultKind, tuple[str, str]] = {
    FaultKind.CAMERA: ("Camera fault", "กล้องขัดข้อง"),
    FaultKind.FLAPPING: ("Camera keeps failing and recovering", "กล้องติด ๆ ดับ ๆ"),
    FaultKind.SITE: ("Site offline", "จุดติดตั้งขาดการติดต่อ"),
    FaultKind.DISTRICT: ("Whole district offline", "ขาดการติดต่อทั้งอำเภอ"),
    FaultKind.PROVINCE: ("Whole province offline", "ขาดการติดต่อทั้งจังหวัด"),
    FaultKind.LINK: ("Province link down", "การเชื่อมต่อระดับจังหวัดขัดข้อง"),
    FaultKind.RECORDER: ("Recorder stopped recording", "เครื่องบันทึกหยุดบันทึกภาพ"),
    FaultKind.BROKER: ("National broker down", "โบรกเกอร์ MQTT ระดับประเทศขัดข้อง"),
}
# A broker fault's reason is ``unreachable`` like a camera's; its words say whose.
_BROKER_REASON = (
    "the aggregator cannot reach the broker (no MQTT answer)",
    "ศูนย์กลางเชื่อมต่อโบรกเกอร์ไม่ได้ (ไม่มีการตอบสนอง MQTT)",
)

_ACTION_TEXT: dict[AlertAction, tuple[str, str]] = {
    AlertAction.OPENED: ("NEW", "แจ้งใหม่"),
    AlertAction.REOPENED: ("AGAIN", "ขัดข้องซ้ำ"),
    AlertAction.ESCALATED: ("NOT ACKNOWLEDGED, ESCALATED", "ยังไม่มีผู้รับเรื่อง ส่งต่อผู้บังคับบัญชา"),
    AlertAction.ACKNOWLEDGED: ("ACKNOWLEDGED", "มีผู้รับเรื่องแล้ว"),
    AlertAction.RESOLVED: ("RESOLVED", "แก้ไขแล้ว"),
}


@dataclass(frozen=True, slots=True)
class Place:
    """Human names and position of a fault's place (codes when the registry lacks them)."""

    province_en: str
    province_th: str
    district_en: str
    district_th: str
    site_name: str = ""
    camera_name: str = ""
    lat: float | None = None
    lon: float | None = None


class Directory(Protocol):
    """Where names and positions come from (the registry, or codes only)."""

    def place(self, fault: Fault) -> Place: ...


class CodesDirectory:
    """Names are the codes themselves (no registry available)."""

    def place(self, fault: Fault) -> Place:
        district = fault.district or ""
        return Place(fault.province, fault.province, district, district)


class RegistryDirectory:
    """Names and positions from the core registry tables (provinces, districts, sites, cameras)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lookup = lru_cache(maxsize=65536)(self._lookup_uncached)

    def place(self, fault: Fault) -> Place:
        return self._lookup(fault.province, fault.district, fault.site, fault.camera_id)

    def districts(self, province: str) -> list[str]:
        """Every district of a province (a province-wide alert goes to each district's topic)."""
        try:
            rows = self._db.execute("SELECT code FROM districts WHERE province = ? ORDER BY code", [province])
            return [str(r[0]) for r in rows]
        except sqlite3.Error:  # registry tables absent: nowhere to publish but the caller's default
            return []

    def agency(self, site: str) -> str:
        """The site's owning agency from the registry ('' when unknown)."""
        row = self._one("SELECT agency FROM sites WHERE site_id = ?", [site])
        return str(row[0]) if row and row[0] else ""

    def sites_in_district(self, district: str) -> int:
        """How many sites the registry has in a district (0 when unknown)."""
        row = self._one("SELECT COUNT(*) FROM sites WHERE district = ?", [district])
        return int(row[0]) if row and isinstance(row[0], int) else 0

    def districts_in_province(self, province: str) -> int:
        """How many districts of a province have registered sites."""
        row = self._one("SELECT COUNT(DISTINCT district) FROM sites WHERE province = ?", [province])
        return int(row[0]) if row and isinstance(row[0], int) else 0

    def _one(self, sql: str, params: list[object]) -> tuple[object, ...] | None:
        try:
            row = self._db.execute(sql, params).fetchone()
        except sqlite3.Error:  # registry tables absent (faults used without core): codes only
            return None
        return tuple(row) if row else None

    def _lookup_uncached(
        self, province: str, district: str | None, site: str | None, camera: str | None
    ) -> Place:
        p = self._one("SELECT name_en, name_th FROM provinces WHERE code = ?", [province])
        d = self._one("SELECT name_en, name_th FROM districts WHERE code = ?", [district]) if district else None
        s = self._one("SELECT id, name, lat, lon FROM sites WHERE site_id = ?", [site]) if site else None
        c = (
            self._one("SELECT name, lat, lon FROM cameras WHERE site = ? AND camera_id = ?", [s[0], camera])
            if s and camera
            else None
        )
        lat = (c[1] if c and c[1] is not None else None) or (s[2] if s else None)
        lon = (c[2] if c and c[2] is not None else None) or (s[3] if s else None)
        return Place(
            province_en=str(p[0]) if p else province,
            province_th=str(p[1]) if p else province,
            district_en=str(d[0]) if d else (district or ""),
            district_th=str(d[1]) if d else (district or ""),
            site_name=str(s[1]) if s and s[1] else "",
            camera_name=str(c[0]) if c and c[0] else "",
            lat=float(lat) if isinstance(lat, int | float) else None,
            lon=float(lon) if isinstance(lon, int | float) else None,
        )


def local_time(at: datetime) -> str:
    """Bangkok wall-clock time, the way a technician reads it."""
    return at.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")


def _where(fault: Fault, place: Place, thai: bool) -> str:
    if fault.kind is FaultKind.BROKER:  # no place of the registry: the broker's host:port (never credentials)
        return f"โบรกเกอร์ {fault.broker}" if thai else f"broker {fault.broker}"
    parts = []
    if fault.camera_id:
        cam = place.camera_name or fault.camera_id
        parts.append(f"กล้อง {cam}" if thai else f"camera {cam}")
    if fault.site:
        site = place.site_name or fault.site
        parts.append(f"จุด {site} ({fault.site})" if thai else f"site {site} ({fault.site})")
    if fault.district:
        parts.append(f"อำเภอ{place.district_th}" if thai else f"district {place.district_en}")
    parts.append(f"จังหวัด{place.province_th}" if thai else f"province {place.province_en}")
    if fault.affected > 1:
        parts.append(f"{fault.affected} จุด" if thai else f"{fault.affected} sites")
    return ", ".join(parts)


def build_alert(
    fault: Fault, action: AlertAction, now: datetime, place: Place, url: str, extra: dict[str, object]
) -> Alert:
    """The protocol alert for one fault, its texts filled in Thai and English."""
    reason_en, reason_th = REASON_TEXT.get(fault.reason, (fault.reason.value, fault.reason.value))
    if fault.kind is FaultKind.BROKER:
        reason_en, reason_th = _BROKER_REASON
    kind_en, kind_th = _KIND_TEXT[fault.kind]
    act_en, act_th = _ACTION_TEXT[action]
    since = local_time(fault.opened_at)
    text_en = (
        f"[{act_en}] {kind_en}: {_where(fault, place, False)}. Since {since} (Bangkok time). "
        f"Reason: {reason_en}. Fault #{fault.id}."
    )
    text_th = (
        f"[{act_th}] {kind_th}: {_where(fault, place, True)} ตั้งแต่ {since} น. "
        f"สาเหตุ: {reason_th} เลขที่แจ้งเหตุ #{fault.id}"
    )
    return Alert(
        ts=now,
        fault_id=fault.id,
        action=action,
        fault_kind=fault.kind.value,
        province=fault.province,
        district=fault.district,
        site=fault.site,
        camera_id=fault.camera_id,
        state=fault.state,
        reason=fault.reason,
        since=fault.opened_at,
        text_en=text_en[:2000],
        text_th=text_th[:2000],
        url=url[:500],
        lat=place.lat,
        lon=place.lon,
        extra={**extra, "broker": fault.broker} if fault.broker else dict(extra),
    )


def summary(alerts: list[Alert], digest: bool) -> tuple[str, str, str]:
    """Subject, Thai body and English body for a notification of one or more alerts."""
    first = alerts[0]
    if len(alerts) == 1 and not digest:
        subject = f"camwatch: {first.text_en[:120]}"
        return subject, f"{first.text_th}\n{first.url}", f"{first.text_en}\n{first.url}"
    label_en = "Digest" if digest else "Grouped alert"
    label_th = "สรุปการแจ้งเตือน" if digest else "แจ้งเตือนรวม"
    where = first.site or first.district or first.province
    subject = f"camwatch: {label_en}: {len(alerts)} faults ({where})"
    shown = alerts[:50]
    more = len(alerts) - len(shown)
    th = [f"{label_th} {len(alerts)} รายการ"] + [f"- {a.text_th} {a.url}" for a in shown]
    en = [f"{label_en}: {len(alerts)} faults"] + [f"- {a.text_en} {a.url}" for a in shown]
    if more:
        th.append(f"... และอีก {more} รายการ")
        en.append(f"... and {more} more")
    return subject, "\n".join(th), "\n".join(en)
