// The operators' console time range (issue 15): now, 24 h, 7 d, 30 d or this (Bangkok) month,
// driving the nation page's range card, map and province table. Windowed province figures
// are the exact ones of /availability, every province in scope in one request
// (/availability/provinces).
import { request } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export const RANGES = ["now", "24h", "7d", "30d", "month"];
const KEY = "camwatch.range";

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

/** {nation: {available, usable} | null, provinces: {code: {available, usable}}} over a range. */
export async function rangeFigures(range) {
  const w = windowOf(range);
  if (!w) return null;
  try {
    const got = await request("GET", "/api/v1/availability/provinces", { params: w });
    return { nation: got.nation, provinces: got.provinces };
  } catch (err) {
    if (err.status === 401) throw err;
    return { nation: null, provinces: {} };
  }
}
