// The operators' console time range (issue 15): now, 24 h, 7 d, 30 d or this (Bangkok) month,
// driving the nation page's range card, map and province table. Windowed province figures
// are the exact ones of /availability (a few requests at a time).
import { request } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export const RANGES = ["now", "24h", "7d", "30d", "month"];
const KEY = "camwatch.range";
const PARALLEL = 6;

export function savedRange() {
  const r = sessionStorage.getItem(KEY);
  return RANGES.includes(r) ? r : "now";
}

/** The /availability window parameters of a range (null for now). */
export function windowOf(range) {
  if (range === "24h") return { window: "last_24h" };
  if (range === "7d") return { window: "last_7d" };
  if (range === "30d") return { window: "last_30d" };
  if (range === "month") {
    const bangkok = new Date(Date.now() + 7 * 3600 * 1000);
    return { window: "month", month: bangkok.toISOString().slice(0, 7) };
  }
  return null;
}

export function rangePicker(current, onChange) {
  const buttons = RANGES.map((r) => h("button", { type: "button", dataset: { range: r }, "aria-pressed": String(r === current) }, t(`range.${r}`)));
  const root = h("div", { class: "range-picker", id: "range-picker", role: "group", "aria-label": t("range.label") },
    h("span", { class: "muted" }, t("range.label")), buttons);
  for (const b of buttons) {
    b.addEventListener("click", () => {
      for (const o of buttons) o.setAttribute("aria-pressed", String(o === b));
      sessionStorage.setItem(KEY, b.dataset.range);
      onChange(b.dataset.range);
    });
  }
  return root;
}

async function availability(level, key, w) {
  try {
    return await request("GET", "/api/v1/availability", { params: { level, key: key || undefined, ...w } });
  } catch (err) {
    if (err.status === 401) throw err;
    return null;
  }
}

/** {nation: {available, usable}, provinces: {code: {available, usable}}} over a range. */
export async function rangeFigures(range, codes) {
  const w = windowOf(range);
  if (!w) return null;
  const out = { nation: null, provinces: {} };
  const queue = [...codes];
  const one = async () => {
    while (queue.length) {
      const code = queue.shift();
      out.provinces[code] = await availability("province", code, w);
    }
  };
  const [nation] = await Promise.all([availability("nation", "", w), ...Array.from({ length: PARALLEL }, one)]);
  out.nation = nation;
  return out;
}
