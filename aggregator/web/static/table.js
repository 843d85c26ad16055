// A table whose paging, filtering and sorting happen on the server (it must stay fast at 1M cameras).
import { h, clear, STATES } from "./dom.js";
import { t, fmtInt } from "./i18n.js";

const PAGE_SIZE = 50;

/**
 * columns: [{key, label, sort?: string, num?: bool, render?: (row) => Node|string}]
 * load(params) -> Promise<{items, total}>; params = {limit, offset, sort, q, state}
 */
export function pagedTable({ columns, load, stateFilter = false, defaultSort = "", id = "" }) {
  const st = { offset: 0, sort: defaultSort, q: "", state: "", total: 0 };
  const body = h("tbody");
  const info = h("span", { class: "muted" });
  const prev = h("button", { type: "button", onclick: () => go(st.offset - PAGE_SIZE) }, t("prev"));
  const next = h("button", { type: "button", onclick: () => go(st.offset + PAGE_SIZE) }, t("next"));
  const search = h("input", { type: "search", placeholder: t("search"), "aria-label": t("search") });
  let debounce;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { st.q = search.value.trim(); go(0); }, 300);
  });
  const tools = h("div", { class: "tools" }, search);
  if (stateFilter) {
    const sel = h("select", { "aria-label": t("state") }, h("option", { value: "" }, t("allStates")),
      STATES.map((s) => h("option", { value: s }, t(`state.${s}`))));
    sel.addEventListener("change", () => { st.state = sel.value; go(0); });
    tools.append(sel);
  }
  const headRow = h("tr", {}, columns.map((c) => {
    const th = h("th", { class: [c.num ? "num" : "", c.sort ? "sortable" : ""].join(" ").trim() }, c.label);
    if (c.sort) {
      th.dataset.sort = c.sort;
      th.addEventListener("click", () => {
        st.sort = st.sort === c.sort ? `-${c.sort}` : c.sort;
        go(0);
      });
    }
    return th;
  }));
  const table = h("table", { id: id || undefined }, h("thead", {}, headRow), body);
  const root = h("div", { class: "paged" }, tools, table, h("div", { class: "pager" }, prev, next, info));

  function markSort() {
    for (const th of headRow.children) {
      th.removeAttribute("aria-sort");
      if (!th.dataset.sort) continue;
      if (st.sort === th.dataset.sort) th.setAttribute("aria-sort", "ascending");
      if (st.sort === `-${th.dataset.sort}`) th.setAttribute("aria-sort", "descending");
    }
  }

  async function go(offset) {
    st.offset = Math.max(0, offset);
    markSort();
    let res;
    try {
      res = await load({ limit: PAGE_SIZE, offset: st.offset, sort: st.sort, q: st.q, state: st.state });
    } catch (err) {
      clear(body).append(h("tr", {}, h("td", { colspan: columns.length, class: "error" }, `${t("error.load")}: ${err.message}`)));
      return;
    }
    const rows = res.items ?? res.rows ?? [];
    st.total = res.total ?? rows.length;
    clear(body);
    if (!rows.length) body.append(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, t("noRows"))));
    for (const row of rows) {
      body.append(h("tr", {}, columns.map((c) => {
        const v = c.render ? c.render(row) : row[c.key];
        return h("td", { class: c.num ? "num" : undefined }, v ?? "–");
      })));
    }
    prev.disabled = st.offset === 0;
    next.disabled = st.offset + rows.length >= st.total;
    info.textContent = t("pageOf", {
      from: rows.length ? fmtInt(st.offset + 1) : 0, to: fmtInt(st.offset + rows.length), total: fmtInt(st.total),
    });
  }

  return { root, refresh: () => go(st.offset), start: () => go(0) };
}
