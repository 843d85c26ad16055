// The fault queue's phone tools (issue 15): "near me" (the browser's position; the API orders
// the queue nearest site first) and "my faults", and the last loaded queue kept for the
// offline shell (pwa/offline.js), cleared at sign-out.
import { h } from "../dom.js";
import { t } from "../i18n.js";

export const LAST_QUEUE_KEY = "camwatch.lastQueue";
const LAST_QUEUE_MAX = 50;
const GEO_TIMEOUT_MS = 15000;

/** {params(), tools(root)}: the near-me state and its buttons. */
export function nearMe(refresh, fail) {
  let here = null;
  const button = h("button", { type: "button", id: "near-me", "aria-pressed": "false" }, t("phone.nearMe"));
  button.addEventListener("click", () => {
    if (here) { here = null; button.setAttribute("aria-pressed", "false"); refresh(); return; }
    if (!navigator.geolocation) { fail(t("phone.noGeo")); return; }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      button.disabled = false;
      here = { near_lat: pos.coords.latitude.toFixed(5), near_lon: pos.coords.longitude.toFixed(5) };
      button.setAttribute("aria-pressed", "true");
      refresh();
    }, (err) => { button.disabled = false; fail(`${t("phone.noGeo")} (${err.message})`); },
    { enableHighAccuracy: false, timeout: GEO_TIMEOUT_MS, maximumAge: 60000 });
  });
  const mine = h("button", { type: "button", id: "my-faults" }, t("phone.myFaults"));
  return {
    params: () => here || {},
    tools: (root) => {
      mine.addEventListener("click", () => {
        const sel = root.querySelector("select[name=taken]");
        if (!sel) return;
        sel.value = sel.value === "mine" ? "" : "mine";
        sel.dispatchEvent(new Event("change"));
      });
      return h("div", { class: "tools phone-tools" }, mine, button);
    },
  };
}

/** Keep the page of the queue just drawn, for the offline shell. */
export function saveLastQueue(rows, total, names) {
  try {
    const items = rows.slice(0, LAST_QUEUE_MAX);
    const used = Object.fromEntries(items.map((f) => [f.province, names[f.province] || f.province]));
    localStorage.setItem(LAST_QUEUE_KEY, JSON.stringify({ at: Date.now(), total, items, names: used }));
  } catch { /* storage full or refused: the offline shell shows nothing */ }
}

export function lastQueue() {
  try { return JSON.parse(localStorage.getItem(LAST_QUEUE_KEY) || "null"); } catch { return null; }
}

export function forgetLastQueue() { localStorage.removeItem(LAST_QUEUE_KEY); }
