// Camera page: identity and inventory, state and reason, 30 days of availability bars,
// transitions, faults, and the last snapshot when one was requested.
import { api, ApiError } from "../api.js";
import { h, STATES } from "../dom.js";
import { t, fmtPct, fmtTime, placeName, reasonText } from "../i18n.js";
import { stateBadge, crumbs } from "../widgets.js";
import { page } from "../shape.js";

const DAY_STATES = ["up", "degraded", "down", "maintenance", "unknown"];

function dayBars(rows) {
  return h("div", { class: "bars", id: "day-bars" }, rows.map((d) => {
    const ms = Object.fromEntries(DAY_STATES.map((s) => [s, Number(d[`${s}_s`] ?? d[`${s}_ms`] ?? 0)]));
    const total = Object.values(ms).reduce((a, b) => a + b, 0) || 1;
    const known = ms.up + ms.degraded + ms.down;
    const title = `${d.date ?? d.day}: ${t("available")} ${known ? fmtPct((ms.up + ms.degraded) / known) : "–"}`;
    return h("div", { class: "bar", title, dataset: { date: d.date ?? d.day } },
      DAY_STATES.filter((s) => ms[s]).map((s) => h("span", { style: `height:${(100 * ms[s]) / total}%;background:var(--${s})` })));
  }));
}

function inventory(c) {
  const inv = c.inventory ?? c;
  const rows = [
    ["level.camera", c.camera_id], ["name", c.name], ["inv.maker", inv.maker], ["inv.model", inv.model],
    ["inv.firmware", inv.firmware], ["inv.serial", inv.serial], ["inv.mac", inv.mac],
    ["inv.address", inv.address], ["inv.stream", inv.stream_uri],
    ["inv.resolution", inv.width && inv.height ? `${inv.width}×${inv.height} @ ${inv.fps ?? "?"} fps` : ""],
    ["inv.codec", inv.codec], ["inv.firstSeen", fmtTime(c.first_seen)], ["inv.lastSeen", fmtTime(c.last_seen)],
  ];
  return h("dl", { class: "kv", id: "inventory" }, rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
}

async function snapshot(site, cam, c) {
  if (!c.snapshot_at && !c.has_snapshot) return h("p", { class: "muted" }, t("camera.noSnapshot"));
  try {
    const blob = await api.snapshot(site, cam);
    return h("figure", { class: "snapshot" }, h("img", { src: URL.createObjectURL(blob), alt: t("camera.snapshot") }),
      h("figcaption", { class: "muted" }, fmtTime(c.snapshot_at)));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return h("p", { class: "muted" }, t("camera.noSnapshot"));
    throw err;
  }
}

export async function render(main, site, cam) {
  const c = await api.camera(site, cam);
  const [days, faults, province, district] = await Promise.all([
    api.cameraDays(site, cam, 30).catch((err) => { if (err.status === 401) throw err; return []; }),
    api.faults({ site, camera_id: cam, limit: 20 }).catch((err) => { if (err.status === 401) throw err; return []; }),
    api.province(c.province), api.district(c.district),
  ]);
  const head = h("div", { id: "camera-head" });
  const stateBox = h("p", { id: "camera-state" });
  function drawState(x) {
    stateBox.dataset.state = x.state;
    stateBox.replaceChildren(stateBadge(x.state, x.reason), " ",
      x.reason && x.reason !== "none" ? h("span", { id: "camera-reason", dataset: { reason: x.reason } }, reasonText(x.reason)) : "",
      " · ", t("since"), " ", fmtTime(x.since));
  }
  head.append(crumbs([
    [placeName(province), `#/province/${c.province}`], [placeName(district), `#/district/${c.district}`],
    [site, `#/site/${encodeURIComponent(site)}`], [cam, null]]),
  h("h1", {}, `${t("level.camera")} ${c.name || cam}`), stateBox);
  drawState(c);
  const trBody = h("tbody");
  function drawTransitions(rows) {
    trBody.replaceChildren(...(rows.length ? rows : []).map((r) => h("tr", {},
      h("td", {}, fmtTime(r.at), r.historical ? ` (${t("historical")})` : ""),
      h("td", {}, STATES.includes(r.old_state) ? stateBadge(r.old_state) : "–"), h("td", {}, stateBadge(r.new_state)),
      h("td", {}, reasonText(r.reason)))));
  }
  drawTransitions(c.transitions ?? []);
  const faultRows = page(faults).items;
  main.append(head, h("div", { class: "grid2" },
    h("div", { class: "card" }, h("h2", {}, t("camera.inventory")), inventory(c),
      h("h2", {}, t("camera.snapshot")), await snapshot(site, cam, c)),
    h("div", {},
      h("h2", {}, t("camera.days")), dayBars(page(days).items),
      h("div", { class: "legend" }, DAY_STATES.map((st) => h("span", {}, h("i", { style: `background:var(--${st})` }), t(`state.${st}`)))),
      h("h2", {}, t("camera.transitions")),
      h("table", { id: "transitions" }, h("thead", {}, h("tr", {}, h("th", {}, t("at")), h("th", {}, t("from")), h("th", {}, t("to")), h("th", {}, t("reason")))), trBody),
      h("h2", {}, t("camera.faults")),
      h("table", { id: "camera-faults" }, h("tbody", {}, faultRows.length ? faultRows.map((f) => h("tr", {},
        h("td", {}, `#${f.id}`), h("td", {}, t(`faults.status.${f.status}`)), h("td", {}, reasonText(f.reason)),
        h("td", {}, fmtTime(f.opened_at)), h("td", {}, f.resolved_at ? fmtTime(f.resolved_at) : ""))) :
        h("tr", {}, h("td", { class: "muted" }, t("noRows"))))))));
  return {
    onFeedNow(evt) {
      const d = evt.data || {};
      if (evt.type === "state" && d.site === site && d.camera_id === cam && d.new) drawState({ state: d.new, reason: d.reason, since: d.at });
    },
    async onFeed() {
      const x = await api.camera(site, cam);
      drawState(x);
      drawTransitions(x.transitions ?? []);
    },
  };
}
