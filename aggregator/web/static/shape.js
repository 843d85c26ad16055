// Normalise the API's answers into what the pages draw. Only this module (and api.js) knows
// the exact field names of the availability endpoints.
import { STATES } from "./dom.js";

/** Cameras per state from an AreaPublic / NationSummary / SitePublic (``states``). */
export function counts(a) {
  const src = a.states ?? a.counts ?? {};
  const out = {};
  for (const s of STATES) out[s] = Number(src[s] ?? 0);
  return out;
}

/** {available, usable, counts, cameras} right now: shares of the cameras whose state is known. */
export function current(a) {
  const c = counts(a);
  const known = c.up + c.degraded + c.down;
  return {
    available: known ? (c.up + c.degraded) / known : null,
    usable: known ? c.up / known : null,
    counts: c,
    cameras: a.cameras ?? STATES.reduce((n, s) => n + c[s], 0),
  };
}

/** {available, usable} of an AvailabilityPublic (or nulls when the window was not answered). */
export function windowed(w) {
  return w ? { available: w.available ?? null, usable: w.usable ?? null } : { available: null, usable: null };
}

/** An API list answer as {items, total}: a Page, or a plain array. */
export function page(res) {
  if (Array.isArray(res)) return { items: res, total: res.length };
  return { items: res.items ?? [], total: res.total ?? (res.items ?? []).length };
}
