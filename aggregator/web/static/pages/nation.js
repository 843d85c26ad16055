// Nation page: national figures now and over 24 h / 7 d / 30 d, cameras per state, open
// faults, and the province map and table.
import { api, windows } from "../api.js";
import { h, clear } from "../dom.js";
import { t, fmtPct, fmtInt, placeName } from "../i18n.js";
import { figureCards, stateTable, stateBar, stateLegend } from "../widgets.js";
import { provinceMap } from "../map.js";
import { current, page } from "../shape.js";
import { rangePicker, rangeFigures, savedRange } from "../console/range.js"; // console (issue 15)
import { addMapZoom } from "../console/mapzoom.js"; // console (issue 15)

function provinceRows(res) {
  return page(res).items.map((r) => ({ ...r, ...current(r) }));
}

// The open faults: the real total from the API (X-Total-Count), one row fetched.
async function openFaults() {
  try {
    return (await api.faultPage({ active: true, limit: 1, top_level: true })).total;
  } catch (err) {
    if (err.status === 401) throw err;
    return null;
  }
}

export async function render(main) {
  const [nation, provinces, wins, open] = await Promise.all([api.nation(), api.provinces(), windows("nation", ""), openFaults()]);
  if (!wins["24h"] && nation.last_24h) wins["24h"] = nation.last_24h;
  const head = h("div", { id: "nation-figures" });
  const stateBox = h("div");
  const tableBox = h("div");
  let rows = provinceRows(provinces);
  let sortKey = "available";
  let asc = true;
  const map = await provinceMap(rows, (code) => { location.hash = `#/province/${code}`; });
  addMapZoom(map.root, () => rows);
  // The console's time range (issue 15): "now" is the live counts; a window overlays each
  // province's exact availability over it on the map and the table, and adds a range card.
  let range = savedRange();
  let ranged = null;
  const overlay = (list) => (ranged ? list.map((r) => {
    const w = ranged.provinces[r.code];
    return { ...r, available: w ? w.available ?? null : null, usable: w ? w.usable ?? null : null };
  }) : list);
  const rangeCard = () => {
    if (!ranged || !ranged.nation) return null;
    return h("div", { class: "card", id: "fig-range", dataset: { range, available: ranged.nation.available ?? "" } },
      h("div", { class: "label" }, `${t("available")} / ${t("usable")} · ${t(`range.${range}`)}`),
      h("div", { class: "value" }, `${fmtPct(ranged.nation.available)} / ${fmtPct(ranged.nation.usable)}`));
  };
  let lastDraw = null;
  async function setRange(next) {
    range = next;
    ranged = await rangeFigures(range);
    if (range !== next) return;
    rows = overlay(rows.map((r) => ({ ...r, ...current(r), cameras: r.cameras })));
    map.update(rows);
    map.root.querySelector("h2").textContent = range === "now" ? t("map.title") : t("map.titleRange", { range: t(`range.${range}`) });
    if (lastDraw) draw(...lastDraw);
  }

  function drawTable() {
    const sorted = [...rows].sort((a, b) => {
      const x = sortKey === "name" ? placeName(a) : (a[sortKey] ?? -1);
      const y = sortKey === "name" ? placeName(b) : (b[sortKey] ?? -1);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    const th = (key, label, num) => h("th", {
      class: `sortable${num ? " num" : ""}`, "aria-sort": sortKey === key ? (asc ? "ascending" : "descending") : undefined,
      onclick: () => { asc = sortKey === key ? !asc : true; sortKey = key; drawTable(); },
    }, label);
    clear(tableBox).append(h("h2", {}, t("provinces")), h("table", { id: "province-table" },
      h("thead", {}, h("tr", {}, th("code", t("code")), th("name", t("level.province")), th("cameras", t("cameras"), true),
        th("available", t("available"), true), th("usable", t("usable"), true), h("th", {}, t("state")))),
      h("tbody", {}, sorted.map((r) => h("tr", { dataset: { code: r.code } },
        h("td", {}, r.code), h("td", {}, h("a", { href: `#/province/${r.code}` }, placeName(r))),
        h("td", { class: "num" }, fmtInt(r.cameras)), h("td", { class: "num" }, fmtPct(r.available)),
        h("td", { class: "num" }, fmtPct(r.usable)), h("td", {}, stateBar(r.counts)))))), stateLegend());
  }

  function draw(n, w, openCount) {
    lastDraw = [n, w, openCount];
    const cards = figureCards(n, w, openCount);
    const extra = rangeCard();
    if (extra) cards.prepend(extra);
    clear(head).append(h("h1", {}, t("level.nation")), picker, cards);
    clear(stateBox).append(stateTable(n, true));
    drawTable();
  }

  const picker = rangePicker(range, setRange);
  draw(nation, wins, open);
  if (range !== "now") setRange(range);
  main.append(head, h("div", { class: "grid2" }, h("div", {}, map.root, stateBox), tableBox));
  function applyCounts(perProvince) {
    let changed = false;
    rows = rows.map((r) => {
      const states = perProvince[r.code];
      if (!states) return r;
      changed = true;
      return { ...r, states, ...current({ ...r, states, cameras: undefined }) , cameras: r.cameras };
    });
    rows = overlay(rows);
    if (changed) { map.update(rows); drawTable(); }
  }

  return {
    // The feed's province counts redraw the map and table at once, without asking the API;
    // the national figures are re-read at most every 10 s (this page is the heaviest to read).
    refreshMs: 10000,
    onFeedNow(evt) {
      const d = evt.data || {};
      if (evt.type === "rollup" && d.province && d.states) applyCounts({ [d.province]: d.states });
      if (evt.type === "snapshot" && d.provinces) applyCounts(d.provinces);
    },
    async onFeed() {
      const [n, p, o] = await Promise.all([api.nation(), api.provinces(), openFaults()]);
      if (!wins["24h"] || wins["24h"] === nation.last_24h) wins["24h"] = n.last_24h;
      rows = overlay(provinceRows(p));
      map.update(rows);
      draw(n, wins, o);
    },
  };
}
