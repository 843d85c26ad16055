// New area faults for operators (issue 15): when a site, district or province fault opens in
// the operator's provinces (the API answers only those), the header says "N new since you last
// looked" (a link to the queue; opening it marks them seen) and, if the operator opted in, the
// browser plays a short tone and shows a notification. Checked on live feed activity (at most
// every 2 s) and every 30 s; "last looked" is kept per user in this browser.
import { request, token } from "../api.js";
import { h } from "../dom.js";
import { t, fmtInt } from "../i18n.js";
import { session } from "../session.js";

const AREA_KINDS = ["site", "district", "province"];
const OPT_KEY = "camwatch.alerts.on";
const MIN_GAP_MS = 2000;
const POLL_MS = 30000;
let lastCheck = 0;
let checking = false;
let audio = null;
const notified = new Set();

const seenKey = () => `camwatch.alerts.seen.${(session.me && session.me.name) || ""}`;
const optedIn = () => localStorage.getItem(OPT_KEY) === "1";

function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch { /* no audio on this device */ }
}

function notify(f) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    new Notification(t("alerts.title", { kind: t(`kind.${f.kind}`) }), {
      body: [f.site, f.district, f.province].filter(Boolean).join(" · "), tag: `camwatch-fault-${f.id}`,
    });
  } catch { /* a page cannot always construct notifications (mobile: service worker only) */ }
}

async function check() {
  if (checking || !token.get() || !session.me) return;
  checking = true;
  lastCheck = Date.now();
  try {
    let since = localStorage.getItem(seenKey());
    if (!since) { since = new Date().toISOString(); localStorage.setItem(seenKey(), since); }
    let total = 0;
    const fresh = [];
    for (const kind of AREA_KINDS) {
      const res = await request("GET", "/api/v1/faults", { params: { active: true, kind, opened_from: since, sort: "-opened_at", limit: 20 }, withTotal: true });
      total += res.total;
      for (const f of res.items) if (!notified.has(f.id)) { notified.add(f.id); fresh.push(f); }
    }
    const badge = document.getElementById("new-since");
    if (badge) {
      badge.hidden = total === 0;
      badge.textContent = t("alerts.newSince", { n: fmtInt(total) });
      badge.dataset.count = String(total);
    }
    if (fresh.length && optedIn()) {
      beep();
      for (const f of fresh.slice(0, 3)) notify(f);
      if (badge) badge.dataset.alerted = String(Number(badge.dataset.alerted || 0) + fresh.length);
    }
  } catch { /* offline or refused: try again later */ } finally {
    checking = false;
  }
}

function markSeen() {
  localStorage.setItem(seenKey(), new Date().toISOString());
  const badge = document.getElementById("new-since");
  if (badge) { badge.hidden = true; badge.dataset.count = "0"; }
}

export function installAlerts() {
  const who = document.getElementById("who");
  if (!who || document.getElementById("alerts-opt")) return;
  const box = h("input", { type: "checkbox", id: "alerts-opt" });
  box.checked = optedIn();
  const label = h("label", { class: "alerts-opt", for: "alerts-opt", dataset: { short: t("alerts.short") } }, box,
    h("span", { "data-i18n": "alerts.opt" }, t("alerts.opt")));
  document.getElementById("lang")?.addEventListener("click", () => { label.dataset.short = t("alerts.short"); });
  const badge = h("a", { id: "new-since", href: "#/faults", hidden: true, onclick: markSeen });
  box.addEventListener("change", async () => {
    localStorage.setItem(OPT_KEY, box.checked ? "1" : "0");
    if (!box.checked) return;
    audio = audio || (typeof AudioContext === "undefined" ? null : new AudioContext()); // created on the click: allowed to play
    if ("Notification" in window && Notification.permission === "default") {
      const answer = await Notification.requestPermission();
      if (answer === "denied") label.title = t("alerts.denied");
    }
  });
  who.before(badge, label);
  setInterval(() => check(), POLL_MS);
}

/** Every live feed event: check again, at most every few seconds. */
export function alertsOnFeed() {
  if (Date.now() - lastCheck >= MIN_GAP_MS) check();
  else setTimeout(() => { if (Date.now() - lastCheck >= MIN_GAP_MS) check(); }, MIN_GAP_MS);
}

export const checkAlerts = check;
