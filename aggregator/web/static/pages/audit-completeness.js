// Completeness and accuracy per province (the committee's view): shares of declared cameras with
// position, serial, agency and status, shares seen and verified by an agent, ghosts and
// unregistered cameras, the repair plan's progress and the certification; most complete first.
import { h, clear } from "../dom.js";
import { t, fmtInt, fmtPct, fmtTime, placeName } from "../i18n.js";
import { auditApi } from "../audit/api.js";
import { tabs } from "../audit/common.js";

const baht = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 }));

function row(r) {
  const plan = r.plan;
  return h("tr", { dataset: { province: r.province } },
    h("td", { class: "num" }, fmtInt(r.rank)),
    h("td", {}, h("a", { href: `#/audit/plans/${r.province}` }, placeName(r) || r.province)),
    h("td", { class: "num" }, fmtInt(r.declared)),
    ["position_share", "serial_share", "agency_share", "status_share"].map((k) => h("td", { class: "num", dataset: { k } }, fmtPct(r[k]))),
    h("td", { class: "num score", dataset: { k: "score" } }, fmtPct(r.score)),
    h("td", { class: "num", dataset: { k: "seen_share" } }, fmtPct(r.seen_share)),
    h("td", { class: "num", dataset: { k: "verified_share" } }, fmtPct(r.verified_share)),
    h("td", { class: "num", dataset: { k: "ghosts" } }, fmtInt(r.ghosts)),
    h("td", { class: "num", dataset: { k: "unregistered" } }, fmtInt(r.unregistered)),
    h("td", { class: "num", dataset: { k: "plan" } }, plan ? `${fmtInt(plan.done)}/${fmtInt(plan.rows)}` : "–"),
    h("td", { class: "num" }, plan ? baht(plan.planned_cost_baht) : "–"),
    h("td", { class: "num" }, plan ? baht(plan.spent_baht) : "–"),
    h("td", { dataset: { k: "certified" } }, r.certified_at ? `${fmtTime(r.certified_at)} (${r.certified_by})` : t("plans.notCertified")));
}

export async function render(main) {
  const out = h("div", { id: "completeness" });
  const rows = await auditApi.completeness();
  const heads = ["plans.rank", "audit.province", "plans.declared", "plans.position", "plans.serial", "plans.agency", "plans.status",
    "plans.score", "plans.seen", "plans.verified", "plans.ghosts", "plans.unregistered", "plans.plan", "plans.plannedCost",
    "plans.spent", "plans.certified"];
  clear(out).append(rows.length ? h("table", { id: "completeness-table" },
    h("thead", {}, h("tr", {}, heads.map((k) => h("th", {}, t(k))))),
    h("tbody", {}, rows.map(row))) : h("p", { class: "muted" }, t("plans.none")));
  main.append(tabs("completeness"), h("h1", {}, t("plans.completenessTitle")), h("p", { class: "muted" }, t("plans.completenessNote")), out);
  return null;
}
