// The dashboard shell: sign-in, language switch, hash routes, live feed, "data as of".
import { api, token, listeners, ApiError } from "./api.js";
import { Feed } from "./feed.js";
import { h, clear } from "./dom.js";
import { t, lang, setLang, translate, fmtTime } from "./i18n.js";
import * as nation from "./pages/nation.js";
import * as area from "./pages/area.js";
import * as camera from "./pages/camera.js";
import * as faults from "./pages/faults.js";
import * as reports from "./pages/reports.js";
import { session } from "./session.js";
import { AUDIT_ROUTES } from "./audit/routes.js"; // audit pages (issue 14)
import { PHONE_ROUTES, installPhone, isOffline, renderOffline, forgetLastQueue, alertsOnFeed, checkAlerts } from "./phone/shell.js"; // issue 15

// Re-read the page's figures at most this often when the feed reports changes, so a burst of
// thousands of transitions costs one refresh, not thousands.
const REFRESH_MIN_INTERVAL_MS = 2000;

const ROUTES = [
  [/^#\/nation$/, (m) => nation.render(m)],
  [/^#\/province\/(\d{2})$/, (m, p) => area.renderProvince(m, p[1])],
  [/^#\/district\/(\d{4})$/, (m, p) => area.renderDistrict(m, p[1])],
  [/^#\/site\/([^/]+)$/, (m, p) => area.renderSite(m, decodeURIComponent(p[1]))],
  [/^#\/camera\/([^/]+)\/([^/]+)$/, (m, p) => camera.render(m, decodeURIComponent(p[1]), decodeURIComponent(p[2]))],
  [/^#\/faults$/, (m) => faults.render(m)],
  [/^#\/reports$/, (m) => reports.render(m)],
  ...AUDIT_ROUTES, // audit pages (issue 14)
  ...PHONE_ROUTES, // issue 15
];

let page = null;
let feed = null;
let refreshTimer = null;
let routeSeq = 0;
let lastRefresh = 0;

function setAsOf(when) {
  const el = document.getElementById("asof");
  el.textContent = `${t("asof")} ${fmtTime(when)}`;
  el.dataset.asof = new Date(when).toISOString();
}

function setFeedStatus(state) {
  const el = document.getElementById("feed-status");
  el.dataset.state = state;
  el.textContent = t(state === "live" ? "feed.live" : state === "lost" ? "feed.lostShort" : "feed.connecting");
  document.getElementById("feed-lost").hidden = state !== "lost";
}

function onFeedEvent(evt) {
  // While the feed is live, every message (keep-alives too) says the figures are current now.
  // An event's own time is not used: a replayed transition can be days old.
  setAsOf(Date.now());
  if (evt.type === "keepalive") return;
  alertsOnFeed(); // issue 15: new area faults
  if (!page || !page.onFeed) return;
  if (page.onFeedNow) page.onFeedNow(evt);
  const wait = Math.max(0, lastRefresh + (page.refreshMs || REFRESH_MIN_INTERVAL_MS) - Date.now());
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    lastRefresh = Date.now();
    if (page && page.onFeed) Promise.resolve(page.onFeed(evt)).catch((err) => console.warn("camwatch refresh:", err.message));
  }, wait);
}

async function route() {
  const main = document.getElementById("main");
  if (!token.get()) { routeSeq++; showSignIn(main); return; }
  if (!session.me) {
    try { await loadMe(); } catch (err) { if (isOffline(err)) { routeSeq++; renderOffline(main); } return; }
  }
  let hash = location.hash || "#/nation";
  // A token scoped to some provinces may not read the national summary: start at its province.
  const scoped = session.me.provinces && session.me.provinces.length;
  if (scoped && hash === "#/nation") {
    hash = `#/province/${session.me.provinces[0]}`;
    history.replaceState(null, "", hash);
  }
  for (const [re, fn] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    // Each route draws into its own element, shown only if it is still the latest route when
    // its data arrives (a quick second click must not stack two pages).
    const seq = ++routeSeq;
    if (page && page.dispose) page.dispose();
    page = null;
    const view = h("div", { class: "view", dataset: { route: hash } });
    let next = null;
    try {
      next = (await fn(view, m)) || null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      if (isOffline(err)) { if (seq === routeSeq) renderOffline(main); return; } // issue 15
      view.append(h("p", { class: "error" }, `${t("error.load")}: ${err.message}`));
    }
    if (seq !== routeSeq) { if (next && next.dispose) next.dispose(); return; }
    page = next;
    main.replaceChildren(view);
    setAsOf(Date.now());
    return;
  }
  location.hash = "#/nation";
}

async function loadMe() {
  session.me = await api.me();
  session.canAct = ["technician", "admin"].includes(session.me.role);
  const who = document.getElementById("who");
  who.textContent = `${session.me.name || ""} · ${t("role")}: ${t(`role.${session.me.role}`)}`;
  who.dataset.role = session.me.role;
  document.getElementById("signout").hidden = false;
  const scoped = session.me.provinces && session.me.provinces.length;
  document.querySelector('#nav a[href="#/nation"]').hidden = Boolean(scoped);
  if (!feed) {
    feed = new Feed({ onEvent: onFeedEvent, onStatus: setFeedStatus });
    feed.start();
  }
  checkAlerts(); // issue 15
}

function signOut() {
  token.clear();
  forgetLastQueue(); // issue 15
  session.me = null;
  if (feed) { feed.stop(); feed = null; }
  document.getElementById("who").textContent = "";
  document.getElementById("signout").hidden = true;
  route();
}

function showSignIn(main, message = "") {
  if (page && page.dispose) page.dispose();
  page = null;
  clear(main);
  const input = h("input", { type: "password", id: "token", autocomplete: "off", "aria-label": t("auth.token") });
  const error = h("p", { class: "error", id: "signin-error" }, message);
  const form = h("form", { class: "signin card", id: "signin" },
    h("h1", {}, t("auth.signin")), h("p", { class: "muted" }, t("auth.help")),
    h("label", { for: "token" }, t("auth.token")), input, error,
    h("button", { type: "submit", class: "primary" }, t("auth.signin")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    token.set(input.value.trim());
    input.value = "";
    try { await loadMe(); } catch (err) {
      token.clear();
      error.textContent = err instanceof ApiError && err.status === 401 ? t("auth.bad") : err.message;
      return;
    }
    route();
  });
  main.append(form);
  input.focus();
}

function applyLang() {
  document.documentElement.lang = lang();
  document.getElementById("lang").textContent = lang() === "th" ? "English" : "ไทย";
  translate();
  if (feed) setFeedStatus(feed.state || "connecting");
}

listeners.unauthorised = () => {
  token.clear();
  session.me = null;
  if (feed) { feed.stop(); feed = null; }
  showSignIn(document.getElementById("main"), t("auth.bad"));
};

document.getElementById("lang").addEventListener("click", () => {
  setLang(lang() === "th" ? "en" : "th");
  applyLang();
  if (session.me) loadMe().then(route);
});
document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
applyLang();
installPhone(route); // issue 15: header search, service worker, console alerts
route();
