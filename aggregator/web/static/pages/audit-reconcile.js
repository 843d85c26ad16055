// Reconciliation: cameras per class and province, the lines of one class, and the cameras the
// register calls broken while the agents see them working, highlighted. Administrators run it.
import { h, clear } from "../dom.js";
import { t, fmtInt } from "../i18n.js";
import { auditApi } from "../audit/api.js";
import { tabs, provinceSelect, isAdmin, classText, BROKEN_WORKS } from "../audit/common.js";
import { stateBadge } from "../widgets.js";

const CLASSES = ["verified", "declared_but_broken", "unconfirmed", "ghost", "unregistered", "moved", "replaced"];

export async function render(main) {
  const { select: province, names } = await provinceSelect("reconcile-province");
  const klass = h("select", { id: "reconcile-class", "aria-label": t("audit.class") },
    CLASSES.map((c) => h("option", { value: c }, classText(c))));
  const summary = h("div", { id: "reconcile-summary" });
  const wrong = h("div", { id: "broken-works" });
  const lines = h("div", { id: "reconcile-lines" });
  const message = h("p", { id: "reconcile-message", role: "status" });

  async function loadSummary() {
    const counts = await auditApi.summary(province.value);
    const provinces = Object.keys(counts).sort();
    clear(summary).append(h("table", { id: "summary-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("audit.province")), CLASSES.map((c) => h("th", {}, classText(c))), h("th", {}, t("audit.total")))),
      h("tbody", {}, provinces.map((p) => h("tr", { dataset: { province: p } }, h("td", {}, names[p] || p),
        CLASSES.map((c) => h("td", { class: "num", dataset: { class: c } }, fmtInt(counts[p][c] || 0))),
        h("td", { class: "num" }, fmtInt(Object.values(counts[p]).reduce((a, b) => a + b, 0))))))));
    const verified = await auditApi.matches({ province: province.value, class: "verified", limit: 1000 });
    const flagged = verified.filter((m) => (m.note || "").includes(BROKEN_WORKS));
    clear(wrong).append(flagged.length ? h("section", { class: "card warn" },
      h("h2", {}, t("audit.brokenWorks"), h("span", { class: "count", id: "broken-works-count" }, ` ${fmtInt(flagged.length)}`)),
      h("p", {}, t("audit.brokenWorksNote")),
      h("ul", {}, flagged.map((m) => h("li", { dataset: { key: m.declared_key } },
        h("a", { href: `#/audit/declared/${encodeURIComponent(m.declared_key)}` }, m.location || m.declared_key), ` (${m.discovered_key})`)))) : "");
  }

  async function loadLines() {
    const rows = await auditApi.matches({ province: province.value, class: klass.value, limit: 1000 });
    clear(lines).append(h("h2", {}, t("audit.lines"), `: ${classText(klass.value)}`), h("table", { id: "lines-table" },
      h("thead", {}, h("tr", {}, ["audit.location", "audit.province", "audit.agency", "audit.liveState"].map((k) => h("th", {}, t(k))),
        h("th", {}, "rule"), h("th", {}, "note"))),
      h("tbody", {}, rows.map((m) => h("tr", { class: (m.note || "").includes(BROKEN_WORKS) ? "register-wrong" : "", dataset: { key: m.declared_key || m.discovered_key } },
        h("td", {}, m.declared_key ? h("a", { href: `#/audit/declared/${encodeURIComponent(m.declared_key)}` }, m.location || m.declared_key) : m.discovered_key),
        h("td", {}, names[m.province] || m.province), h("td", {}, m.agency || ""),
        h("td", {}, m.state ? stateBadge(m.state) : "–"), h("td", {}, m.rule || ""), h("td", {}, m.note || ""))))));
  }

  // issue 16 (i16b): cameras whose firmware matches a known exploited vulnerability, per province
  const advisories = h("div", { id: "advisories" });
  async function loadAdvisories() {
    const found = await auditApi.advisories(province.value).catch(() => null);
    const rows = found ? Object.entries(found.counts).sort() : [];
    clear(advisories).append(rows.length ? h("section", { class: "card warn" },
      h("h2", {}, t("hygiene.advisory")),
      h("table", { id: "advisory-table" }, h("tbody", {}, rows.map(([p, c]) => h("tr", { dataset: { province: p } },
        h("td", {}, names[p] || p), h("td", { class: "num" }, fmtInt(c.cameras)),
        h("td", {}, Object.keys(c).filter((k) => k.startsWith("CVE-")).join(", "))))))) : "");
  }

  const reload = async () => { await loadSummary(); await loadLines(); await loadAdvisories(); };
  const run = isAdmin() ? h("button", { type: "button", class: "primary", id: "reconcile-run", onclick: async () => {
    try {
      const done = await auditApi.reconcile(province.value);
      message.className = "ok";
      message.textContent = t("audit.runDone", { run: done.run_id });
      await reload();
    } catch (err) { message.className = "error"; message.textContent = err.message; }
  } }, t("audit.run")) : null;
  province.addEventListener("change", reload);
  klass.addEventListener("change", loadLines);
  main.append(tabs("reconcile"), h("h1", {}, t("audit.reconcile")), h("p", { class: "tools" }, province, run), message, summary, wrong,
    h("p", { class: "tools" }, klass), lines, advisories);
  await reload();
  return null;
}
