// Drill-down pages: province -> districts, district -> sites, site -> cameras. Site and camera
// lists are paged, filtered and sorted by the server (they must stay fast at 1M cameras); a
// province's districts (at most 73 rows) are sorted in the page.
import { api, windows } from "../api.js";
import { h, STATES } from "../dom.js";
import { t, fmtPct, fmtInt, fmtTime, placeName, reasonText } from "../i18n.js";
import { figureCards, stateTable, stateBar, stateBadge, siteBadge, crumbs, stateLegend, clockWarning } from "../widgets.js";
import { current, page } from "../shape.js";
import { pagedTable } from "../table.js";
import { session } from "../session.js";
import { recordingCell } from "./recording.js";

/** Page, filter and sort a short list in the browser, with the same params as the server. */
function localLoad(fetchAll, keyOf) {
  return async ({ limit, offset, sort, q }) => {
    let rows = page(await fetchAll()).items;
    if (q) {
      const needle = q.toLowerCase();
      rows = rows.filter((r) => [r.code, r.name_th, r.name_en].some((v) => String(v ?? "").toLowerCase().includes(needle)));
    }
    if (sort) {
      const key = sort.replace(/^-/, "");
      const dir = sort.startsWith("-") ? -1 : 1;
      rows = [...rows].sort((a, b) => {
        const x = keyOf(a, key), y = keyOf(b, key);
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
    }
    return { items: rows.slice(offset, offset + limit), total: rows.length };
  };
}

function areaKey(r, key) {
  if (key === "name") return placeName(r);
  if (key === "available" || key === "usable") return current(r)[key] ?? -1;
  return r[key] ?? "";
}

function layout(main, header, summary, wins, table, summaryCounts = false) {
  const head = h("div", { id: "area-figures" });
  const side = h("div");
  function draw(a) {
    head.replaceChildren(...header(a), figureCards(a, wins));
    side.replaceChildren(stateTable(a, summaryCounts));
  }
  draw(summary);
  // Provinces and districts: counts from the area summaries (maintenance windows applied), and
  // tables of state bars whose colours the legend names. A site's counts come from its cameras' list.
  main.append(head, h("div", { class: "grid2" }, side, h("div", {}, table.root, summaryCounts ? stateLegend() : null)));
  table.start();
  return draw;
}

const pct = (key) => (r) => fmtPct(current(r)[key]);

export async function renderProvince(main, code) {
  const [summary, wins] = await Promise.all([api.province(code), windows("province", code)]);
  const header = (a) => [crumbs([[placeName(a), null]]), h("h1", {}, `${t("level.province")} ${placeName(a)}`)];
  const table = pagedTable({
    id: "districts-table",
    search: true,
    load: localLoad(() => api.districts(code), areaKey),
    columns: [
      { key: "code", label: t("code"), sort: "code", sortDesc: "-code" },
      { key: "name", label: t("level.district"), sort: "name", sortDesc: "-name", render: (r) => h("a", { href: `#/district/${r.code}` }, placeName(r)) },
      { key: "sites", label: t("sites"), sort: "sites", sortDesc: "-sites", num: true, render: (r) => fmtInt(r.sites) },
      { key: "cameras", label: t("cameras"), sort: "cameras", sortDesc: "-cameras", num: true, render: (r) => fmtInt(r.cameras) },
      { key: "available", label: `${t("available")} · ${t("now")}`, sort: "available", sortDesc: "-available", num: true, render: pct("available") },
      { key: "usable", label: `${t("usable")} · ${t("now")}`, sort: "usable", sortDesc: "-usable", num: true, render: pct("usable") },
      { key: "states", label: t("state"), render: (r) => stateBar(current(r).counts) },
    ],
  });
  const draw = layout(main, header, summary, wins, table, true);
  return { async onFeed() { draw(await api.province(code)); table.refresh(); } };
}

export async function renderDistrict(main, code) {
  const [summary, wins] = await Promise.all([api.district(code), windows("district", code)]);
  const province = await api.province(summary.province);
  const header = (a) => [crumbs([[placeName(province), `#/province/${province.code}`], [placeName(a), null]]),
    h("h1", {}, `${t("level.district")} ${placeName(a)}`)];
  const table = pagedTable({
    id: "sites-table",
    defaultSort: "site_id",
    filters: [
      { param: "online", label: t("state"), options: [["", t("allStates")], ["true", t("site.online")], ["false", t("site.offline")]] },
      { param: "never_connected", label: t("site.never"), options: [["", t("allStates")], ["true", t("site.never")]] },
    ],
    load: (p) => api.sites({ ...p, district: code }),
    columns: [
      { key: "site_id", label: t("id"), sort: "site_id", sortDesc: "-site_id", render: (r) => h("a", { href: `#/site/${encodeURIComponent(r.site_id)}` }, r.site_id) },
      { key: "name", label: t("name"), sort: "name" },
      { key: "cameras", label: t("cameras"), num: true, render: (r) => fmtInt(r.cameras) },
      { key: "online", label: t("state"), render: (r) => (r.never_connected ? h("span", { class: "state unknown" }, t("site.never"))
        : r.states ? [siteBadge(r.online), " ", stateBar(current(r).counts)] : siteBadge(r.online)) },
      { key: "last_seen", label: t("inv.lastSeen"), sort: "last_seen", sortDesc: "-last_seen", render: (r) => fmtTime(r.last_seen) },
    ],
  });
  const draw = layout(main, header, summary, wins, table, true);
  return { async onFeed() { draw(await api.district(code)); table.refresh(); } };
}

export async function renderSite(main, siteId) {
  const [site, wins] = await Promise.all([api.site(siteId), windows("site", siteId)]);
  const [province, district] = await Promise.all([api.province(site.province), api.district(site.district)]);
  const header = (s) => [crumbs([[placeName(province), `#/province/${province.code}`],
    [placeName(district), `#/district/${district.code}`], [s.site_id, null]]),
  h("h1", {}, `${t("level.site")} ${s.name || s.site_id}`),
  s.never_connected
    ? h("p", { id: "site-online" }, h("span", { class: "state unknown", dataset: { never: "true" } }, t("site.never")),
      " ", t("site.enrolled"), " ", fmtTime(s.enrolled))
    : h("p", { id: "site-online" }, siteBadge(s.online), " ", t("inv.lastSeen"), " ", fmtTime(s.last_seen)),
  clockWarning(s), place(s)];
  const enc = encodeURIComponent(siteId);
  const table = pagedTable({
    id: "cameras-table",
    defaultSort: "camera_id",
    filters: [{ param: "state", label: t("state"), options: [["", t("allStates")], ...STATES.map((x) => [x, t(`state.${x}`)])] }],
    load: (p) => api.cameras({ ...p, site_id: siteId }),
    columns: [
      { key: "camera_id", label: t("id"), sort: "camera_id", render: (r) => h("a", { href: `#/camera/${enc}/${encodeURIComponent(r.camera_id)}` }, r.camera_id) },
      { key: "name", label: t("name") },
      { key: "model", label: t("inv.model"), sort: "maker", render: (r) => [r.maker, r.model].filter(Boolean).join(" ") },
      { key: "state", label: t("state"), sort: "state", render: (r) => stateBadge(r.state, r.reason) },
      { key: "reason", label: t("reason"), render: (r) => reasonText(r.reason) },
      { key: "since", label: t("since"), sort: "since", sortDesc: "-since", render: (r) => fmtTime(r.since) },
      { key: "recording", label: t("recording"), render: recordingCell },
    ],
  });
  // A site's figures: its cameras per state (counted from the list's first page when the API
  // gives no per-site counts) and its availability windows.
  const withStates = site.states ? site : { ...site, states: await siteStates(siteId) };
  const draw = layout(main, header, withStates, wins, table);
  return {
    async onFeed() {
      const s = await api.site(siteId);
      draw(s.states ? s : { ...s, states: await siteStates(siteId) });
      table.refresh();
    },
  };
}

// A site's registered place (issue 15): agency, address, phone and a directions link from its position.
export function directionsUrl(lat, lon) {
  return `https://www.google.com/maps/dir/?api=1&destination=${lat},${lon}`;
}

function place(s) {
  const rows = [];
  if (s.agency) rows.push([t("site.agency"), s.agency]);
  if (s.address) rows.push([t("site.address"), s.address]);
  if (s.phone) rows.push([t("site.phone"), h("a", { href: `tel:${s.phone.replace(/[^0-9+]/g, "")}` }, s.phone)]);
  if (s.lat != null && s.lon != null) {
    rows.push([t("site.directions"), h("a", { id: "site-directions", href: directionsUrl(s.lat, s.lon), target: "_blank", rel: "noopener" },
      `${s.lat.toFixed(5)}, ${s.lon.toFixed(5)}`)]);
  }
  const edit = session.me && session.me.role === "admin"
    ? h("a", { id: "site-edit-link", href: `#/site/${encodeURIComponent(s.site_id)}/edit` }, t("site.edit")) : null; // issue 15
  return h("div", {}, h("dl", { id: "site-place", class: "place" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])), edit);
}

async function siteStates(siteId) {
  const out = { up: 0, degraded: 0, down: 0, unknown: 0, maintenance: 0 };
  const res = page(await api.cameras({ site_id: siteId, limit: 500, offset: 0 }));
  for (const c of res.items) out[c.state] = (out[c.state] || 0) + 1;
  return out;
}
