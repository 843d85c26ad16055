// Hash routes of the audit pages (issue 14), spread into app.js's ROUTES.
import * as register from "../pages/audit-register.js";
import * as declared from "../pages/audit-declared.js";
import * as reconcile from "../pages/audit-reconcile.js";
import * as risk from "../pages/audit-risk.js";
import * as completeness from "../pages/audit-completeness.js";
import * as plans from "../pages/audit-plans.js";

export const AUDIT_ROUTES = [
  [/^#\/audit\/register$/, (m) => register.render(m)],
  [/^#\/audit\/declared(?:\/(.+))?$/, (m, p) => declared.render(m, p[1] ? decodeURIComponent(p[1]) : null)],
  [/^#\/audit\/reconcile$/, (m) => reconcile.render(m)],
  [/^#\/audit\/risk$/, (m) => risk.render(m)],
  [/^#\/audit\/completeness$/, (m) => completeness.render(m)],
  [/^#\/audit\/plans(?:\/(\d\d))?$/, (m, p) => plans.render(m, p[1] || null)],
];
