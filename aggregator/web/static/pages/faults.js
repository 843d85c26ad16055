// Technicians' fault queue: open faults, oldest first, filtered, searched and paged by the API
// (it holds a country: the total is the API's real count). Acknowledge and resolve with a
// note; a viewer sees the queue without the buttons (and the API refuses anyway).
// The page keeps the user's place (filters, search, order, page) for the tab's session, and a
// live change never moves the rows under the pointer: it is announced, applied on request.
// Resolving a camera that is still not up is refused by the API (409 "camera X is still
// down (...)"): the page says why in the user's language and offers won't-fix instead.
import { api, ApiError } from "../api.js";
import { h, STATES } from "../dom.js";
import { t, fmtAge, fmtTime, placeName, reasonText } from "../i18n.js";
import { pagedTable } from "../table.js";
import { stateBadge } from "../widgets.js";
import { page } from "../shape.js";
import { session } from "../session.js";
import { drawCards } from "./fault-cards.js"; // phone layout (issue 15)
import { nearMe, saveLastQueue } from "../phone/queue.js"; // phone layout (issue 15)

function where(f, names) {
  if (f.kind === "broker") return h("span", {}, `${t("kind.broker")} ${f.broker}`); // national scope "00": no place
  const parts = [names[f.province] || f.province, f.site, f.camera_id].filter(Boolean);
  const href = f.camera_id ? `#/camera/${encodeURIComponent(f.site)}/${encodeURIComponent(f.camera_id)}`
    : f.site ? `#/site/${encodeURIComponent(f.site)}` : f.district ? `#/district/${f.district}` : `#/province/${f.province}`;
  return h("a", { href }, parts.join(" / "));
}

const VIEW_KEY = "camwatch.faults.view";
const KINDS = ["camera", "flapping", "site", "district", "province"];

function savedView() {
  try { return JSON.parse(sessionStorage.getItem(VIEW_KEY) || "null"); } catch { return null; }
}

// The "taken on" select as the API's parameters.
function takenParams(taken) {
  if (taken === "no") return { acknowledged: false };
  if (taken === "yes") return { acknowledged: true };
  if (taken === "mine") return { mine: true };
  return {};
}

export async function render(main) {
  let table;
  const provinces = page(await api.provinces()).items;
  const names = Object.fromEntries(provinces.map((p) => [p.code, placeName(p)]));
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

  // Phone layout (issue 15): the same rows as cards, "near me" (the browser's position, the
  // API orders by distance) and "my faults".
  const cards = h("div", { id: "fault-cards", class: "fault-cards" });
  const cardDone = (text, isError) => { message.textContent = text; message.className = isError ? "error" : ""; if (!isError) table.refresh(); };
  const near = nearMe(() => table.refresh(), (text) => { message.textContent = text; message.className = "error"; });
  const notice = h("div", { id: "queue-changed", role: "status", "aria-live": "polite", hidden: true });
  const showChanges = h("button", { type: "button", id: "queue-apply", onclick: () => { notice.hidden = true; table.refresh(); } }, t("queue.show"));

  table = pagedTable({
    id: "fault-table",
    defaultSort: "opened_at",
    search: true,
    initial: savedView(),
    onState: (view) => { notice.hidden = true; sessionStorage.setItem(VIEW_KEY, JSON.stringify(view)); },
    filters: [
      { param: "province", label: t("queue.allProvinces"),
        options: [["", t("queue.allProvinces")], ...provinces.map((p) => [p.code, placeName(p)])] },
      { param: "kind", label: t("queue.allKinds"), options: [["", t("queue.allKinds")], ...KINDS.map((k) => [k, t(`kind.${k}`)])] },
      { param: "state", label: t("allStates"), options: [["", t("allStates")], ...STATES.filter((s) => s !== "up").map((s) => [s, t(`state.${s}`)])] },
      { param: "taken", label: t("queue.anyone"),
        options: [["", t("queue.anyone")], ["no", t("queue.notTaken")], ["yes", t("queue.taken")], ["mine", t("queue.mine")]] },
    ],
    // The API filters, sorts (oldest first by default) and pages; its total is every match.
    load: async ({ taken, ...params }) => api.faultPage({ ...params, ...takenParams(taken), ...near.params(), active: true, top_level: true }),
    onRows: (rows, total) => { drawCards(cards, rows, names, cardDone); saveLastQueue(rows, total, names); },
    columns: [
      { key: "id", label: "#", sort: "id", sortDesc: "-id", render: (f) => String(f.id) },
      { key: "age", label: t("faults.age"), sort: "opened_at", sortDesc: "-opened_at", render: (f) => h("span", { title: fmtTime(f.opened_at) }, fmtAge((Date.now() - Date.parse(f.opened_at)) / 1000)) },
      { key: "kind", label: t("faults.kind"), render: (f) => t(`kind.${f.kind}`) },
      { key: "where", label: t("faults.where"), render: (f) => where(f, names) },
      { key: "state", label: t("state"), render: (f) => stateBadge(f.state, f.reason) },
      { key: "reason", label: t("reason"), render: (f) => reasonText(f.reason) },
      { key: "status", label: t("faults.status"), render: (f) => h("span", { class: "fault-status", title: f.acknowledged_by ? t("queue.takenBy", { who: f.acknowledged_by }) : undefined },
        t(`faults.status.${f.status}`), f.acknowledged_by ? h("span", { class: "muted taken-by" }, ` · ${f.acknowledged_by}`) : null) },
      { key: "actions", label: "", render: actions },
    ],
  });
  main.append(h("h1", {}, t("faults.title")));
  if (!session.canAct) main.append(h("p", { class: "muted", id: "viewer-note" }, t("faults.viewer")));
  notice.append(h("span", { class: "queue-changed-text" }), " ", showChanges);
  main.append(near.tools(table.root), message, notice, table.root);
  table.root.insertBefore(cards, table.root.querySelector(".pager"));
  table.start();
  // A live change is announced, never applied under the user's pointer: the rows move only
  // when they ask (or act themselves). Same rows in the same order: nothing to say.
  async function onFeed() {
    const next = await table.peek();
    const shown = table.shown();
    const same = next.total === shown.total && next.items.length === shown.items.length
      && next.items.every((f, i) => f.id === shown.items[i].id && f.status === shown.items[i].status);
    if (same) { notice.hidden = true; return; }
    const added = next.total - shown.total;
    notice.querySelector(".queue-changed-text").textContent = added > 0
      ? t("queue.new", { n: added.toLocaleString(), total: next.total.toLocaleString() })
      : t("queue.changed", { total: next.total.toLocaleString() });
    notice.hidden = false;
  }
  return { onFeed };
}
