// Shared pieces of the pages: figure cards, state badges and bars, breadcrumbs.
import { h, STATES } from "./dom.js";
import { t, fmtPct, fmtInt, placeName, reasonText } from "./i18n.js";
import { current, windowed } from "./shape.js";

export function stateBadge(state, reason) {
  const s = state || "unknown";
  const title = reason && reason !== "none" ? reasonText(reason) : undefined;
  return h("span", { class: `state ${s}`, title, dataset: { state: s } }, t(`state.${s}`));
}

/** A site's connection: online (green) or offline (grey), never confused with a camera state. */
export function siteBadge(online) {
  return h("span", { class: `state ${online ? "up" : "unknown"}`, dataset: { online: online ? "true" : "false" } },
    t(online ? "site.online" : "site.offline"));
}

export function stateBar(counts) {
  const total = STATES.reduce((n, s) => n + (counts[s] || 0), 0) || 1;
  return h("div", { class: "statebar", title: STATES.map((s) => `${t(`state.${s}`)} ${counts[s] || 0}`).join(", ") },
    STATES.filter((s) => counts[s]).map((s) => h("span", { style: `width:${(100 * counts[s]) / total}%;background:var(--${s})` })));
}

function card(label, value, sub, id) {
  return h("div", { class: "card", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

/** Cards: available and usable now and over 24 h / 7 d / 30 d, cameras, open faults. */
export function figureCards(a, wins = {}, openFaults = null) {
  const now = current(a);
  const cards = [
    card(`${t("available")} · ${t("now")}`, fmtPct(now.available), null, "fig-available-now"),
    card(`${t("usable")} · ${t("now")}`, fmtPct(now.usable), null, "fig-usable-now"),
  ];
  for (const w of ["24h", "7d", "30d"]) {
    const v = windowed(wins[w]);
    const c = card(`${t("available")} / ${t("usable")} · ${t(`w.${w}`)}`,
      `${fmtPct(v.available)} / ${fmtPct(v.usable)}`, null, `fig-${w}`);
    c.dataset.available = v.available ?? "";
    c.dataset.usable = v.usable ?? "";
    cards.push(c);
  }
  cards.push(card(t("cameras"), fmtInt(now.cameras), null, "fig-cameras"));
  if (openFaults !== null) {
    cards.push(card(t("openFaults"), typeof openFaults === "string" ? openFaults : fmtInt(openFaults), null, "fig-open-faults"));
  }
  return h("div", { class: "cards" }, cards);
}

/** The colours of the state bars, named (every state, maintenance included). */
export function stateLegend() {
  return h("div", { class: "legend state-legend" }, STATES.map((s) =>
    h("span", { dataset: { state: s }, title: s === "maintenance" ? t("state.maintenanceNote") : undefined },
      h("i", { style: `background:var(--${s})` }), t(`state.${s}`))));
}

/** Cameras per state as a small table with a bar. ``note``: the counts come from the nation or
 * area summaries, where cameras under an active maintenance window count as maintenance. */
export function stateTable(a, note = false) {
  const now = current(a);
  return h("div", {},
    h("h2", {}, t("perState")),
    stateBar(now.counts),
    h("table", { id: "state-counts" }, h("tbody", {}, STATES.map((s) =>
      h("tr", { dataset: { state: s } }, h("td", {}, stateBadge(s)), h("td", { class: "num" }, fmtInt(now.counts[s])))))),
    note ? h("p", { class: "muted maintenance-note", style: "font-size:.75rem" }, t("state.maintenanceNote")) : null);
}

export function crumbs(items) {
  return h("nav", { class: "crumbs" }, h("a", { href: "#/nation" }, t("level.nation")),
    items.map(([label, href]) => (href ? h("a", { href }, label) : h("span", {}, label))));
}

export function areaLabel(row) { return placeName(row); }

/** A warning that a site's gateway clock is off (issue 18): the offset and what a technician does. */
export function clockWarning(site) {
  if (!site || !site.clock_skew) return "";
  const offset = site.clock_offset_s == null ? "?" : `${site.clock_offset_s > 0 ? "+" : ""}${Math.round(site.clock_offset_s)}`;
  return h("p", { id: "site-clock-skew", class: "warning", role: "alert" },
    t("site.clockSkew", { offset }), " ", h("small", {}, site.clock_hint || ""));
}
