// Fault cards: the fault queue's phone layout (issue 15). The same page of faults the table
// shows, one card a fault: what, where (site name, address, a directions link built from the
// site's position, its phone), since when, the last snapshot inline (fetched with the bearer
// header only when the card comes into view on a narrow screen), and one-tap work: acknowledge,
// assign to me or to a named technician, resolve with a repair note, parts and cost, or close
// as won't-fix with a reason. CSS (phone.css) shows the cards below 760 px and the table above.
import { request, latestSnapshot, ApiError } from "../api.js";
import { h, clear } from "../dom.js";
import { t, fmtAge, fmtTime, reasonText } from "../i18n.js";
import { stateBadge } from "../widgets.js";
import { session } from "../session.js";
import { directionsUrl } from "./area.js";

const enc = encodeURIComponent;
export const NARROW = "(max-width: 760px)";

export const faultActions = {
  acknowledge: (id) => request("POST", `/api/v1/faults/${enc(id)}/acknowledge`, { body: {} }),
  assign: (id, assignee) => request("POST", `/api/v1/faults/${enc(id)}/assign`, { body: assignee ? { assignee } : {} }),
  resolve: (id, repair) => request("POST", `/api/v1/faults/${enc(id)}/resolve`, { body: repair }),
};


// Snapshots already fetched, by "site/camera": a redraw of the queue does not fetch them again.
const pictures = new Map();

function snapshotBox(f) {
  const box = h("div", { class: "card-snapshot" });
  if (!f.camera_id || !f.site) return box;
  const key = `${f.site}/${f.camera_id}`;
  const show = (entry) => {
    if (entry.url) box.replaceChildren(h("img", { src: entry.url, alt: t("camera.snapshot"), loading: "lazy" }),
      h("span", { class: "muted" }, `${t("snapshot.taken")} ${fmtTime(entry.takenAt)}`));
    else box.replaceChildren(h("span", { class: "muted" }, t("phone.noSnapshot")));
  };
  if (pictures.has(key)) { show(pictures.get(key)); return box; }
  box.dataset.pending = key;
  return box;
}

// Fetch the snapshots of cards that come into view, on narrow screens only.
const observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (!e.isIntersecting || !window.matchMedia(NARROW).matches) continue;
    const box = e.target;
    observer.unobserve(box);
    const key = box.dataset.pending;
    if (!key) continue;
    delete box.dataset.pending;
    const [site, cam] = key.split("/");
    latestSnapshot(site, cam).then((s) => {
      const entry = { url: s.blob ? URL.createObjectURL(s.blob) : null, takenAt: s.takenAt };
      pictures.set(key, entry);
      if (entry.url) box.replaceChildren(h("img", { src: entry.url, alt: t("camera.snapshot") }),
        h("span", { class: "muted" }, `${t("snapshot.taken")} ${fmtTime(entry.takenAt)}`));
      else box.replaceChildren(h("span", { class: "muted" }, t("phone.noSnapshot")));
    }).catch(() => box.replaceChildren(h("span", { class: "muted" }, t("phone.noSnapshot"))));
  }
}, { rootMargin: "200px" });

function whereBlock(f, names) {
  const title = f.site_name || f.site || (f.district ? `${t("level.district")} ${f.district}` : names[f.province] || f.province);
  const href = f.camera_id ? `#/camera/${enc(f.site)}/${enc(f.camera_id)}`
    : f.site ? `#/site/${enc(f.site)}` : f.district ? `#/district/${f.district}` : `#/province/${f.province}`;
  const lines = [h("a", { href, class: "card-place" }, title)];
  const sub = [f.camera_id, f.site_name ? f.site : null, names[f.province]].filter(Boolean).join(" · ");
  if (sub) lines.push(h("div", { class: "muted" }, sub));
  if (f.address) lines.push(h("div", { class: "card-address" }, f.address));
  const links = [];
  if (f.lat !== null && f.lat !== undefined && f.lon !== null && f.lon !== undefined) {
    links.push(h("a", { class: "directions button", href: directionsUrl(f.lat, f.lon), target: "_blank", rel: "noopener noreferrer" },
      t("site.directions")));
  }
  if (f.phone) links.push(h("a", { class: "button", href: `tel:${f.phone.replace(/[^\d+]/g, "")}` }, f.phone));
  if (f.distance_km !== null && f.distance_km !== undefined) {
    links.push(h("span", { class: "distance" }, t("phone.km", { km: f.distance_km.toLocaleString(undefined, { maximumFractionDigits: 1 }) })));
  }
  if (links.length) lines.push(h("div", { class: "card-links" }, links));
  return h("div", { class: "card-where" }, lines);
}

/** The work a technician does from a card; ``done(message, isError)`` reports and redraws. */
function workBlock(f, done) {
  if (!session.canAct) return null;
  const act = (fn, okText) => async () => {
    try {
      await fn();
      done(`#${f.id}: ${okText}`, false);
    } catch (err) {
      const refused = err instanceof ApiError && err.status === 409 && / is still /.test(err.message);
      done(err instanceof ApiError && err.status === 403 ? t("error.forbidden")
        : refused ? `#${f.id}: ${t("faults.stillFailing")}` : `#${f.id}: ${err.message}`, true);
    }
  };
  const buttons = [];
  if (f.status === "open") {
    buttons.push(h("button", { type: "button", class: "ack primary", onclick: act(() => faultActions.acknowledge(f.id), t("faults.done")) }, t("faults.ack")));
  }
  const me = session.me && session.me.name;
  if (!me || f.assignee !== me) {
    buttons.push(h("button", { type: "button", class: "assign-me", onclick: act(() => faultActions.assign(f.id, null), t("faults.done")) }, t("phone.assignMe")));
  }
  const who = h("input", { type: "text", class: "assignee", maxlength: 100, placeholder: t("phone.technician"), "aria-label": t("phone.technician") });
  const assignTo = h("details", { class: "assign-to" }, h("summary", {}, t("phone.assignTo")), h("div", { class: "form-row" }, who,
    h("button", { type: "button", class: "assign-named", onclick: () => {
      const name = who.value.trim();
      if (!name) { who.focus(); return; }
      act(() => faultActions.assign(f.id, name), t("phone.assigned", { who: name }))();
    } }, t("phone.assign"))));

  const note = h("textarea", { class: "repair-note", rows: 2, maxlength: 2000, placeholder: t("phone.repairNote"), "aria-label": t("phone.repairNote") });
  const parts = h("input", { type: "text", class: "repair-parts", maxlength: 1000, placeholder: t("phone.parts"), "aria-label": t("phone.parts") });
  const cost = h("input", { type: "number", class: "repair-cost", min: 0, step: "0.01", inputmode: "decimal", placeholder: t("phone.cost"), "aria-label": t("phone.cost") });
  const need = (field) => { if (field.value.trim()) return true; field.focus(); done(t("faults.noteNeeded"), true); return false; };
  const resolve = h("details", { class: "resolve-form" }, h("summary", {}, t("faults.resolve")),
    note, parts, cost,
    h("button", { type: "button", class: "resolve primary", onclick: () => {
      if (!need(note)) return;
      const repair = { done: note.value.trim(), parts: parts.value.trim() };
      if (cost.value !== "") repair.cost = Number(cost.value);
      act(() => faultActions.resolve(f.id, repair), t("faults.done"))();
    } }, t("phone.resolveSave")));
  const reason = h("textarea", { class: "wontfix-reason", rows: 2, maxlength: 2000, placeholder: t("phone.reason"), "aria-label": t("phone.reason") });
  const wontFix = h("details", { class: "wontfix-form" }, h("summary", {}, t("faults.wontFix")), reason,
    h("button", { type: "button", class: "wontfix", onclick: () => {
      if (!need(reason)) return;
      act(() => faultActions.resolve(f.id, { done: reason.value.trim(), wont_fix: true }), t("faults.done"))();
    } }, t("phone.close")));
  return h("div", { class: "card-work" }, h("div", { class: "card-buttons" }, buttons), assignTo, resolve, wontFix);
}

/** One card. */
export function faultCard(f, names, done) {
  const since = Date.parse(f.opened_at);
  const card = h("article", { class: "fault-card card", dataset: { id: String(f.id), status: f.status } },
    h("header", { class: "card-head" },
      h("span", { class: "card-id" }, `#${f.id}`), " ",
      h("strong", { class: "card-what" }, t(`kind.${f.kind}`)), " ",
      stateBadge(f.state, f.reason), " ",
      h("span", { class: "muted" }, reasonText(f.reason))),
    whereBlock(f, names),
    h("div", { class: "card-since" }, h("span", { title: fmtTime(f.opened_at) },
      t("phone.since", { age: fmtAge((Date.now() - since) / 1000), at: fmtTime(f.opened_at) }))),
    h("div", { class: "card-status" }, t(`faults.status.${f.status}`),
      f.assignee ? h("span", { class: "card-assignee" }, ` · ${t("phone.with", { who: f.assignee })}`) : null),
    snapshotBox(f),
    workBlock(f, done));
  return card;
}

/** Draw ``items`` as cards into ``list`` (replacing what was there). */
export function drawCards(list, items, names, done) {
  clear(list);
  if (!items.length) { list.append(h("p", { class: "muted" }, t("noRows"))); return; }
  for (const f of items) {
    const card = faultCard(f, names, done);
    list.append(card);
    const box = card.querySelector(".card-snapshot[data-pending]");
    if (box && observer) observer.observe(box);
  }
}
