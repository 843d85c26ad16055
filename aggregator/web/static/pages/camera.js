// Camera page: identity and inventory, state and reason, 30 days of availability bars,
// transitions, faults, and the last snapshot when one was requested.
import { api, ApiError, latestSnapshot } from "../api.js";
import { h, STATES } from "../dom.js";
import { t, fmtPct, fmtTime, placeName, reasonText } from "../i18n.js";
import { stateBadge, crumbs, clockWarning } from "../widgets.js";
import { page } from "../shape.js";
import { session } from "../session.js";
import { recordingLine } from "./recording.js";

const DAY_STATES = ["up", "degraded", "down", "maintenance", "unknown"];

function dayBars(rows) {
  return h("div", { class: "bars", id: "day-bars" }, rows.map((d) => {
    const ms = Object.fromEntries(DAY_STATES.map((s) => [s, Number(d[`${s}_s`] ?? d[`${s}_ms`] ?? 0)]));
    const total = Object.values(ms).reduce((a, b) => a + b, 0) || 1;
    const known = ms.up + ms.degraded + ms.down;
    const title = `${d.date ?? d.day}: ${t("available")} ${known ? fmtPct((ms.up + ms.degraded) / known) : "–"}`;
    return h("div", { class: "bar", title, dataset: { date: d.date ?? d.day } },
      DAY_STATES.filter((s) => ms[s]).map((s) => h("span", { style: `height:${(100 * ms[s]) / total}%;background:var(--${s})` })));
  }));
}

function inventory(c) {
  const inv = c.inventory ?? c;
  const rows = [
    ["level.camera", c.camera_id], ["name", c.name], ["inv.maker", inv.maker], ["inv.model", inv.model],
    ["inv.firmware", inv.firmware], ["inv.serial", inv.serial], ["inv.mac", inv.mac],
    ["inv.address", inv.address], ["inv.stream", inv.stream_uri],
    ["inv.resolution", inv.width && inv.height ? `${inv.width}×${inv.height} @ ${inv.fps ?? "?"} fps` : ""],
    ["inv.codec", inv.codec], ["inv.firstSeen", fmtTime(c.first_seen)], ["inv.lastSeen", fmtTime(c.last_seen)],
  ];
  return h("dl", { class: "kv", id: "inventory" }, rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
}

// After a request, the page polls the latest snapshot this often, this many times (the
// site answers within a few seconds: one RTSP open and one frame).
const SNAPSHOT_POLL_MS = 1000;
const SNAPSHOT_POLLS = 30;

function reasonOf(code) {
  const key = `snapshot.reason.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

/** The last snapshot (fetched with the bearer header into a blob URL) and, for technicians
 *  and admins, a button that asks the site for a new one and polls until it answers. */
async function snapshot(site, cam) {
  const figure = h("figure", { class: "snapshot", id: "snapshot" });
  const status = h("p", { class: "muted", id: "snapshot-status", role: "status" });
  let blobUrl = null;
  function draw(s) {
    if (s.blob) {
      if (blobUrl) URL.revokeObjectURL(blobUrl);
      blobUrl = URL.createObjectURL(s.blob);
      figure.replaceChildren(h("img", { src: blobUrl, alt: t("camera.snapshot"), dataset: { cmd: s.cmdId || "" } }),
        h("figcaption", { class: "muted", id: "snapshot-time" }, `${t("snapshot.taken")} ${fmtTime(s.takenAt)}`));
    } else {
      figure.replaceChildren(h("p", { class: "muted" }, t("camera.noSnapshot")));
    }
  }
  async function load() {
    const s = await latestSnapshot(site, cam);
    draw(s);
    return s;
  }
  try { await load(); } catch (err) { if (err.status === 401) throw err; draw({}); }
  const box = h("div", { id: "snapshot-box" }, figure, status);
  if (session.canAct) {
    const button = h("button", { type: "button", id: "snapshot-request" }, t("snapshot.request"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.dataset.state = "waiting";
      status.textContent = t("snapshot.waiting");
      try {
        const { cmd_id: cmdId } = await api.requestSnapshot(site, cam);
        for (let i = 0; i < SNAPSHOT_POLLS; i++) {
          await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_POLL_MS));
          const s = await load();
          if (s.cmdId === cmdId && s.blob) { status.dataset.state = "done"; status.textContent = ""; return; }
          if (s.errorCmdId === cmdId) {
            status.dataset.state = "failed";
            status.textContent = t("snapshot.failed", { reason: reasonOf(s.error) });
            return;
          }
        }
        status.dataset.state = "timeout";
        status.textContent = t("snapshot.timeout");
      } catch (err) {
        status.dataset.state = "failed";
        status.textContent = err instanceof ApiError && err.status === 403 ? t("error.forbidden") : String(err.message || err);
      } finally {
        button.disabled = false;
      }
    });
    box.append(button);
  }
  return box;
}

export async function render(main, site, cam) {
  const c = await api.camera(site, cam);
  const [days, faults, province, district, siteRow] = await Promise.all([
    api.cameraDays(site, cam, 30).catch((err) => { if (err.status === 401) throw err; return []; }),
    api.faults({ site, camera_id: cam, limit: 20, sort: "-opened_at" }).catch((err) => { if (err.status === 401) throw err; return []; }),
    api.province(c.province), api.district(c.district),
    api.site(site).catch((err) => { if (err.status === 401) throw err; return null; }),
  ]);
  const head = h("div", { id: "camera-head" });
  const stateBox = h("p", { id: "camera-state" });
  function drawState(x) {
    stateBox.dataset.state = x.state;
    stateBox.replaceChildren(stateBadge(x.state, x.reason), " ",
      x.reason && x.reason !== "none" ? h("span", { id: "camera-reason", dataset: { reason: x.reason } }, reasonText(x.reason)) : "",
      " · ", t("since"), " ", fmtTime(x.since));
  }
  head.append(crumbs([
    [placeName(province), `#/province/${c.province}`], [placeName(district), `#/district/${c.district}`],
    [site, `#/site/${encodeURIComponent(site)}`], [cam, null]]),
  h("h1", {}, `${t("level.camera")} ${c.name || cam}`), stateBox, clockWarning(siteRow));
  drawState(c);
  const trBody = h("tbody");
  function drawTransitions(rows) {
    trBody.replaceChildren(...(rows.length ? rows : []).map((r) => h("tr", {},
      h("td", {}, fmtTime(r.at), r.historical ? ` (${t("historical")})` : ""),
      h("td", {}, STATES.includes(r.old_state) ? stateBadge(r.old_state) : "–"), h("td", {}, stateBadge(r.new_state)),
      h("td", {}, reasonText(r.reason)))));
  }
  drawTransitions(c.transitions ?? []);
  const faultRows = page(faults).items;
  // issue 16 (i16b): replaced, firmware, rebooted, moved
  const changeRows = await api.cameraChanges(site, cam).catch((err) => { if (err.status === 401) throw err; return []; });
  const changeList = h("ul", { id: "camera-changes" }, changeRows.length ? changeRows.map((x) => h("li", { dataset: { kind: x.kind } },
    fmtTime(x.at), " · ", t(`change.${x.kind}`), x.before || x.after ? ` (${x.before} → ${x.after})` : "")) :
    [h("li", { class: "muted" }, t("changes.none"))]);
  main.append(head, h("div", { class: "grid2" },
    h("div", { class: "card" }, h("h2", {}, t("camera.inventory")), inventory(c),
      h("h2", {}, t("camera.snapshot")), await snapshot(site, cam)),
    h("div", {},
      h("h2", {}, t("camera.days")), dayBars(page(days).items),
      h("div", { class: "legend" }, DAY_STATES.map((st) => h("span", {}, h("i", { style: `background:var(--${st})` }), t(`state.${st}`)))),
      h("h2", {}, t("recording")), recordingLine(c),
      h("h2", {}, t("camera.transitions")),
      h("table", { id: "transitions" }, h("thead", {}, h("tr", {}, h("th", {}, t("at")), h("th", {}, t("from")), h("th", {}, t("to")), h("th", {}, t("reason")))), trBody),
      h("h2", {}, t("camera.faults")),
      h("table", { id: "camera-faults" }, h("tbody", {}, faultRows.length ? faultRows.map((f) => h("tr", {},
        h("td", {}, `#${f.id}`), h("td", {}, t(`faults.status.${f.status}`)), h("td", {}, reasonText(f.reason)),
        h("td", {}, fmtTime(f.opened_at)), h("td", {}, f.resolved_at ? fmtTime(f.resolved_at) : ""))) :
        h("tr", {}, h("td", { class: "muted" }, t("noRows"))))),
      h("h2", {}, t("changes.title")), changeList)));
  return {
    onFeedNow(evt) {
      const d = evt.data || {};
      if (evt.type === "state" && d.site === site && d.camera_id === cam && d.new) drawState({ state: d.new, reason: d.reason, since: d.at });
    },
    async onFeed() {
      const x = await api.camera(site, cam);
      drawState(x);
      drawTransitions(x.transitions ?? []);
    },
  };
}
