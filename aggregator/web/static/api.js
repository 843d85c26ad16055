// Every call the dashboard makes to the camwatch API, in one place. The bearer token lives
// in sessionStorage (this tab only) and travels only in the Authorization header.
const TOKEN_KEY = "camwatch.token";
// A page load must not hang on a stuck server: abort a request after this long.
const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export const listeners = { unauthorised: () => {} };

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function request(method, path, { params, body, accept = "application/json", withTotal = false } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const headers = { Accept: accept };
  const tok = token.get();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const res = await fetch(path + query(params), {
      method, headers, signal: controller.signal, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) { listeners.unauthorised(); throw new ApiError(401, "unauthorised"); }
    if (!res.ok) {
      let detail = res.statusText;
      try { detail = (await res.json()).detail ?? detail; } catch { /* not JSON */ }
      throw new ApiError(res.status, typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    if (withTotal) return { items: await res.json(), total: Number(res.headers.get("X-Total-Count")) };
    if (accept === "application/json") return await res.json();
    return await res.blob();
  } finally {
    clearTimeout(timer);
  }
}

const get = (path, params) => request("GET", path, { params });
const post = (path, body) => request("POST", path, { body });
const enc = encodeURIComponent;

export const api = {
  me: () => get("/api/v1/me"),
  nation: () => get("/api/v1/nation"),
  availability: (level, key, window) => get("/api/v1/availability", { level, key, window }),
  provinces: () => get("/api/v1/provinces"),
  province: (code) => get(`/api/v1/provinces/${enc(code)}`),
  districts: (province) => get("/api/v1/districts", { province }),
  district: (code) => get(`/api/v1/districts/${enc(code)}`),
  sites: (params) => get("/api/v1/sites", params),
  site: (site) => get(`/api/v1/sites/${enc(site)}`),
  cameras: (params) => get("/api/v1/cameras", params),
  camera: (site, cam) => get(`/api/v1/cameras/${enc(site)}/${enc(cam)}`),
  cameraDays: (site, cam, days = 30) => get(`/api/v1/reports/camera-days/${enc(site)}/${enc(cam)}`, { days }),
  faults: (params) => get("/api/v1/faults", params),
  // One page of the fault queue with the real total (the X-Total-Count header): {items, total}.
  faultPage: (params) => request("GET", "/api/v1/faults", { params, withTotal: true }),
  acknowledge: (id) => post(`/api/v1/faults/${enc(id)}/acknowledge`, {}),
  resolve: (id, note) => post(`/api/v1/faults/${enc(id)}/resolve`, { done: note }),
  closeWontFix: (id, note) => post(`/api/v1/faults/${enc(id)}/resolve`, { done: note, wont_fix: true }),
  report: (params) => get("/api/v1/reports/monthly", params),
  reportFile: (params, accept) => request("GET", "/api/v1/reports/monthly", { params, accept }),
  packFile: (params, accept) => request("GET", "/api/v1/reports/pack", { params, accept }),
  snapshot: (site, cam) => request("GET", `/api/v1/cameras/${enc(site)}/${enc(cam)}/snapshot`, { accept: "image/jpeg" }),
  requestSnapshot: (site, cam) => post(`/api/v1/cameras/${enc(site)}/${enc(cam)}/snapshot`, {}),
  feedPath: "/api/v1/feed",
  // issue 16 (i16b): change events of a camera
  cameraChanges: (site, cam) => get(`/api/v1/cameras/${enc(site)}/${enc(cam)}/changes`),
};

/** The camera's latest snapshot with what the API says about it (headers), fetched with the
 *  bearer header (never a token in a URL): {blob, takenAt, cmdId, error, errorCmdId, detail}.
 *  blob is null when there is no picture (404: detail says why). */
export async function latestSnapshot(site, cam) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const headers = { Accept: "image/jpeg" };
  const tok = token.get();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  try {
    const res = await fetch(`/api/v1/cameras/${enc(site)}/${enc(cam)}/snapshot`, { headers, signal: controller.signal, cache: "no-store" });
    if (res.status === 401) { listeners.unauthorised(); throw new ApiError(401, "unauthorised"); }
    const out = {
      blob: null, takenAt: res.headers.get("X-Snapshot-Taken-At"), cmdId: res.headers.get("X-Snapshot-Cmd-Id"),
      error: res.headers.get("X-Snapshot-Error"), errorCmdId: res.headers.get("X-Snapshot-Error-Cmd-Id"), detail: "",
    };
    if (res.ok) out.blob = await res.blob();
    else if (res.status === 404) { try { out.detail = (await res.json()).detail ?? ""; } catch { /* not JSON */ } }
    else throw new ApiError(res.status, res.statusText);
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Availability of one area over the dashboard's three windows; a window the API cannot answer is null. */
export async function windows(level, key) {
  const names = { "24h": "last_24h", "7d": "last_7d", "30d": "last_30d" };
  const out = {};
  await Promise.all(Object.entries(names).map(async ([short, name]) => {
    try { out[short] = await api.availability(level, key, name); } catch (err) {
      if (err.status === 401) throw err;
      out[short] = null;
    }
  }));
  return out;
}
