// The offline shell (issue 15): the last loaded fault queue, read-only, with a clear
// "offline" mark; the live pages come back when the connection does.
import { h, clear } from "../dom.js";
import { t, fmtTime, fmtInt } from "../i18n.js";
import { lastQueue } from "../phone/queue.js";
import { faultCard } from "../pages/fault-cards.js";
import { session } from "../session.js";

export function renderOffline(main) {
  const saved = lastQueue();
  clear(main);
  const view = h("div", { class: "view", id: "offline-view" },
    h("h1", {}, h("span", { class: "offline-mark", id: "offline-mark" }, t("offline.mark")), " ", t("faults.title")));
  if (!saved || !saved.items) {
    view.append(h("p", { class: "muted" }, t("offline.none")));
  } else {
    view.append(h("p", { class: "muted", id: "offline-note" }, t("offline.queue", { total: fmtInt(saved.total), at: fmtTime(saved.at) })));
    const canAct = session.canAct;
    session.canAct = false; // nothing can be sent while offline
    const list = h("div", { id: "offline-queue", class: "fault-cards offline-cards" },
      saved.items.map((f) => faultCard(f, saved.names || {}, () => {})));
    session.canAct = canAct;
    view.append(list);
  }
  main.append(view);
}
