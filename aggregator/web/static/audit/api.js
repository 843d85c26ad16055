// The audit's API calls (register upload, declared cameras, edits, reconciliation, risk points),
// kept apart from api.js. Messages come back in the dashboard's language (lang=).
import { token, listeners, ApiError } from "../api.js";
import { lang } from "../i18n.js";

const REQUEST_TIMEOUT_MS = 60000; // an upload of a big register takes a while
const enc = encodeURIComponent;
const BASE = "/api/v1/audit";

function query(params) {
  const q = new URLSearchParams({ lang: lang() });
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  return `?${q}`;
}

/** fetch with the bearer header; answers the Response (throws ApiError with the API's detail). */
async function call(method, path, { params, json, form, headers = {} } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const all = { ...headers, "Accept-Language": lang() };
  const tok = token.get();
  if (tok) all.Authorization = `Bearer ${tok}`;
  let body;
  if (json !== undefined) { all["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  try {
    const res = await fetch(path + query(params), { method, headers: all, body, signal: controller.signal, cache: "no-store" });
    if (res.status === 401) { listeners.unauthorised(); throw new ApiError(401, "unauthorised"); }
    if (!res.ok) {
      let detail = res.statusText;
      try { detail = (await res.json()).detail ?? detail; } catch { /* not JSON */ }
      throw new ApiError(res.status, typeof detail === "string" ? detail : (detail || []).map((d) => d.msg ?? String(d)).join("; "));
    }
    return res;
  } finally {
    clearTimeout(timer);
  }
}

const json = async (method, path, options) => (await call(method, path, options)).json();

export const auditApi = {
  upload(file, { dryRun = false } = {}) {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("dry_run", dryRun ? "true" : "false");
    return json("POST", `${BASE}/register`, { form });
  },
  imports: () => json("GET", `${BASE}/imports`, { params: { limit: 50 } }),
  rejectedCsv: async (id) => (await call("GET", `${BASE}/imports/${enc(id)}/rejected`)).blob(),
  declared: (params) => json("GET", `${BASE}/declared`, { params }),
  async camera(key) {
    const res = await call("GET", `${BASE}/declared/${enc(key)}`);
    return res.json();
  },
  edit: (key, version, changes) => json("PATCH", `${BASE}/declared/${enc(key)}`, { json: changes, headers: { "If-Match": `"${version}"` } }),
  history: (key) => json("GET", `${BASE}/history/${enc(key)}`),
  summary: (province) => json("GET", `${BASE}/summary`, { params: { province } }),
  matches: (params) => json("GET", `${BASE}/matches`, { params }),
  reconcile: (province) => json("POST", `${BASE}/reconcile`, { json: province ? { province } : {} }),
  riskCoverage: (province) => json("GET", `${BASE}/risk-coverage`, { params: { province } }),
  completeness: (province) => json("GET", `${BASE}/completeness`, { params: { province } }),
  repairPlan: (code) => json("GET", `${BASE}/plans/${enc(code)}/repair`),
  repairExport: async (code, format) => (await call("GET", `${BASE}/plans/${enc(code)}/repair/export`, { params: { format } })).blob(),
  installPlan: (code) => json("GET", `${BASE}/plans/${enc(code)}/install`),
  linkPlan: (code) => json("GET", `${BASE}/plans/${enc(code)}/link`),
  fillPlan: (code, entry) => json("PUT", `${BASE}/plans/${enc(code)}`, { json: entry }),
  certification: (code) => json("GET", `${BASE}/certifications/${enc(code)}`),
  certify: (code, officer, note) => json("POST", `${BASE}/certifications/${enc(code)}`, { json: { officer, note } }),
  // issue 16 (i16b): firmware advisories, matched cameras per province
  advisories: (province) => json("GET", `${BASE}/advisories`, { params: { province } }),
};

/** Save a blob as a file the browser downloads. */
export function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}
