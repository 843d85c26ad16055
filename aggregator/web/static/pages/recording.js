// Recording health on the dashboard (issue 16): the cameras list's recording cell and the
// camera page's recording line, a bar of kept footage against the required days.
import { h } from "../dom.js";
import { t, fmtTime } from "../i18n.js";

const RECORDING_REASONS = ["not_recording", "recording_gap", "retention_short", "storage_fault", "storage_full"];

function days(x) { return x === null || x === undefined ? "–" : `${Math.floor(x * 10) / 10}`; }

/** The cameras list's cell: kept / required days, marked when short or not recording. */
export function recordingCell(r) {
  const rec = r.recording;
  if (!rec) return h("span", { class: "muted" }, "–");
  const bad = RECORDING_REASONS.includes(r.reason) || rec.compliant === false;
  return h("span", { class: bad ? "rec rec-bad" : "rec", dataset: { compliant: String(rec.compliant) } },
    t("recording.keptOf", { kept: days(rec.kept_days), required: days(rec.required_days) }));
}

/** The camera page's recording line: recorder, newest and oldest footage, kept against required. */
export function recordingLine(c) {
  const rec = c.recording;
  if (!rec) return h("p", { id: "camera-recording", class: "muted" }, t("recording.none"));
  const need = rec.required_days || 0;
  const span = Math.max(need, rec.kept_days || 0, 1);
  const kept = Math.min(100, (100 * (rec.kept_days || 0)) / span);
  const mark = need ? (100 * need) / span : null;
  const bar = h("div", { class: "rec-bar", title: t("recording.keptOf", { kept: days(rec.kept_days), required: days(rec.required_days) }) },
    h("i", { class: rec.compliant === false ? "rec-kept rec-short" : "rec-kept", style: `width:${kept}%` }),
    mark !== null ? h("b", { class: "rec-need", style: `left:${mark}%` }) : "");
  const st = rec.storage;
  return h("div", { id: "camera-recording", dataset: { compliant: String(rec.compliant) } },
    h("p", {}, `${t("recording.recorder")} ${rec.recorder} · ${t("recording.newest")} `, rec.newest ? fmtTime(rec.newest) : "–",
      ` · ${t("recording.oldest")} `, rec.oldest ? fmtTime(rec.oldest) : "–"),
    bar,
    h("p", { class: "muted" }, t("recording.keptOf", { kept: days(rec.kept_days), required: days(rec.required_days) }),
      st ? ` · ${t("recording.storage")} ${t(`recording.status.${st.status}`)}${st.detail ? ` (${st.detail})` : ""}` : ""));
}
