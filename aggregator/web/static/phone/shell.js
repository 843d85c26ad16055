// Issue 15's pieces of the shell, wired into app.js in a few marked lines: the header search,
// the service worker and offline view, and the routes of its pages.
import { installSearch } from "../search.js";
import * as siteEdit from "../pages/site-edit.js";
import { registerPwa, isOffline } from "../pwa/register.js";
import { renderOffline } from "../pwa/offline.js";
import { forgetLastQueue } from "./queue.js";
import { installAlerts, alertsOnFeed, checkAlerts } from "../console/alerts.js";

export const PHONE_ROUTES = [
  [/^#\/site\/([^/]+)\/edit$/, (m, p) => siteEdit.render(m, decodeURIComponent(p[1]))],
];

export { isOffline, renderOffline, forgetLastQueue, alertsOnFeed, checkAlerts };

/** Install the header search and the service worker; redraw when the connection returns. */
export function installPhone(route) {
  installSearch();
  registerPwa();
  installAlerts();
  window.addEventListener("online", () => route());
}
