"""The words of committee reports in Thai and English: reconciliation classes, fault ages, section titles.

A Thai report is entirely Thai: no raw key (``declared_but_broken``) reaches a reader. Every
key a report prints goes through :func:`label`; an unknown key is returned as it is (a new
class added by the audit shows up untranslated rather than breaking the report).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LABELS", "label"]

Lang = Literal["th", "en"]

LABELS: dict[str, tuple[str, str]] = {
    # reconciliation classes (aggregator.audit.reconcile.Class values)
    "verified": ("ตรงทะเบียนและใช้งานได้", "Verified (declared, working)"),
    "declared_but_broken": ("ตามทะเบียนแต่ชำรุด", "Declared but broken"),
    "unconfirmed": ("ตามทะเบียน ยังยืนยันสถานะไม่ได้", "Declared, not confirmed"),
    "ghost": ("มีในทะเบียนแต่ไม่พบจริง", "Declared, never seen (ghost)"),
    "unregistered": ("พบจริงแต่ไม่มีในทะเบียน", "Seen, not declared"),
    "moved": ("ย้ายตำแหน่ง", "Moved"),
    "replaced": ("เปลี่ยนตัวกล้อง", "Replaced"),
    # fault age buckets (aggregator.reports.repairs.AGE_BUCKETS)
    "lt_1d": ("น้อยกว่า 1 วัน", "Under 1 day"),
    "1_7d": ("1–7 วัน", "1–7 days"),
    "7_30d": ("7–30 วัน", "7–30 days"),
    "gt_30d": ("มากกว่า 30 วัน", "Over 30 days"),
    # the figure a target is set on
    "usable": ("ใช้งานได้จริง", "Usable"),
    "available": ("พร้อมใช้งาน", "Available"),
    # risk point kinds (aggregator.audit.risk.RiskKind values)
    "accident": ("จุดเสี่ยงอุบัติเหตุ", "Accident black spot"),
    "crime": ("จุดเสี่ยงอาชญากรรม", "Crime hotspot"),
    "border": ("จุดผ่านแดน", "Border point"),
    "other": ("อื่น ๆ", "Other"),
    # pack sections (aggregator.reports.pack.SECTIONS): titles
    "section.summary": ("สรุปผลรายพื้นที่", "Summary by area"),
    "section.worst": ("จุดติดตั้งที่พร้อมใช้งานต่ำสุด", "Worst sites"),
    "section.ranking": ("ผลเทียบกับเป้าหมาย", "Against target"),
    "section.comparison": ("เปรียบเทียบกับเดือนก่อน", "Month on month"),
    "section.daily": ("ความพร้อมใช้งานรายวัน", "Availability by day"),
    "section.ageing": ("อายุเหตุขัดข้องที่ยังไม่แก้ไข", "Open fault ageing"),
    "section.mttr": ("เวลาซ่อมแซม", "Time to repair"),
    "section.repairs": ("ความคืบหน้าการซ่อมและค่าใช้จ่าย", "Repair progress and spend"),
    "section.plan": ("แผนการซ่อมรายจังหวัด", "Repair plan by province"),
    "section.audit": ("ผลการตรวจสอบทะเบียนกล้องรายพื้นที่", "Register audit by area"),
    "section.completeness": ("ความครบถ้วนของทะเบียนและการรับรอง", "Audit completeness and certification"),
    "section.risk": ("จุดเสี่ยงที่ยังไม่มีกล้องใช้งานได้", "Uncovered risk points"),
    "section.recording": ("การบันทึกภาพและการเก็บภาพย้อนหลัง", "Recording and retention"),
    "section.advisories": ("ช่องโหว่เฟิร์มแวร์ที่ประกาศแล้ว", "Firmware advisories"),
    "section.signoff": ("การรับรองรายงาน", "Sign-off"),
    # pack words
    "pack.title": ("รายงานผลการดำเนินงานกล้อง CCTV ต่อคณะกรรมการ", "CCTV committee report"),
    "area": ("พื้นที่", "Area"),
    "rank": ("อันดับ", "Rank"),
    "cameras": ("กล้อง", "Cameras"),
    "target": ("เป้าหมาย", "Target"),
    "gap": ("ส่วนต่าง (จุด)", "Gap (points)"),
    "meets": ("ผ่านเป้าหมาย", "Meets target"),
    "yes": ("ผ่าน", "Yes"),
    "no": ("ไม่ผ่าน", "No"),
    "met_summary": ("ผ่านเป้าหมาย {met} พื้นที่ · ไม่ผ่าน {missed} · ไม่มีข้อมูล {no_data}",
                    "{met} areas meet the target · {missed} do not · {no_data} without data"),
    "this_month": ("เดือนนี้", "This month"),
    "last_month": ("เดือนก่อน", "Last month"),
    "change": ("เปลี่ยนแปลง (จุด)", "Change (points)"),
    "faults_opened": ("เหตุขัดข้องใหม่", "Faults opened"),
    "open_faults": ("เหตุขัดข้องที่ยังเปิดอยู่", "Open faults"),
    "open_at": ("ณ", "at"),
    "resolved": ("แก้ไขแล้ว", "Resolved"),
    "mean_h": ("เฉลี่ย (ชม.)", "Mean (h)"),
    "median_h": ("มัธยฐาน (ชม.)", "Median (h)"),
    "opened": ("เกิดใหม่", "Opened"),
    "wont_fix": ("ปิดโดยไม่ซ่อม", "Closed, won't fix"),
    "with_parts": ("บันทึกอะไหล่", "Parts recorded"),
    "cost": ("ค่าใช้จ่าย (บาท)", "Cost (THB)"),
    "parts_used": ("อะไหล่ที่ใช้บ่อย", "Parts used most"),
    "times": ("ครั้ง", "times"),
    "declared": ("กล้องตามทะเบียน", "Declared"),
    "verified_share": ("สัดส่วนที่พบว่าใช้งานได้", "Share seen working"),
    "risk_points": ("จุดเสี่ยงทั้งหมด", "Risk points"),
    "uncovered_total": ("จุดเสี่ยงที่ยังไม่ครอบคลุม", "Uncovered risk points"),
    "point": ("จุดเสี่ยง", "Point"),
    "kind": ("ประเภท", "Kind"),
    "province": ("จังหวัด", "Province"),
    "usable_now": ("ใช้งานได้ขณะนี้", "Usable now"),
    "usable_30d": ("ใช้งานได้ 30 วัน", "Usable over 30 days"),
    "none": ("ไม่มี", "None"),
    "prepared": ("ผู้จัดทำ", "Prepared by"),
    "checked": ("ผู้ตรวจสอบ", "Checked by"),
    "approved": ("ผู้อนุมัติ", "Approved by"),
    "signature": ("ลงชื่อ", "Signature"),
    "position": ("ตำแหน่ง", "Position"),
    "date": ("วันที่", "Date"),
    "period": ("ช่วงเวลา", "Period"),
    "generated": ("จัดทำเมื่อ", "Generated"),
    "day": ("วันที่", "Day"),
    # repair plan (aggregator.reports.plan_pack; PlanTotals fields)
    "rows": ("รายการในแผน", "Plan lines"),
    "open": ("ยังต้องซ่อม", "Open"),
    "planned": ("จังหวัดกรอกแผนแล้ว", "Planned"),
    "planned_cost_baht": ("งบประมาณตามแผน (บาท)", "Planned cost (THB)"),
    "done": ("ซ่อมเสร็จ", "Done"),
    "done_share": ("ความคืบหน้าของแผน", "Plan progress"),
    "spent_baht": ("ใช้จ่ายจริงในเดือน (บาท)", "Spent in the month (THB)"),
    "resolved_with_cost": ("ซ่อมที่บันทึกค่าใช้จ่าย", "Repairs with cost"),
    "plan.note": ("สถานะแผน ณ วันที่จัดทำรายงาน; ค่าใช้จ่ายจริงนับเฉพาะเหตุขัดข้องของกล้องที่ซ่อมเสร็จในเดือนนี้",
                  "The plan as it stands when the pack was made; money spent counts camera faults resolved "
                  "in the month"),
    # completeness and certification (aggregator.reports.completeness_pack)
    "position_share": ("มีพิกัด", "With position"),
    "serial_share": ("มีหมายเลขเครื่อง", "With serial"),
    "agency_share": ("มีหน่วยงานเจ้าของ", "With agency"),
    "status_share": ("มีสถานะ", "With status"),
    "score": ("ความครบถ้วน", "Completeness"),
    "agent_verified_share": ("ยืนยันโดยเอเจนต์", "Verified by an agent"),
    "ghosts": ("ไม่พบจริง", "Ghosts"),
    "unregistered_n": ("ไม่มีในทะเบียน", "Unregistered"),
    "certified_by": ("ผู้รับรอง", "Certified by"),
    "certified_at": ("วันที่รับรอง", "Certified on"),
    "changed_since": ("เปลี่ยนแปลงหลังรับรอง", "Changed since certification"),
    "changed.yes": ("เปลี่ยนแปลง", "Yes"),
    "changed.no": ("ไม่เปลี่ยนแปลง", "No"),
    "not_certified": ("ยังไม่รับรอง", "Not certified"),
    "no_register": ("ยังไม่ส่งทะเบียน", "No register yet"),
    "certified_summary": ("ส่งทะเบียนแล้ว {registers} จังหวัด · รับรองแล้ว {certified} · เปลี่ยนแปลงหลังรับรอง {changed}",
                          "{registers} provinces sent a register · {certified} certified · {changed} changed since"),
    # recording and retention (aggregator.reports.recording_pack; ProvinceRetention fields)
    "rec.cameras": ("กล้องที่มีข้อมูลการบันทึก", "Cameras with recording figures"),
    "rec.compliant": ("เก็บครบตามกำหนด", "Compliant with required retention"),
    "rec.short": ("เก็บไม่ครบ", "Kept too short"),
    "rec.not_recording": ("ไม่บันทึกภาพขณะนี้", "Not recording now"),
    "rec.storage": ("ที่เก็บข้อมูลขัดข้องหรือเต็ม", "Storage fault or full"),
    "rec.share": ("สัดส่วนที่เก็บครบ", "Compliant share"),
    "rec.note": ("ข้อมูลล่าสุดที่เอเจนต์ส่ง ณ วันที่จัดทำรายงาน นับเฉพาะกล้องที่เอเจนต์ส่งข้อมูลการบันทึก · "
                 "เก็บครบ = เก็บภาพย้อนหลังได้อย่างน้อยตามจำนวนวันที่กำหนด",
                 "The agents' latest figures when the pack was made, for cameras whose agent reports recording "
                 "figures only · compliant = footage kept for at least the required days"),
    "rec.none": ("ยังไม่มีเอเจนต์ใดส่งข้อมูลการบันทึกภาพ", "No agent reports recording figures yet"),
    # firmware advisories (aggregator.reports.advisories_pack; advisory_counts)
    "adv.cameras": ("กล้องที่ตรงกับประกาศช่องโหว่", "Cameras matching an advisory"),
    "adv.kev": ("ในจำนวนนี้ อยู่ในรายการ CISA KEV", "Of which on CISA KEV"),
    "adv.cve": ("ช่องโหว่ (CVE)", "Vulnerability (CVE)"),
    "adv.on_kev": ("ถูกใช้โจมตีจริง (CISA KEV)", "On CISA KEV (exploited)"),
    "adv.title": ("รายละเอียด", "Advisory"),
    "adv.note": ("ข้อเท็จจริงเพื่อการตรวจสอบ ณ วันที่จัดทำรายงาน: กล้องที่ยี่ห้อ รุ่น และเฟิร์มแวร์ตรงกับประกาศช่องโหว่ "
                 "(รายการ{origin} {listed} รายการ) ระบบไม่ดำเนินการใด ๆ กับกล้องโดยอัตโนมัติ",
                 "A fact for the audit when the pack was made: cameras whose maker, model and firmware match a "
                 "published advisory (the {origin} list of {listed} advisories); nothing is done to a camera "
                 "automatically"),
    "adv.shipped": ("ที่มากับระบบ", "shipped"),
    "adv.imported": ("ที่ผู้ดูแลนำเข้า", "imported"),
    "adv.none": ("ไม่มีกล้องที่ตรงกับประกาศช่องโหว่", "No camera matches an advisory"),
    "kev.yes": ("ใช่", "Yes"),
    "kev.no": ("ไม่ใช่", "No"),
}


def label(key: str, lang: Lang) -> str:
    """The words for ``key`` in ``lang`` (the key itself when it has none)."""
    words = LABELS.get(key)
    if words is None:
        return key
    return words[0] if lang == "th" else words[1]
