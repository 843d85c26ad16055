// Thai and English strings of the dashboard. Place names come from the API (geothai), never from here.
import { AUDIT_STRINGS } from "./audit/strings.js"; // audit pages (issue 14)
import { PHONE_STRINGS } from "./phone/strings.js"; // phone layout, search, console, PWA (issue 15)
const STRINGS = {
  en: {
    "nav.nation": "Nation", "nav.faults": "Fault queue", "nav.reports": "Reports",
    "auth.signin": "Sign in", "auth.signout": "Sign out", "auth.token": "API token",
    "auth.help": "Paste the API token your administrator gave you. It is kept in this browser tab only.",
    "auth.bad": "This token was refused.",
    "feed.live": "live", "feed.connecting": "connecting", "feed.lost": "Live feed lost: figures may be out of date. Reconnecting…",
    "feed.lostShort": "feed lost",
    "asof": "Data as of",
    "level.nation": "Thailand", "level.province": "Province", "level.district": "District",
    "level.site": "Site", "level.camera": "Camera",
    "available": "Available", "usable": "Usable", "now": "now", "w.24h": "24 h", "w.7d": "7 days", "w.30d": "30 days",
    "cameras": "Cameras", "sites": "Sites", "districts": "Districts", "provinces": "Provinces",
    "openFaults": "Open faults", "perState": "Cameras per state",
    "state.up": "up", "state.degraded": "degraded", "state.down": "down", "state.unknown": "unknown",
    "state.maintenance": "maintenance",
    "state.maintenanceNote": "cameras under a planned maintenance window count as maintenance while it lasts, whatever they report; never as down",
    "state": "State", "reason": "Reason", "since": "Since", "name": "Name", "code": "Code", "id": "ID",
    "search": "Search", "allStates": "All states", "prev": "Previous", "next": "Next",
    "pageOf": "{from}–{to} of {total}", "noRows": "Nothing to show.",
    "map.title": "Availability by province (now)", "map.none": "no cameras",
    "map.source": "Boundaries: Natural Earth (public domain)",
    "camera.inventory": "Identity and inventory", "camera.days": "Availability, last 30 days",
    "camera.transitions": "Transitions", "camera.faults": "Faults", "camera.snapshot": "Last snapshot",
    "camera.noSnapshot": "No snapshot was requested.",
    "snapshot.request": "Request snapshot", "snapshot.waiting": "Waiting for the site…",
    "snapshot.taken": "Taken", "snapshot.timeout": "The site has not answered yet; try again later.",
    "snapshot.failed": "The site could not take a snapshot: {reason}",
    "snapshot.reason.unknown_camera": "the site does not know this camera",
    "snapshot.reason.rate_limited": "one snapshot per camera every 10 seconds",
    "snapshot.reason.busy": "the site is busy", "snapshot.reason.stream_failed": "the stream did not open",
    "snapshot.reason.no_video": "the stream sent no picture", "snapshot.reason.no_stream": "no stream address",
    "inv.maker": "Maker", "inv.model": "Model", "inv.firmware": "Firmware", "inv.serial": "Serial",
    "inv.mac": "MAC", "inv.address": "Address", "inv.stream": "Stream", "inv.resolution": "Resolution",
    "inv.codec": "Codec", "inv.firstSeen": "First seen", "inv.lastSeen": "Last seen",
    "at": "At", "from": "From", "to": "To", "historical": "replayed",
    "faults.title": "Open faults, oldest first", "faults.age": "Age", "faults.kind": "Kind",
    "faults.where": "Where", "faults.status": "Status", "faults.ack": "Acknowledge", "faults.resolve": "Resolve",
    "faults.note": "Note", "faults.noteNeeded": "Write what was done before resolving.", "faults.done": "Saved.", "faults.viewer": "Your role can view faults but not change them.",
    "faults.wontFix": "Close: won't fix", "faults.stillFailing": "Not resolved: the camera is not working yet. It resolves itself when it comes back up; otherwise close it as won't fix.",
    "faults.status.open": "open", "faults.status.acknowledged": "acknowledged", "faults.status.resolved": "resolved", "faults.status.wont_fix": "won't fix",
    "reports.title": "Committee report", "reports.month": "Month", "reports.scope": "Scope",
    "reports.show": "Show", "reports.csv": "Export CSV", "reports.print": "Printable page",
    "reports.historyFrom": "Per-camera history is kept from {day}: who was never seen this month can no longer be told (the area figures are complete).",
    "reports.pack": "Committee pack", "reports.packPdf": "Committee pack (PDF)",
    "error.load": "Could not load data", "error.forbidden": "Your role may not do this.",
    "reason.none": "", "reason.unreachable": "unreachable", "reason.auth_failed": "login refused",
    "reason.onvif_failed": "ONVIF failed", "reason.stream_failed": "stream failed", "reason.no_video": "no picture (black)",
    "reason.frozen": "frozen picture", "reason.blurred": "blurred", "reason.obstructed": "covered",
    "reason.scene_changed": "camera moved", "reason.low_fps": "too few frames", "reason.clock_skew": "clock wrong",
    "reason.site_offline": "site offline", "reason.missing": "missing", "reason.planned": "planned work",
    "kind.camera": "camera", "kind.site": "site", "kind.district": "district", "kind.province": "province",
    "kind.flapping": "flapping", "role.viewer": "viewer", "role.technician": "technician", "role.admin": "administrator",
    "role": "Role", "site.online": "online", "site.offline": "offline",
    // issue 15 (i15): the fault queue
    "queue.allProvinces": "All provinces", "queue.allKinds": "All kinds", "queue.anyone": "Taken on or not",
    "queue.notTaken": "Nobody yet", "queue.taken": "Taken on", "queue.mine": "Mine",
    "queue.changed": "The queue changed: {total} open faults now.", "queue.show": "Show the changes",
    "queue.takenBy": "taken on by {who}",
    // issue 15 (i15b): sites are places
    "site.never": "enrolled, never connected", "site.enrolled": "enrolled", "site.agency": "Agency",
    "site.address": "Address", "site.phone": "Phone", "site.directions": "Directions",
    "reason.never_connected": "never came online",
    "reason.not_recording": "not recording", "reason.recording_gap": "recording gap",
    "reason.retention_short": "retention short", "reason.storage_fault": "recorder disk fault",
    "reason.storage_full": "recorder disk full",
    "recording": "Recording", "recording.none": "No recording figures from this camera's agent",
    "recording.keptOf": "{kept} of {required} days kept", "recording.recorder": "Recorder",
    "recording.newest": "newest", "recording.oldest": "oldest", "recording.storage": "storage",
    "recording.status.ok": "ok", "recording.status.fault": "fault", "recording.status.full": "full",
    "kind.recorder": "recorder",
    "kind.link": "province link", "kind.broker": "national broker",
    "site.clockSkew": "The site gateway's clock is off by {offset} s: its live events are dated when the centre receives them.",
    // issue 16 (i16b): night vision, stream drift, change events, advisories
    "reason.night_black": "black at night", "reason.night_no_ir": "no night vision (IR)",
    "reason.low_bitrate": "bit rate too low", "reason.resolution_changed": "resolution changed",
    "changes.title": "Changes seen", "changes.none": "No change seen.",
    "change.serial": "camera replaced (serial)", "change.firmware": "firmware changed",
    "change.rebooted": "camera rebooted", "change.moved": "camera moved (scene changed)",
    "hygiene.advisory": "known exploited vulnerability",
  },
  th: {
    "nav.nation": "ภาพรวมประเทศ", "nav.faults": "คิวงานซ่อม", "nav.reports": "รายงาน",
    "auth.signin": "เข้าสู่ระบบ", "auth.signout": "ออกจากระบบ", "auth.token": "โทเคน API",
    "auth.help": "วางโทเคน API ที่ผู้ดูแลระบบให้ไว้ ระบบเก็บไว้ในแท็บนี้เท่านั้น",
    "auth.bad": "โทเคนนี้ถูกปฏิเสธ",
    "feed.live": "ข้อมูลสด", "feed.connecting": "กำลังเชื่อมต่อ",
    "feed.lost": "การเชื่อมต่อข้อมูลสดขาดหาย ตัวเลขอาจไม่เป็นปัจจุบัน กำลังเชื่อมต่อใหม่…",
    "feed.lostShort": "ข้อมูลสดขาดหาย",
    "asof": "ข้อมูล ณ",
    "level.nation": "ประเทศไทย", "level.province": "จังหวัด", "level.district": "อำเภอ",
    "level.site": "จุดติดตั้ง", "level.camera": "กล้อง",
    "available": "พร้อมใช้งาน", "usable": "ใช้งานได้จริง", "now": "ขณะนี้", "w.24h": "24 ชั่วโมง",
    "w.7d": "7 วัน", "w.30d": "30 วัน",
    "cameras": "กล้อง", "sites": "จุดติดตั้ง", "districts": "อำเภอ", "provinces": "จังหวัด",
    "openFaults": "เหตุขัดข้องที่ยังเปิดอยู่", "perState": "จำนวนกล้องตามสถานะ",
    "state.up": "ปกติ", "state.degraded": "ภาพผิดปกติ", "state.down": "ขัดข้อง", "state.unknown": "ไม่ทราบสถานะ",
    "state.maintenance": "ซ่อมบำรุง",
    "state.maintenanceNote": "กล้องที่อยู่ในช่วงซ่อมบำรุงตามแผนนับเป็นซ่อมบำรุงตลอดช่วงนั้น ไม่ว่ากล้องจะรายงานสถานะใด และไม่นับเป็นขัดข้อง",
    "state": "สถานะ", "reason": "สาเหตุ", "since": "ตั้งแต่", "name": "ชื่อ", "code": "รหัส", "id": "รหัส",
    "search": "ค้นหา", "allStates": "ทุกสถานะ", "prev": "ก่อนหน้า", "next": "ถัดไป",
    "pageOf": "{from}–{to} จาก {total}", "noRows": "ไม่มีข้อมูล",
    "map.title": "ความพร้อมใช้งานรายจังหวัด (ขณะนี้)", "map.none": "ไม่มีกล้อง",
    "map.source": "ขอบเขตจังหวัด: Natural Earth (สาธารณสมบัติ)",
    "camera.inventory": "ข้อมูลประจำตัวและอุปกรณ์", "camera.days": "ความพร้อมใช้งาน 30 วันล่าสุด",
    "camera.transitions": "การเปลี่ยนสถานะ", "camera.faults": "เหตุขัดข้อง", "camera.snapshot": "ภาพล่าสุด",
    "camera.noSnapshot": "ยังไม่มีการขอภาพ",
    "snapshot.request": "ขอภาพ", "snapshot.waiting": "กำลังรอภาพจากไซต์…",
    "snapshot.taken": "ถ่ายเมื่อ", "snapshot.timeout": "ไซต์ยังไม่ตอบ ลองใหม่ภายหลัง",
    "snapshot.failed": "ไซต์ถ่ายภาพไม่ได้: {reason}",
    "snapshot.reason.unknown_camera": "ไซต์ไม่รู้จักกล้องนี้",
    "snapshot.reason.rate_limited": "ขอภาพได้กล้องละหนึ่งครั้งทุก 10 วินาที",
    "snapshot.reason.busy": "ไซต์ไม่ว่าง", "snapshot.reason.stream_failed": "เปิดสตรีมไม่ได้",
    "snapshot.reason.no_video": "สตรีมไม่ส่งภาพ", "snapshot.reason.no_stream": "ไม่มีที่อยู่สตรีม",
    "inv.maker": "ผู้ผลิต", "inv.model": "รุ่น", "inv.firmware": "เฟิร์มแวร์", "inv.serial": "หมายเลขเครื่อง",
    "inv.mac": "MAC", "inv.address": "ที่อยู่", "inv.stream": "สตรีม", "inv.resolution": "ความละเอียด",
    "inv.codec": "โคเดก", "inv.firstSeen": "พบครั้งแรก", "inv.lastSeen": "พบล่าสุด",
    "at": "เวลา", "from": "จาก", "to": "เป็น", "historical": "ข้อมูลย้อนหลัง",
    "faults.title": "เหตุขัดข้องที่ยังเปิดอยู่ เรียงจากเก่าสุด", "faults.age": "เปิดมาแล้ว", "faults.kind": "ประเภท",
    "faults.where": "สถานที่", "faults.status": "สถานะงาน", "faults.ack": "รับเรื่อง", "faults.resolve": "ปิดงาน",
    "faults.note": "บันทึก", "faults.noteNeeded": "กรุณาบันทึกสิ่งที่ดำเนินการก่อนปิดงาน", "faults.done": "บันทึกแล้ว", "faults.viewer": "บทบาทของคุณดูได้อย่างเดียว แก้ไขไม่ได้",
    "faults.wontFix": "ปิดงาน: ไม่ซ่อม", "faults.stillFailing": "ยังปิดงานไม่ได้: กล้องยังใช้งานไม่ได้ งานจะปิดเองเมื่อกล้องกลับมาทำงาน หรือปิดงานแบบไม่ซ่อม",
    "faults.status.open": "เปิด", "faults.status.acknowledged": "รับเรื่องแล้ว", "faults.status.resolved": "ปิดแล้ว", "faults.status.wont_fix": "ไม่ซ่อม",
    "reports.title": "รายงานสำหรับคณะกรรมการ", "reports.month": "เดือน", "reports.scope": "ขอบเขต",
    "reports.show": "แสดง", "reports.csv": "ส่งออก CSV", "reports.print": "หน้าพิมพ์",
    "reports.historyFrom": "ประวัติรายกล้องเก็บไว้ตั้งแต่ {day}: เดือนนี้จึงบอกไม่ได้ว่ากล้องใดไม่เคยพบ (ตัวเลขรายพื้นที่ยังถูกต้องครบ)",
    "reports.pack": "ชุดรายงานคณะกรรมการ", "reports.packPdf": "ชุดรายงานคณะกรรมการ (PDF)",
    "error.load": "โหลดข้อมูลไม่สำเร็จ", "error.forbidden": "บทบาทของคุณไม่มีสิทธิ์ทำรายการนี้",
    "reason.none": "", "reason.unreachable": "ติดต่อไม่ได้", "reason.auth_failed": "รหัสผ่านไม่ถูกต้อง",
    "reason.onvif_failed": "ONVIF ผิดพลาด", "reason.stream_failed": "เปิดสตรีมไม่ได้", "reason.no_video": "ภาพดำ",
    "reason.frozen": "ภาพค้าง", "reason.blurred": "ภาพเบลอ", "reason.obstructed": "ถูกบัง",
    "reason.scene_changed": "กล้องถูกขยับ", "reason.low_fps": "เฟรมเรตต่ำ", "reason.clock_skew": "นาฬิกาคลาดเคลื่อน",
    "reason.site_offline": "จุดติดตั้งขาดการติดต่อ", "reason.missing": "ไม่พบกล้อง", "reason.planned": "ซ่อมบำรุงตามแผน",
    "kind.camera": "กล้อง", "kind.site": "จุดติดตั้ง", "kind.district": "อำเภอ", "kind.province": "จังหวัด",
    "kind.flapping": "สถานะแกว่ง", "role.viewer": "ผู้ดู", "role.technician": "ช่างเทคนิค", "role.admin": "ผู้ดูแลระบบ",
    "role": "บทบาท", "site.online": "ออนไลน์", "site.offline": "ออฟไลน์",
    // issue 15 (i15): the fault queue
    "queue.allProvinces": "ทุกจังหวัด", "queue.allKinds": "ทุกประเภท", "queue.anyone": "รับเรื่องแล้วหรือยังไม่รับ",
    "queue.notTaken": "ยังไม่มีผู้รับเรื่อง", "queue.taken": "รับเรื่องแล้ว", "queue.mine": "งานของฉัน",
    "queue.changed": "รายการเปลี่ยนแปลง ขณะนี้มีเหตุขัดข้องที่เปิดอยู่ {total} รายการ", "queue.show": "แสดงรายการใหม่",
    "queue.takenBy": "รับเรื่องโดย {who}",
    // issue 15 (i15b): sites are places
    "site.never": "ลงทะเบียนแล้ว ยังไม่เคยเชื่อมต่อ", "site.enrolled": "ลงทะเบียนเมื่อ", "site.agency": "หน่วยงาน",
    "site.address": "ที่อยู่", "site.phone": "โทรศัพท์", "site.directions": "นำทาง",
    "reason.never_connected": "ยังไม่เคยเชื่อมต่อ",
    "reason.not_recording": "ไม่บันทึกภาพ", "reason.recording_gap": "การบันทึกขาดช่วง",
    "reason.retention_short": "เก็บภาพย้อนหลังไม่ครบ", "reason.storage_fault": "ดิสก์เครื่องบันทึกขัดข้อง",
    "reason.storage_full": "ดิสก์เครื่องบันทึกเต็ม",
    "recording": "การบันทึก", "recording.none": "เอเจนต์ของกล้องนี้ไม่ได้ส่งข้อมูลการบันทึก",
    "recording.keptOf": "เก็บไว้ {kept} จาก {required} วัน", "recording.recorder": "เครื่องบันทึก",
    "recording.newest": "ล่าสุด", "recording.oldest": "เก่าสุด", "recording.storage": "ที่เก็บข้อมูล",
    "recording.status.ok": "ปกติ", "recording.status.fault": "ขัดข้อง", "recording.status.full": "เต็ม",
    "kind.recorder": "เครื่องบันทึก",
    "kind.link": "การเชื่อมต่อจังหวัด", "kind.broker": "โบรกเกอร์ระดับประเทศ",
    "site.clockSkew": "นาฬิกาของเกตเวย์จุดติดตั้งคลาดเคลื่อน {offset} วินาที: เหตุการณ์สดจะลงเวลาตามที่ศูนย์ได้รับ",
    // issue 16 (i16b): night vision, stream drift, change events, advisories
    "reason.night_black": "กลางคืนภาพมืด", "reason.night_no_ir": "กลางคืนไม่มีภาพ (อินฟราเรด)",
    "reason.low_bitrate": "บิตเรตต่ำ", "reason.resolution_changed": "ความละเอียดเปลี่ยน",
    "changes.title": "การเปลี่ยนแปลงที่พบ", "changes.none": "ไม่พบการเปลี่ยนแปลง",
    "change.serial": "เปลี่ยนกล้องใหม่ (หมายเลขเครื่อง)", "change.firmware": "เฟิร์มแวร์เปลี่ยน",
    "change.rebooted": "กล้องรีบูต", "change.moved": "กล้องถูกขยับ (มุมภาพเปลี่ยน)",
    "hygiene.advisory": "มีช่องโหว่ที่ถูกใช้โจมตีจริง",
  },
};

const KEY = "camwatch.lang";

export function lang() {
  const stored = localStorage.getItem(KEY);
  return stored === "en" || stored === "th" ? stored : "th";
}

export function setLang(value) {
  localStorage.setItem(KEY, value);
  document.documentElement.lang = value;
}

// --- audit pages (issue 14): their strings live in audit/strings.js ---
for (const code of ["en", "th"]) Object.assign(STRINGS[code], AUDIT_STRINGS[code]);
for (const code of ["en", "th"]) Object.assign(STRINGS[code], PHONE_STRINGS[code]); // issue 15
// --- end audit pages ---

/** Translate ``key``, filling {placeholders} from ``vars``. */
export function t(key, vars = {}) {
  const text = STRINGS[lang()][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** The name of a province/district/site in the current language (API rows carry name_th and name_en). */
export function placeName(row) {
  if (!row) return "";
  const th = row.name_th || row.province_name_th || "";
  const en = row.name_en || row.province_name_en || "";
  return (lang() === "th" ? th || en : en || th) || row.name || row.code || "";
}

/** A reason code in words (the code itself when it is new to this dashboard). */
export function reasonText(code) {
  if (!code || code === "none") return "";
  const key = `reason.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

export function fmtPct(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return `${(value * 100).toFixed(1)}%`;
}

export function fmtInt(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString(lang() === "th" ? "th-TH" : "en-GB");
}

export function fmtTime(value) {
  if (!value) return "–";
  const d = typeof value === "number" ? new Date(value) : new Date(value);
  return d.toLocaleString(lang() === "th" ? "th-TH" : "en-GB", { timeZone: "Asia/Bangkok", hour12: false });
}

export function fmtAge(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const u = lang() === "th" ? { d: " วัน", h: " ชม.", m: " นาที" } : { d: "d", h: "h", m: "m" };
  if (d) return `${d}${u.d} ${h}${u.h}`;
  if (h) return `${h}${u.h} ${m}${u.m}`;
  return `${m}${u.m}`;
}

/** Apply translations to every element with data-i18n under ``root``. */
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}
