// Risk points on the province map (the dashboard's Natural Earth outlines, th-provinces.json):
// each point drawn with its true radius and the cameras inside it (green usable now, grey not),
// uncovered points listed first; a row of the list zooms the map to its point.
import { h, svg, clear } from "../dom.js";
import { t, fmtInt } from "../i18n.js";
import { auditApi } from "../audit/api.js";
import { tabs, provinceSelect, kindText } from "../audit/common.js";

const M_PER_DEG = 111195; // metres per degree of latitude on camwatch's earth (audit/spatial.py)
const MID_LAT = 13.5; // the map's projection (web/provinces_map.py): x scaled by cos(13.5 deg)
let mapData = null;

async function loadMap() {
  if (!mapData) mapData = await (await fetch(new URL("../th-provinces.json", import.meta.url), { cache: "force-cache" })).json();
  return mapData;
}

/** The map's projection of a position, in its pixel space. */
function projector(data) {
  const [minLon, minLat, , maxLat] = data.bounds;
  const scale = 1000 / (maxLat - minLat);
  const cos = Math.cos((MID_LAT * Math.PI) / 180);
  return { scale, xy: (lat, lon) => [(lon - minLon) * cos * scale, (maxLat - lat) * scale] };
}

/** The bounding box of an SVG path of M/L commands (the map's paths are only those). */
function pathBox(d) {
  const n = (d.match(/-?\d+(\.\d+)?/g) || []).map(Number);
  const xs = n.filter((_, i) => i % 2 === 0), ys = n.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function viewBox([x0, y0, x1, y1], pad) {
  const w = Math.max(x1 - x0, 1e-3) + 2 * pad, hgt = Math.max(y1 - y0, 1e-3) + 2 * pad;
  return `${(x0 - pad).toFixed(4)} ${(y0 - pad).toFixed(4)} ${w.toFixed(4)} ${hgt.toFixed(4)}`;
}

async function drawMap(points, province) {
  const data = await loadMap();
  const { scale, xy } = projector(data);
  const root = svg("svg", { id: "risk-map", role: "img", "aria-label": t("audit.risk"), class: "risk-map" });
  const outline = province && data.provinces[province];
  for (const [code, p] of Object.entries(data.provinces)) {
    if (outline && code !== province) continue;
    root.append(svg("path", { d: p.d, class: "province", "data-code": code }));
  }
  const box = outline ? pathBox(outline.d) : [0, 0, ...data.viewBox.split(" ").slice(2).map(Number)];
  const full = viewBox(box, (box[2] - box[0]) * 0.03);
  root.setAttribute("viewBox", full);
  const dot = Math.max(box[2] - box[0], box[3] - box[1]) / 50; // a marker stays visible at province scale
  for (const p of points) {
    const [x, y] = xy(p.lat, p.lon);
    const r = (p.radius_m / M_PER_DEG) * scale;
    const g = svg("g", { class: p.covered ? "risk covered" : "risk uncovered", "data-name": p.name });
    const title = svg("title", {});
    title.textContent = `${p.name}: ${p.usable_now}/${p.required} · ${p.cameras} ${t("audit.inside")}`;
    g.append(title, svg("circle", { cx: x.toFixed(4), cy: y.toFixed(4), r: r.toFixed(4), class: "radius" }),
      svg("circle", { cx: x.toFixed(4), cy: y.toFixed(4), r: (dot / 2).toFixed(4), class: "centre" }));
    for (const c of p.inside || []) {
      const [cx, cy] = xy(c.lat, c.lon);
      g.append(svg("circle", { cx: cx.toFixed(4), cy: cy.toFixed(4), r: Math.min(dot / 4, r / 6 || dot / 4).toFixed(4),
        class: c.usable_now ? "camera usable" : "camera unusable", "data-camera": c.camera }));
    }
    root.append(g);
  }
  /** Zoom to one point (three radii around it), or back to the province. */
  function zoom(p) {
    if (!p) { root.setAttribute("viewBox", full); return; }
    const [x, y] = xy(p.lat, p.lon);
    const r = (p.radius_m / M_PER_DEG) * scale * 1.5;
    root.setAttribute("viewBox", viewBox([x - r, y - r, x + r, y + r], r * 0.1));
  }
  return { root, zoom };
}

export async function render(main) {
  const { select: province, names } = await provinceSelect("risk-province");
  const out = h("div", { id: "risk" });
  async function load() {
    const rows = await auditApi.riskCoverage(province.value);
    rows.sort((a, b) => Number(a.covered) - Number(b.covered) || a.usable_30d - b.usable_30d || a.name.localeCompare(b.name));
    if (!rows.length) { clear(out).append(h("p", { class: "muted" }, t("audit.noRisk"))); return; }
    const map = await drawMap(rows, province.value || (rows.every((r) => r.province === rows[0].province) ? rows[0].province : ""));
    const table = h("table", { id: "risk-table" },
      h("thead", {}, h("tr", {}, ["name", "audit.province", "audit.kind", "audit.radius", "audit.inRadius", "audit.usableNow", "state", "audit.inside"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, rows.map((p) => h("tr", { class: p.covered ? "" : "uncovered", dataset: { covered: String(p.covered), name: p.name }, tabindex: 0,
        onclick: () => map.zoom(p), onkeydown: (e) => { if (e.key === "Enter") map.zoom(p); } },
        h("td", {}, p.name), h("td", {}, names[p.province] || p.province), h("td", {}, kindText(p.kind)), h("td", { class: "num" }, fmtInt(p.radius_m)),
        h("td", { class: "num" }, fmtInt(p.cameras)), h("td", { class: "num" }, fmtInt(p.usable_now)),
        h("td", {}, t(p.covered ? "audit.covered" : "audit.uncovered")),
        h("td", { class: "inside" }, (p.inside || []).map((c) => h("span", { class: c.usable_now ? "cam usable" : "cam unusable" }, `${c.camera} (${fmtInt(Math.round(c.distance_m))} m)`)))))));
    const reset = h("button", { type: "button", id: "risk-zoom-out", onclick: () => map.zoom(null) }, t("audit.zoomOut"));
    clear(out).append(h("div", { class: "split" }, table, h("div", { class: "map card" }, map.root, h("p", { class: "tools" }, reset))));
  }
  province.addEventListener("change", load);
  main.append(tabs("risk"), h("h1", {}, t("audit.risk")), h("p", { class: "tools" }, province), out);
  await load();
  return null;
}
