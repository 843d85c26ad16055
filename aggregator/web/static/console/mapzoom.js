// Map zoom and labels for the operators' console (issue 15): the small provinces around
// Bangkok (Bangkok, Samut Prakan, Nonthaburi, Pathum Thani, Nakhon Pathom, Samut Sakhon) are a
// few pixels wide on the national map; one button frames them with their names written in.
import { h, svg } from "../dom.js";
import { t, placeName } from "../i18n.js";

export const BANGKOK_AREA = ["10", "11", "12", "13", "73", "74"];

/** Add the zoom buttons to a province map (map.js's wrapper); ``rows`` give the names. */
export function addMapZoom(wrap, rows) {
  const root = wrap.querySelector("svg");
  if (!root) return;
  const whole = root.getAttribute("viewBox");
  const labels = svg("g", { class: "map-labels", "aria-hidden": "true" });
  root.append(labels);
  const names = () => Object.fromEntries(rows().map((r) => [r.code, placeName(r)]));
  function frame(codes) {
    let box = null;
    for (const code of codes) {
      const path = root.querySelector(`path[data-code="${code}"]`);
      if (!path) continue;
      const b = path.getBBox();
      box = box ? { x0: Math.min(box.x0, b.x), y0: Math.min(box.y0, b.y), x1: Math.max(box.x1, b.x + b.width), y1: Math.max(box.y1, b.y + b.height) }
        : { x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height };
    }
    return box;
  }
  function zoom(codes) {
    labels.replaceChildren();
    if (!codes) { root.setAttribute("viewBox", whole); wrap.dataset.zoom = "all"; return; }
    const box = frame(codes);
    if (!box) return;
    const pad = Math.max(box.x1 - box.x0, box.y1 - box.y0) * 0.08;
    root.setAttribute("viewBox", `${box.x0 - pad} ${box.y0 - pad} ${box.x1 - box.x0 + 2 * pad} ${box.y1 - box.y0 + 2 * pad}`);
    wrap.dataset.zoom = "bangkok";
    const size = (box.x1 - box.x0 + 2 * pad) / 28;
    const named = names();
    for (const code of codes) {
      const path = root.querySelector(`path[data-code="${code}"]`);
      if (!path) continue;
      const b = path.getBBox();
      const label = svg("text", { x: b.x + b.width / 2, y: b.y + b.height / 2, "font-size": size, "text-anchor": "middle",
        "dominant-baseline": "middle", class: "map-label", "data-code": code });
      label.textContent = named[code] || code;
      labels.append(label);
    }
  }
  const bar = h("div", { class: "map-zoom tools" },
    h("button", { type: "button", id: "map-zoom-bangkok", onclick: () => zoom(BANGKOK_AREA) }, t("map.zoomBangkok")),
    h("button", { type: "button", id: "map-zoom-all", onclick: () => zoom(null) }, t("map.zoomAll")));
  root.before(bar);
}
