// The header's global search (issue 15): one box for a camera id, serial or IP, a site id or
// name, or a district's name; the API answers within the user's provinces. Results are links
// to the camera, site and district pages; Enter opens the first.
import { request, token } from "./api.js";
import { h, clear } from "./dom.js";
import { t, lang } from "./i18n.js";

const DEBOUNCE_MS = 250;
const enc = encodeURIComponent;

function results(answer) {
  const groups = [];
  const group = (title, items) => { if (items.length) groups.push(h("li", { class: "search-group" }, title), ...items); };
  group(t("search.cameras"), answer.cameras.map((c) => h("li", {}, h("a", { href: `#/camera/${enc(c.site_id)}/${enc(c.camera_id)}`, class: "search-camera" },
    c.camera_id, h("span", { class: "muted" }, ` · ${c.site_id}`,
      c.matched === "serial" ? ` · ${t("search.serial")} ${c.serial}` : c.matched === "ip" ? ` · ${t("search.ip")} ${c.ip}` : "")))));
  group(t("search.sites"), answer.sites.map((s) => h("li", {}, h("a", { href: `#/site/${enc(s.site_id)}`, class: "search-site" },
    s.name || s.site_id, h("span", { class: "muted" }, ` · ${s.site_id}`)))));
  group(t("search.districts"), answer.districts.map((d) => h("li", {}, h("a", { href: `#/district/${d.code}`, class: "search-district" },
    lang() === "th" ? d.name_th : d.name_en, h("span", { class: "muted" }, ` · ${d.code}`)))));
  return groups.length ? groups : [h("li", { class: "muted" }, t("search.none"))];
}

export function installSearch() {
  const nav = document.getElementById("nav");
  if (!nav || document.getElementById("global-search")) return;
  const input = h("input", { type: "search", id: "global-search-input", autocomplete: "off", spellcheck: "false",
    placeholder: t("search.placeholder"), "aria-label": t("search.placeholder") });
  const list = h("ul", { id: "global-search-results", class: "search-results", hidden: true, role: "listbox" });
  const box = h("div", { id: "global-search", class: "global-search", role: "search" }, input, list);
  nav.after(box);
  let timer = null;
  let seq = 0;
  const close = () => { list.hidden = true; };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2 || !token.get()) { close(); return; }
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const answer = await request("GET", "/api/v1/search", { params: { q, limit: 8 } });
        if (mine !== seq) return;
        clear(list).append(...results(answer));
        list.hidden = false;
      } catch { close(); }
    }, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
    if (e.key === "Enter") { const first = list.querySelector("a"); if (first) { first.click(); } }
  });
  list.addEventListener("click", (e) => { if (e.target.closest("a")) { close(); input.value = ""; } });
  document.addEventListener("click", (e) => { if (!box.contains(e.target)) close(); });
  // The placeholder follows the language switch.
  document.getElementById("lang")?.addEventListener("click", () => {
    input.placeholder = t("search.placeholder"); input.setAttribute("aria-label", t("search.placeholder"));
  });
}
