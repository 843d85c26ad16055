// Risk points of the caller's provinces: uncovered first, each with its radius and the usable
// cameras inside it, drawn on a plain SVG plot of the province's points (no script in the drawing).
import { h, svg, clear } from "../dom.js";
import { t, fmtInt } from "../i18n.js";
import { auditApi } from "../audit/api.js";
import { tabs, provinceSelect } from "../audit/common.js";

const SIZE = 420;

function plot(points) {
  const root = svg("svg", { viewBox: `0 0 ${SIZE} ${SIZE}`, width: SIZE, height: SIZE, id: "risk-map", role: "img" });
  if (!points.length) return root;
  const lats = points.map((p) => p.lat), lons = points.map((p) => p.lon);
  const pad = 0.02;
  const [lat0, lat1] = [Math.min(...lats) - pad, Math.max(...lats) + pad];
  const [lon0, lon1] = [Math.min(...lons) - pad, Math.max(...lons) + pad];
  const span = Math.max(lat1 - lat0, lon1 - lon0);
  for (const p of points) {
    const x = ((p.lon - lon0) / span) * (SIZE - 20) + 10;
    const y = SIZE - (((p.lat - lat0) / span) * (SIZE - 20) + 10);
    const r = Math.max(4, (p.radius_m / 111000 / span) * (SIZE - 20));
    const c = svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: r.toFixed(1), class: p.covered ? "risk covered" : "risk uncovered" });
    const title = svg("title", {});
    title.textContent = `${p.name}: ${p.usable_now}/${p.cameras}`;
    c.append(title);
    root.append(c);
  }
  return root;
}

export async function render(main) {
  const { select: province, names } = await provinceSelect("risk-province");
  const out = h("div", { id: "risk" });
  async function load() {
    const rows = await auditApi.riskCoverage(province.value);
    rows.sort((a, b) => Number(a.covered) - Number(b.covered) || a.usable_30d - b.usable_30d || a.name.localeCompare(b.name));
    clear(out).append(rows.length ? h("div", { class: "split" }, h("table", { id: "risk-table" },
      h("thead", {}, h("tr", {}, ["name", "audit.province", "audit.kind", "audit.radius", "audit.inRadius", "audit.usableNow", "state"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, rows.map((p) => h("tr", { class: p.covered ? "" : "uncovered", dataset: { covered: String(p.covered) } },
        h("td", {}, p.name), h("td", {}, names[p.province] || p.province), h("td", {}, p.kind), h("td", { class: "num" }, fmtInt(p.radius_m)),
        h("td", { class: "num" }, fmtInt(p.cameras)), h("td", { class: "num" }, fmtInt(p.usable_now)),
        h("td", {}, t(p.covered ? "audit.covered" : "audit.uncovered")))))), plot(rows)) : h("p", { class: "muted" }, t("audit.noRisk")));
  }
  province.addEventListener("change", load);
  main.append(tabs("risk"), h("h1", {}, t("audit.risk")), h("p", { class: "tools" }, province), out);
  await load();
  return null;
}
