// A site's place, edited by an administrator (issue 15): name, agency, address, position and
// phone, sent to PATCH /api/v1/sites/{id} (which checks the position lies in the site's
// province). The audit register's positions are offered when a declared camera of the
// register was matched to one of this site's cameras.
import { api, request, ApiError } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { crumbs } from "../widgets.js";
import { session } from "../session.js";

const enc = encodeURIComponent;
const REGISTER_LIMIT = 1000;

/** Declared cameras of the register matched to a camera of ``siteId`` that carry a position. */
async function registerPositions(site) {
  try {
    const rows = await request("GET", "/api/v1/audit/declared", { params: { province: site.province, district: site.district, limit: REGISTER_LIMIT } });
    return rows.filter((d) => d.discovered_key && d.discovered_key.startsWith(`${site.site_id}/`) && d.lat != null && d.lon != null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return [];
  }
}

export async function render(main, siteId) {
  const site = await api.site(siteId);
  main.append(crumbs([[site.site_id, `#/site/${enc(site.site_id)}`], [t("site.edit"), null]]), h("h1", {}, `${t("site.edit")}: ${site.name || site.site_id}`));
  if (!session.me || session.me.role !== "admin") { main.append(h("p", { class: "error" }, t("error.forbidden"))); return null; }
  const field = (key, label, attrs = {}) => {
    const input = h("input", { id: `place-${key}`, name: key, ...attrs });
    input.value = site[key] ?? "";
    return [h("label", { for: `place-${key}` }, label), input];
  };
  const message = h("p", { id: "place-message", role: "status" });
  const [nameL, name] = field("name", t("site.name"), { maxlength: 200 });
  const [agencyL, agency] = field("agency", t("site.agency"), { maxlength: 200 });
  const [addressL, address] = field("address", t("site.address"), { maxlength: 500 });
  const [latL, lat] = field("lat", t("site.lat"), { type: "number", step: "any", min: -90, max: 90, inputmode: "decimal" });
  const [lonL, lon] = field("lon", t("site.lon"), { type: "number", step: "any", min: -180, max: 180, inputmode: "decimal" });
  const [phoneL, phone] = field("phone", t("site.phone"), { type: "tel", maxlength: 40 });
  const form = h("form", { id: "place-form", class: "card place-form" }, nameL, name, agencyL, agency, addressL, address,
    latL, lat, lonL, lon, phoneL, phone, h("button", { type: "submit", class: "primary" }, t("site.save")), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), agency: agency.value.trim(), address: address.value.trim(), phone: phone.value.trim(),
      lat: lat.value === "" ? null : Number(lat.value), lon: lon.value === "" ? null : Number(lon.value) };
    try {
      await request("PATCH", `/api/v1/sites/${enc(site.site_id)}`, { body });
      message.className = "ok";
      message.replaceChildren(t("site.saved"), " ", h("a", { href: `#/site/${enc(site.site_id)}` }, site.site_id));
    } catch (err) {
      message.className = "error";
      message.textContent = err instanceof ApiError && err.status === 403 ? t("error.forbidden") : err.message;
    }
  });
  main.append(form);
  const offered = await registerPositions(site);
  if (offered.length) {
    main.append(h("h2", {}, t("site.fromRegister")), h("ul", { id: "register-positions", class: "register-positions" }, offered.map((d) =>
      h("li", {}, `${d.location || d.register_id || d.key} (${d.discovered_key.split("/")[1]}): ${d.lat.toFixed(5)}, ${d.lon.toFixed(5)} `,
        h("button", { type: "button", class: "use-position", onclick: () => {
          lat.value = String(d.lat); lon.value = String(d.lon);
          if (!address.value && d.location) address.value = d.location;
          if (!agency.value && d.agency) agency.value = d.agency;
        } }, t("site.use"))))));
  }
  return null;
}
