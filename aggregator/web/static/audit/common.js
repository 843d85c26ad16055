// Pieces the audit pages share: their tab bar and the province chooser (the caller's provinces only).
import { api } from "../api.js";
import { h } from "../dom.js";
import { t, placeName } from "../i18n.js";
import { page } from "../shape.js";
import { session } from "../session.js";

const TABS = [["register", "audit.register"], ["declared", "audit.declared"], ["reconcile", "audit.reconcile"], ["risk", "audit.risk"],
  ["completeness", "plans.completeness"], ["plans", "plans.plans"]];

export function tabs(current) {
  return h("nav", { class: "tabs audit-tabs" }, TABS.map(([name, key]) =>
    h("a", { href: `#/audit/${name}`, class: name === current ? "active" : "", "aria-current": name === current ? "page" : null }, t(key))));
}

/** A <select> of the provinces the caller may see; a national caller may also pick "all". */
export async function provinceSelect(id) {
  const rows = page(await api.provinces()).items;
  const scoped = Boolean(session.me && session.me.provinces && session.me.provinces.length);
  const select = h("select", { id, "aria-label": t("audit.province") },
    scoped ? null : h("option", { value: "" }, t("audit.allProvinces")),
    rows.map((p) => h("option", { value: p.code }, placeName(p))));
  const names = Object.fromEntries(rows.map((p) => [p.code, placeName(p)]));
  return { select, names };
}

export const isAdmin = () => Boolean(session.me && session.me.role === "admin");

export function classText(klass) {
  if (!klass) return "–";
  const key = `class.${klass}`;
  const text = t(key);
  return text === key ? klass : text;
}

export function statusText(status) {
  const key = `dstatus.${status}`;
  const text = t(key);
  return text === key ? status || "–" : text;
}

export function kindText(kind) {
  const key = `riskKind.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}

export const BROKEN_WORKS = "register says broken, camera works";
