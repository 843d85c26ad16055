// Technicians' fault queue: open faults by age; acknowledge, resolve with a note or close as
// won't fix. A viewer sees the queue without the buttons (and the API refuses anyway).
// Resolving a camera that is still not up is refused by the API (409 "camera X is still
// down (...)"): the page says why in the user's language and offers won't-fix instead.
import { api, ApiError } from "../api.js";
import { h } from "../dom.js";
import { t, fmtAge, fmtTime, placeName, reasonText } from "../i18n.js";
import { pagedTable } from "../table.js";
import { stateBadge } from "../widgets.js";
import { page } from "../shape.js";
import { session } from "../session.js";

function where(f, names) {
  const parts = [names[f.province] || f.province, f.site, f.camera_id].filter(Boolean);
  const href = f.camera_id ? `#/camera/${encodeURIComponent(f.site)}/${encodeURIComponent(f.camera_id)}`
    : f.site ? `#/site/${encodeURIComponent(f.site)}` : f.district ? `#/district/${f.district}` : `#/province/${f.province}`;
  return h("a", { href }, parts.join(" / "));
}

export async function render(main) {
  let table;
  const names = Object.fromEntries(page(await api.provinces()).items.map((p) => [p.code, placeName(p)]));
  const message = h("p", { id: "fault-message", role: "status" });
  // Notes being written, by fault id: a redraw already in flight when the technician starts
  // typing replaces the rows, and the new row must come back with what was typed.
  const drafts = new Map();

  function actions(f) {
    if (!session.canAct) return "";
    const note = h("textarea", {
      "aria-label": t("faults.note"), placeholder: t("faults.note"), class: "fault-note",
      oninput: (e) => drafts.set(f.id, e.target.value),
    });
    note.value = drafts.get(f.id) || "";
    const act = (fn, needsNote) => async () => {
      if (needsNote && !note.value.trim()) {
        message.textContent = t("faults.noteNeeded");
        message.className = "error";
        note.focus();
        return;
      }
      try {
        await fn(f.id, note.value.trim());
        drafts.delete(f.id);
        message.textContent = `#${f.id}: ${t("faults.done")}`;
        message.className = "";
      } catch (err) {
        const refused = err instanceof ApiError && err.status === 409 && / is still /.test(err.message);
        message.textContent = err instanceof ApiError && err.status === 403 ? t("error.forbidden")
          : refused ? `#${f.id}: ${t("faults.stillFailing")} (${err.message})` : err.message;
        message.className = "error";
      }
      table.refresh();
    };
    return h("div", { class: "actions" }, note,
      f.status === "open" ? h("button", { type: "button", class: "ack", onclick: act(api.acknowledge, false) }, t("faults.ack")) : null,
      h("button", { type: "button", class: "resolve", onclick: act(api.resolve, true) }, t("faults.resolve")),
      h("button", { type: "button", class: "wontfix", onclick: act(api.closeWontFix, true) }, t("faults.wontFix")));
  }

  table = pagedTable({
    id: "fault-table",
    defaultSort: "opened_at",
    // opened_at sorts as text: the API writes ISO 8601 UTC times of one width.
    load: async ({ limit, offset, sort }) => {
      // The API lists newest first; the queue shows the oldest first (or as the user sorts).
      const rows = page(await api.faults({ active: true, top_level: true, limit: 1000 })).items;
      const dir = sort.startsWith("-") ? -1 : 1;
      const key = sort.replace(/^-/, "") || "opened_at";
      rows.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * dir);
      return { items: rows.slice(offset, offset + limit), total: rows.length };
    },
    columns: [
      { key: "id", label: "#", sort: "id", sortDesc: "-id", render: (f) => String(f.id) },
      { key: "age", label: t("faults.age"), sort: "opened_at", sortDesc: "-opened_at", render: (f) => h("span", { title: fmtTime(f.opened_at) }, fmtAge((Date.now() - Date.parse(f.opened_at)) / 1000)) },
      { key: "kind", label: t("faults.kind"), render: (f) => t(`kind.${f.kind}`) },
      { key: "where", label: t("faults.where"), render: (f) => where(f, names) },
      { key: "state", label: t("state"), render: (f) => stateBadge(f.state, f.reason) },
      { key: "reason", label: t("reason"), render: (f) => reasonText(f.reason) },
      { key: "status", label: t("faults.status"), render: (f) => h("span", { class: "fault-status" }, t(`faults.status.${f.status}`)) },
      { key: "actions", label: "", render: actions },
    ],
  });
  main.append(h("h1", {}, t("faults.title")));
  if (!session.canAct) main.append(h("p", { class: "muted", id: "viewer-note" }, t("faults.viewer")));
  main.append(message, table.root);
  table.start();
  // A live refresh redraws the rows: never while a technician is writing a note.
  const writing = () => [...main.querySelectorAll("textarea.fault-note")].some((el) => el.value || el === document.activeElement);
  return { onFeed() { if (!writing()) table.refresh(); } };
}
