// Declared cameras: the register's cameras of the caller's provinces with their reconciliation
// class and live state, searchable; an edit form for one camera that sends the version it loaded
// (If-Match), so a second officer saving an older version sees a clear conflict, and its audit trail.
import { ApiError } from "../api.js";
import { h, clear } from "../dom.js";
import { t, fmtTime } from "../i18n.js";
import { auditApi } from "../audit/api.js";
import { tabs, provinceSelect, isAdmin, classText, statusText } from "../audit/common.js";
import { stateBadge } from "../widgets.js";

const CLASSES = ["verified", "declared_but_broken", "unconfirmed", "ghost", "moved", "replaced"];
const FIELDS = ["location", "agency", "serial", "status", "lat", "lon", "installed", "ip", "maker", "model", "site"];
const text = (v) => (v === null || v === undefined ? "" : String(v));

function editor(key, onSaved) {
  const box = h("section", { class: "card", id: "declared-editor", dataset: { key } });
  let loaded = null;

  async function load() {
    loaded = await auditApi.camera(key);
    // The status as the officer reads it (a Thai word in Thai); it is sent only when changed.
    const initial = Object.fromEntries(FIELDS.map((f) => [f, f === "status" ? statusText(loaded[f]) : text(loaded[f])]));
    const inputs = Object.fromEntries(FIELDS.map((f) => [f, h("input", { name: f, id: `edit-${f}`, value: initial[f] })]));
    const message = h("p", { id: "editor-message", role: "status" });
    const conflict = h("div", { id: "editor-conflict", class: "conflict", hidden: true });
    const form = h("form", { class: "editor" },
      FIELDS.map((f) => h("label", {}, h("span", {}, t(`field.${f}`)), inputs[f])),
      h("p", { class: "tools" }, isAdmin() ? h("button", { type: "submit", class: "primary", id: "editor-save" }, t("audit.save")) : null,
        h("span", { class: "muted", id: "editor-version" }, `${t("audit.version")} ${loaded.version}`)));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const changes = {};
      for (const f of FIELDS) if (inputs[f].value.trim() !== initial[f]) changes[f] = inputs[f].value.trim();
      conflict.hidden = true;
      try {
        const done = await auditApi.edit(key, loaded.version, changes);
        message.className = "ok";
        message.textContent = t("audit.saved", { version: done.version });
        loaded = { ...loaded, version: done.version };
        for (const f of FIELDS) initial[f] = inputs[f].value.trim();
        box.querySelector("#editor-version").textContent = `${t("audit.version")} ${done.version}`;
        await trail();
        onSaved();
      } catch (err) {
        if (err instanceof ApiError && err.status === 412) {
          message.textContent = "";
          clear(conflict).append(h("strong", {}, t("audit.conflictTitle")), h("p", {}, err.message),
            h("button", { type: "button", id: "editor-reload", onclick: () => load() }, t("audit.reload")));
          conflict.hidden = false;
          return;
        }
        message.className = "error";
        message.textContent = err.message;
      }
    });
    const trailBox = h("div", { id: "declared-trail" });
    async function trail() {
      const rows = await auditApi.history(key);
      clear(trailBox).append(h("h3", {}, t("audit.trail")), h("table", {},
        h("thead", {}, h("tr", {}, ["audit.when", "audit.by", "audit.action", "audit.before", "audit.after"].map((k) => h("th", {}, t(k))))),
        h("tbody", {}, rows.map((r) => h("tr", { dataset: { action: r.action } },
          h("td", {}, fmtTime(r.at)), h("td", {}, r.by), h("td", {}, t(`history.${r.action}`)),
          h("td", {}, Object.entries(r.before).map(([k, v]) => `${k}: ${text(v)}`).join("; ")),
          h("td", {}, Object.entries(r.after).map(([k, v]) => `${k}: ${text(v)}`).join("; ")))))));
    }
    clear(box).append(h("h2", {}, t("audit.editTitle"), `: ${loaded.register_id || key}`), conflict, form, message, trailBox);
    await trail();
  }
  return { box, load };
}

export async function render(main, openKey) {
  const { select: province, names } = await provinceSelect("declared-province");
  const klass = h("select", { id: "declared-class", "aria-label": t("audit.class") }, h("option", { value: "" }, t("audit.allClasses")),
    CLASSES.map((c) => h("option", { value: c }, classText(c))));
  const q = h("input", { type: "search", id: "declared-q", placeholder: t("audit.search"), "aria-label": t("audit.search") });
  const list = h("div", { id: "declared-list" });
  const side = h("div", { id: "declared-side" });

  async function load() {
    const rows = await auditApi.declared({ province: province.value, class: klass.value, q: q.value.trim(), limit: 500 });
    clear(list).append(h("table", { id: "declared-table" },
      h("thead", {}, h("tr", {}, ["audit.registerId", "audit.location", "audit.province", "audit.agency", "audit.status", "audit.class", "audit.liveState", "audit.edit"]
        .map((k) => h("th", {}, t(k))))),
      h("tbody", {}, rows.map((r) => h("tr", { dataset: { key: r.key, class: r.class || "" } },
        h("td", {}, r.register_id), h("td", {}, r.location), h("td", {}, names[r.province] || r.province), h("td", {}, r.agency),
        h("td", { class: "status" }, statusText(r.status)), h("td", { class: "klass" }, classText(r.class)),
        h("td", {}, r.state ? stateBadge(r.state) : "–"),
        h("td", {}, h("button", { type: "button", class: "edit", onclick: () => open(r.key) }, t("audit.edit"))))))));
  }

  async function open(key) {
    history.replaceState(null, "", `#/audit/declared/${encodeURIComponent(key)}`);
    const ed = editor(key, load);
    clear(side).append(ed.box);
    await ed.load();
  }

  const form = h("form", { class: "tools" }, province, klass, q, h("button", { type: "submit", class: "primary" }, t("search")));
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  province.addEventListener("change", load);
  klass.addEventListener("change", load);
  main.append(tabs("declared"), h("h1", {}, t("audit.declared")), form, h("div", { class: "split" }, list, side));
  await load();
  if (openKey) await open(openKey);
  return null;
}
