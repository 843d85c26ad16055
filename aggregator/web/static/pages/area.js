// Drill-down pages: province -> districts, district -> sites, site -> cameras. Every list is
// paged, filtered and sorted by the server.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t, fmtPct, fmtInt, fmtTime, placeName } from "../i18n.js";
import { figureCards, stateTable, stateBar, stateBadge, crumbs } from "../widgets.js";
import { current } from "../shape.js";
import { pagedTable } from "../table.js";

function pct(key) { return (r) => fmtPct(current(r)[key]); }
function bar(r) { return stateBar(current(r).counts); }

function layout(main, header, summary, table) {
  const head = h("div", { id: "area-figures" });
  const side = h("div");
  function draw(a) {
    head.replaceChildren(...header(a), figureCards(a));
    side.replaceChildren(stateTable(a));
  }
  draw(summary);
  main.append(head, h("div", { class: "grid2" }, side, h("div", {}, table.root)));
  table.start();
  return draw;
}

export async function renderProvince(main, code) {
  const summary = await api.province(code);
  const header = (a) => [crumbs([[placeName(a.province ?? a), null]]),
    h("h1", {}, `${t("level.province")} ${placeName(a.province ?? a)}`)];
  const table = pagedTableFor(
    [
      { key: "code", label: t("code"), sort: "code" },
      { key: "name", label: t("level.district"), sort: "name", render: (r) => h("a", { href: `#/district/${r.code}` }, placeName(r)) },
      { key: "cameras", label: t("cameras"), sort: "cameras", num: true, render: (r) => fmtInt(current(r).cameras) },
      { key: "available", label: t("available"), sort: "available", num: true, render: pct("available") },
      { key: "usable", label: t("usable"), sort: "usable", num: true, render: pct("usable") },
      { key: "states", label: t("state"), render: bar },
    ],
    (p) => api.districts(code, p), "districts-table", false);
  const draw = layout(main, header, summary, table);
  return { async onFeed() { draw(await api.province(code)); table.refresh(); } };
}

export async function renderDistrict(main, code) {
  const summary = await api.district(code);
  const header = (a) => {
    const d = a.district ?? a;
    const p = a.province_info ?? { code: d.province, name_th: d.province_name_th, name_en: d.province_name_en };
    return [crumbs([[placeName(p) || d.province, `#/province/${d.province ?? code.slice(0, 2)}`], [placeName(d), null]]),
      h("h1", {}, `${t("level.district")} ${placeName(d)}`)];
  };
  const table = pagedTableFor(
    [
      { key: "site_id", label: t("id"), sort: "site_id", render: (r) => h("a", { href: `#/site/${encodeURIComponent(r.site_id)}` }, r.site_id) },
      { key: "name", label: t("name"), sort: "name" },
      { key: "cameras", label: t("cameras"), sort: "cameras", num: true, render: (r) => fmtInt(current(r).cameras) },
      { key: "available", label: t("available"), sort: "available", num: true, render: pct("available") },
      { key: "online", label: t("state"), render: (r) => (r.online === false || r.online === 0 ? stateBadge("unknown", "site_offline") : bar(r)) },
    ],
    (p) => api.sites(code, p), "sites-table", false);
  const draw = layout(main, header, summary, table);
  return { async onFeed() { draw(await api.district(code)); table.refresh(); } };
}

export async function renderSite(main, siteId) {
  const summary = await api.site(siteId);
  const header = (a) => {
    const s = a.site ?? a;
    return [crumbs([
      [placeName({ name_th: s.province_name_th, name_en: s.province_name_en }) || s.province, `#/province/${s.province}`],
      [placeName({ name_th: s.district_name_th, name_en: s.district_name_en }) || s.district, `#/district/${s.district}`],
      [s.site_id ?? siteId, null]]),
    h("h1", {}, `${t("level.site")} ${s.name || s.site_id || siteId}`)];
  };
  const enc = encodeURIComponent(siteId);
  const table = pagedTableFor(
    [
      { key: "camera_id", label: t("id"), sort: "camera_id", render: (r) => h("a", { href: `#/camera/${enc}/${encodeURIComponent(r.camera_id)}` }, r.camera_id) },
      { key: "name", label: t("name"), sort: "name" },
      { key: "model", label: t("inv.model"), render: (r) => [r.maker, r.model].filter(Boolean).join(" ") },
      { key: "state", label: t("state"), sort: "state", render: (r) => stateBadge(r.state, r.reason) },
      { key: "reason", label: t("reason"), sort: "reason", render: (r) => (r.reason && r.reason !== "none" ? r.reason : "") },
      { key: "since", label: t("since"), sort: "since", render: (r) => fmtTime(r.since) },
    ],
    (p) => api.cameras(siteId, p), "cameras-table", true);
  const draw = layout(main, header, summary, table);
  return { async onFeed() { draw(await api.site(siteId)); table.refresh(); } };
}

function pagedTableFor(columns, load, id, stateFilter) {
  return pagedTable({ columns, load, id, stateFilter, defaultSort: "" });
}
