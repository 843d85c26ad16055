// A table whose paging, filtering and sorting happen on the server (it must stay fast at 1M cameras).
import { h, clear } from "./dom.js";
import { t, fmtInt } from "./i18n.js";

const PAGE_SIZE = 50;

/**
 * columns: [{key, label, sort?: string, sortDesc?: string, num?: bool, render?: (row) => Node|string}]
 *   (a column sorts descending only when the API allows it: ``sortDesc`` names that key)
 * filters: [{param, label, options: [[value, label], ...]}] select boxes sent as query params
 * load(params) -> Promise<{items, total}>; params = {limit, offset, sort, q?, ...filters}
 * initial: {offset, sort, q, filters} to start from (a page that keeps the user's place);
 * onState({offset, sort, q, filters}) after each drawn load (to remember it);
 * onRows(rows, total) after each drawn load (a second view of the same rows: fault cards).
 * The returned peek() loads what the current view would show without drawing it, and
 * shown() is what is drawn: a page can announce a change instead of moving rows.
 */
export function pagedTable({ columns, load, filters = [], search = false, defaultSort = "", id = "", initial = null, onState = null, onRows = null }) {
  // seq: only the newest load draws; an older one still in flight (a live refresh started
  // before a click) must not overwrite newer rows with what it read before.
  const st = { offset: 0, sort: defaultSort, q: "", filters: {}, total: 0, seq: 0, rows: [] };
  if (initial) {
    st.offset = Number(initial.offset) || 0;
    st.sort = initial.sort || defaultSort;
    st.q = search ? (initial.q || "") : "";
    st.filters = { ...(initial.filters || {}) };
  }
  const body = h("tbody");
  const info = h("span", { class: "muted" });
  const prev = h("button", { type: "button", onclick: () => go(st.offset - PAGE_SIZE) }, t("prev"));
  const next = h("button", { type: "button", onclick: () => go(st.offset + PAGE_SIZE) }, t("next"));
  const searchBox = h("input", { type: "search", placeholder: t("search"), "aria-label": t("search") });
  searchBox.value = st.q;
  let debounce;
  searchBox.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { st.q = searchBox.value.trim(); go(0); }, 300);
  });
  const tools = h("div", { class: "tools" }, search ? searchBox : null);
  for (const f of filters) {
    const sel = h("select", { "aria-label": f.label, name: f.param }, f.options.map(([v, label]) => h("option", { value: v }, label)));
    if (st.filters[f.param] !== undefined) sel.value = st.filters[f.param];
    sel.addEventListener("change", () => { st.filters[f.param] = sel.value; go(0); });
    tools.append(sel);
  }
  const headRow = h("tr", {}, columns.map((c) => {
    const th = h("th", { class: [c.num ? "num" : "", c.sort ? "sortable" : ""].join(" ").trim() }, c.label);
    if (c.sort) {
      th.dataset.sort = c.sort;
      if (c.sortDesc) th.dataset.sortDesc = c.sortDesc;
      th.addEventListener("click", () => {
        st.sort = st.sort === c.sort && c.sortDesc ? c.sortDesc : c.sort;
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
      if (th.dataset.sortDesc && st.sort === th.dataset.sortDesc) th.setAttribute("aria-sort", "descending");
    }
  }

  const params = () => ({ ...st.filters, limit: PAGE_SIZE, offset: st.offset, sort: st.sort, q: search ? st.q : undefined });

  async function go(offset) {
    st.offset = Math.max(0, offset);
    markSort();
    const seq = ++st.seq;
    let res;
    try {
      res = await load(params());
    } catch (err) {
      if (seq !== st.seq) return;
      clear(body).append(h("tr", {}, h("td", { colspan: columns.length, class: "error" }, `${t("error.load")}: ${err.message}`)));
      return;
    }
    if (seq !== st.seq) return;
    const rows = res.items ?? res.rows ?? [];
    st.total = res.total ?? rows.length;
    st.rows = rows;
    if (onState) onState({ offset: st.offset, sort: st.sort, q: st.q, filters: { ...st.filters } });
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
    if (onRows) onRows(rows, st.total);
  }

  return {
    root, refresh: () => go(st.offset), start: () => go(initial ? st.offset : 0),
    peek: () => load(params()), shown: () => ({ items: st.rows, total: st.total }),
  };
}
