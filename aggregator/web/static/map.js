// The 77 provinces drawn from Natural Earth admin-1 boundaries (th-provinces.json, built by
// aggregator/web/provinces_map.py from a package), coloured by availability now.
import { h, svg } from "./dom.js";
import { t, fmtPct, placeName } from "./i18n.js";

let mapData = null;

async function loadMap() {
  if (!mapData) {
    const res = await fetch(new URL("./th-provinces.json", import.meta.url), { cache: "force-cache" });
    mapData = await res.json();
  }
  return mapData;
}

// Availability bands (the programme's targets): >= 98% good, 90-98% watch, < 90% poor.
const BANDS = [[0.98, "#2e7d32"], [0.95, "#7cb342"], [0.9, "#fbc02d"], [0.8, "#fb8c00"], [0, "#c62828"]];

export function colour(available) {
  if (available === null || available === undefined) return "#cfd3d8";
  for (const [limit, c] of BANDS) if (available >= limit) return c;
  return BANDS[BANDS.length - 1][1];
}

/** rows: [{code, name_th, name_en, available, cameras}] ; returns {root, update(rows)} */
export async function provinceMap(rows, onPick) {
  const data = await loadMap();
  const root = svg("svg", { viewBox: data.viewBox, role: "img", "aria-label": t("map.title") });
  const paths = {};
  for (const [code, p] of Object.entries(data.provinces)) {
    const path = svg("path", { d: p.d, "data-code": code, tabindex: 0, role: "link" });
    path.append(svg("title", {}));
    path.addEventListener("click", () => onPick(code));
    path.addEventListener("keydown", (e) => { if (e.key === "Enter") onPick(code); });
    root.append(path);
    paths[code] = path;
  }
  function update(list) {
    const byCode = Object.fromEntries(list.map((r) => [r.code, r]));
    for (const [code, path] of Object.entries(paths)) {
      const r = byCode[code];
      const a = r && r.cameras ? r.available : null;
      path.setAttribute("fill", colour(a));
      path.dataset.available = a === null ? "" : String(a);
      path.firstChild.textContent = `${placeName(r) || code}: ${a === null ? t("map.none") : fmtPct(a)}`;
      path.setAttribute("aria-label", path.firstChild.textContent);
    }
  }
  update(rows);
  const legend = h("div", { class: "legend" },
    BANDS.map(([limit, c], i) => h("span", {}, h("i", { style: `background:${c}` }),
      i === 0 ? `≥ ${limit * 100}%` : `≥ ${limit * 100}%`)),
    h("span", {}, h("i", { style: "background:#cfd3d8" }), t("map.none")));
  const wrap = h("div", { class: "map card", id: "province-map" }, h("h2", {}, t("map.title")), root, legend,
    h("div", { class: "muted", style: "font-size:.75rem" }, t("map.source")));
  return { root: wrap, update };
}
