// Normalise the API's availability answers into what the pages draw. Only this module knows
// the exact field names of the availability endpoints.
import { STATES } from "./dom.js";

/** {available, usable, counts: {state: n}, cameras} for "now" from an availability answer. */
export function current(a) {
  const now = a.now ?? a.current ?? a;
  const counts = {};
  const src = now.counts ?? now.states ?? a.counts ?? {};
  for (const s of STATES) counts[s] = Number(src[s] ?? 0);
  const cameras = now.cameras ?? a.cameras ?? Object.values(counts).reduce((x, y) => x + y, 0);
  return { available: now.available ?? null, usable: now.usable ?? null, counts, cameras };
}

/** {available, usable} over a window ("24h", "7d", "30d") from an availability answer. */
export function windowed(a, name) {
  const w = (a.windows ?? {})[name] ?? a[`w${name}`] ?? null;
  return w ? { available: w.available ?? null, usable: w.usable ?? null } : { available: null, usable: null };
}

export function openFaults(a) { return a.open_faults ?? a.faults_open ?? null; }
