// A province's plans: the repair plan (ranked by risk, with what the province will do and its
// progress; XLSX/CSV download), the installation plan for uncovered risk points (the coverage each
// proposal adds), the linking plan (declared cameras no agent watches) and the certification of
// the audit ("changed since certification" when the register moved on).
import { ApiError } from "../api.js";
import { h, clear } from "../dom.js";
import { t, fmtInt, fmtTime } from "../i18n.js";
import { auditApi, download } from "../audit/api.js";
import { tabs, provinceSelect, isAdmin, classText, kindText } from "../audit/common.js";

const text = (v) => (v === null || v === undefined ? "" : String(v));
const baht = (v) => (v === null || v === undefined ? "0" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 }));
// What each plan asks the province per line: [entry field, label, input type].
const FIELDS = {
  repair: [["action", "plans.action", "text"], ["agency", "plans.responsible", "text"], ["target_date", "plans.target", "date"], ["cost_baht", "plans.cost", "number"]],
  install: [["action", "plans.purpose", "text"], ["agency", "plans.owner", "text"], ["cost_baht", "plans.cost", "number"], ["priority", "plans.priority", "number"]],
  link: [["action", "plans.step", "text"], ["target_date", "plans.target", "date"]],
};

/** The province's cells of one line (inputs for an administrator) and its save button. */
function entryCells(code, plan, item, entry) {
  const fields = FIELDS[plan];
  if (!isAdmin()) return fields.map(([f]) => h("td", { dataset: { f } }, text(entry[f])));
  const inputs = Object.fromEntries(fields.map(([f, label, type]) => [f, h("input", {
    type, name: f, value: text(entry[f]), "aria-label": t(label), min: type === "number" ? 0 : null, size: type === "text" ? 18 : 10 })]));
  const status = h("span", { class: "saved", role: "status" });
  const save = h("button", { type: "button", class: "save-entry", onclick: async () => {
    const body = { plan, item };
    for (const [f, , type] of fields) {
      const v = inputs[f].value.trim();
      if (v !== "") body[f] = type === "number" ? Number(v) : v;
    }
    try {
      await auditApi.fillPlan(code, body);
      status.className = "saved ok";
      status.textContent = t("plans.saved");
    } catch (err) { status.className = "saved error"; status.textContent = err instanceof ApiError ? err.message : String(err); }
  } }, t("plans.save"));
  return [...fields.map(([f]) => h("td", { dataset: { f } }, inputs[f])), h("td", {}, save, status)];
}

const heads = (keys, plan) => h("thead", {}, h("tr", {}, keys.map((k) => h("th", {}, t(k))),
  FIELDS[plan].map(([, label]) => h("th", {}, t(label))), isAdmin() ? h("th", {}) : null));

async function repair(code) {
  const plan = await auditApi.repairPlan(code);
  const s = plan.totals;
  const exportButton = (format, label) => h("button", { type: "button", id: `repair-export-${format}`, onclick: async () =>
    download(await auditApi.repairExport(code, format), `repair-plan-${code}.${format}`) }, t(label));
  return h("section", { class: "card", id: "repair-plan" }, h("h2", {}, t("plans.repair")),
    h("p", { id: "repair-totals" }, t("plans.totals", { rows: fmtInt(s.rows), open: fmtInt(s.open), done: fmtInt(s.done),
      planned: baht(s.planned_cost_baht), spent: baht(s.spent_baht) })),
    h("p", { class: "tools" }, exportButton("xlsx", "plans.exportXlsx"), exportButton("csv", "plans.exportCsv")),
    plan.rows.length ? h("table", { id: "repair-table" },
      heads(["plans.rank", "plans.item", "plans.where", "plans.owner", "plans.risk", "plans.age", "plans.progress"], "repair"),
      h("tbody", {}, plan.rows.map((r, i) => h("tr", { class: r.uncovered_points.length ? "uncovered" : "", dataset: { item: r.item, status: r.status } },
        h("td", { class: "num" }, fmtInt(i + 1)),
        h("td", { class: "item" }, r.declared_key ? h("a", { href: `#/audit/declared/${encodeURIComponent(r.declared_key)}` }, r.declared_key.split("|").pop())
          : `${t("plans.kindFault")} #${r.fault_id}`, r.declared_key && r.fault_id ? ` · ${t("plans.kindFault")} #${r.fault_id}` : null,
          r.klass ? h("div", { class: "muted" }, classText(r.klass)) : null),
        h("td", {}, r.location || r.camera || ""), h("td", {}, r.owner || ""),
        h("td", { class: "risk" }, r.uncovered_points.join(", ")),
        h("td", { class: "num" }, r.age_days === null ? "–" : r.age_days.toFixed(1)),
        h("td", { class: "progress" }, t(`plans.${r.status}`), r.spent_baht !== null ? ` · ${baht(r.spent_baht)} ฿` : null, r.parts ? ` · ${r.parts}` : null),
        entryCells(code, "repair", r.item, r.entry))))) : h("p", { class: "muted" }, t("plans.noRepair")));
}

async function install(code) {
  const plan = await auditApi.installPlan(code);
  return h("section", { class: "card", id: "install-plan" }, h("h2", {}, t("plans.install")),
    h("p", {}, t("plans.installTotals", { uncovered: fmtInt(plan.uncovered_now), points: fmtInt(plan.risk_points), cameras: fmtInt(plan.cameras_proposed) })),
    plan.proposals.length ? h("table", { id: "install-table" },
      heads(["plans.point", "audit.kind", "audit.radius", "audit.usableNow", "plans.needed", "plans.adds"], "install"),
      h("tbody", {}, plan.proposals.map((p) => h("tr", { dataset: { item: p.item } },
        h("td", {}, p.point), h("td", {}, kindText(p.kind)), h("td", { class: "num" }, fmtInt(p.radius_m)),
        h("td", { class: "num" }, `${fmtInt(p.usable_now)}/${fmtInt(p.required)}`), h("td", { class: "num" }, fmtInt(p.cameras_needed)),
        h("td", { class: "adds" }, p.adds.join(", ")), entryCells(code, "install", p.item, p.entry))))) : h("p", { class: "muted" }, t("plans.noInstall")));
}

async function link(code) {
  const plan = await auditApi.linkPlan(code);
  return h("section", { class: "card", id: "link-plan" }, h("h2", {}, t("plans.link")), h("p", {}, t("plans.linkTotals", { n: fmtInt(plan.cameras) })),
    plan.groups.length ? plan.groups.map((g) => h("div", { class: "link-group" },
      h("h3", {}, `${t("plans.site")}: ${g.site || t("plans.noSite")} · ${t("plans.agency")}: ${g.agency || "–"}`),
      h("table", { class: "link-table" }, heads(["audit.registerId", "audit.location", "field.ip", "field.serial"], "link"),
        h("tbody", {}, g.cameras.map((c) => h("tr", { dataset: { key: c.key } },
          h("td", {}, h("a", { href: `#/audit/declared/${encodeURIComponent(c.key)}` }, c.register_id || c.key)),
          h("td", {}, c.location), h("td", {}, c.ip), h("td", {}, c.serial), entryCells(code, "link", c.item, c.entry))))))) :
      h("p", { class: "muted" }, t("plans.noLink")));
}

function figures(f) {
  const c = f.completeness || {};
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  return h("ul", { class: "figures" },
    h("li", {}, `${t("plans.declared")}: ${fmtInt(c.declared || 0)}`), h("li", {}, `${t("plans.score")}: ${pct(c.score)}`),
    h("li", {}, `${t("plans.seen")}: ${pct(c.seen_share)}`), h("li", {}, `${t("plans.ghosts")}: ${fmtInt(c.ghosts || 0)}`),
    h("li", {}, `${t("plans.risk")}: ${fmtInt((f.uncovered || []).length)}`));
}

async function certification(code, reload) {
  const state = await auditApi.certification(code);
  const cert = state.certification;
  const box = h("section", { class: "card", id: "certification" }, h("h2", {}, t("plans.certification")));
  if (cert) {
    box.append(h("p", { id: "certified-by" }, t("plans.certifiedBy", { officer: cert.officer, at: fmtTime(cert.at) })),
      h("p", { id: "certification-state", class: state.changed_since_certification ? "changed conflict" : "ok" },
        t(state.changed_since_certification ? "plans.changed" : "plans.unchanged")),
      h("div", { class: "split" }, h("div", { id: "certified-figures" }, h("h3", {}, t("plans.snapshot")), figures(cert.snapshot)),
        h("div", { id: "current-figures" }, h("h3", {}, t("plans.now")), figures(state.current))));
  } else {
    box.append(h("p", { id: "certified-by", class: "muted" }, t("plans.notCertified")));
  }
  if (isAdmin()) {
    const officer = h("input", { id: "certify-officer", "aria-label": t("plans.officer"), placeholder: t("plans.officer"), size: 40 });
    const message = h("span", { role: "status" });
    box.append(h("p", { class: "tools" }, officer, h("button", { type: "button", class: "primary", id: "certify", onclick: async () => {
      try { await auditApi.certify(code, officer.value.trim(), ""); await reload(); } catch (err) { message.className = "error"; message.textContent = err.message; }
    } }, t("plans.certify")), message));
  }
  return box;
}

export async function render(main, code) {
  const { select: province } = await provinceSelect("plans-province");
  province.querySelector('option[value=""]')?.remove(); // plans are a province's
  if (code && [...province.options].some((o) => o.value === code)) province.value = code;
  const out = h("div", { id: "plans" });
  async function load() {
    const p = province.value;
    if (!p) return;
    const sections = await Promise.all([certification(p, load), repair(p), install(p), link(p)]);
    clear(out).append(...sections);
  }
  province.addEventListener("change", () => { location.hash = `#/audit/plans/${province.value}`; });
  main.append(tabs("plans"), h("h1", {}, t("plans.plans")), h("p", { class: "tools" }, province), out);
  await load();
  return null;
}
