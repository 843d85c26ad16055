// Committee reports: a month, the nation or one province; shown here, exported as CSV or
// opened as a printable page (fetched with the token, shown from a blob: no token in a URL).
import { api } from "../api.js";
import { h, clear } from "../dom.js";
import { t, lang, fmtPct, fmtInt, placeName } from "../i18n.js";
import { session } from "../session.js";

function lastMonth() {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
}

function download(blob, name) {
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

export async function render(main) {
  const provinces = await api.provinces();
  const month = h("input", { type: "month", id: "report-month", value: new Date().toISOString().slice(0, 7) });
  const scoped = session.me && session.me.provinces && session.me.provinces.length;
  const scope = h("select", { id: "report-scope" }, scoped ? null : h("option", { value: "" }, t("level.nation")),
    (provinces.items ?? provinces).map((p) => h("option", { value: p.code ?? p.province }, placeName(p))));
  const out = h("div", { id: "report" });
  const params = () => ({ month: month.value || lastMonth(), province: scope.value, lang: lang() });

  async function show() {
    const r = await api.report(params());
    const rows = r.rows ?? [];
    clear(out).append(
      h("h2", {}, `${r.title ?? t("reports.title")}`),
      h("table", { id: "report-table" },
        h("thead", {}, h("tr", {}, (r.columns ?? []).map((c) => h("th", {}, c.label)))),
        h("tbody", {}, rows.map((row) => h("tr", {}, (r.columns ?? []).map((c) => {
          const v = row[c.key];
          return h("td", { class: c.kind === "text" ? "" : "num" },
            c.kind === "pct" ? fmtPct(v) : c.kind === "int" ? fmtInt(v) : c.kind === "hours" ? (v === null ? "–" : v.toFixed(1)) : v ?? "–");
        }))))));
    if (r.camera_history_from) {
      out.append(h("p", { class: "muted", id: "report-history-note" }, t("reports.historyFrom", { day: r.camera_history_from })));
    }
  }

  const form = h("form", { class: "tools" }, h("label", {}, t("reports.month"), " ", month),
    h("label", {}, t("reports.scope"), " ", scope),
    h("button", { type: "submit", class: "primary" }, t("reports.show")),
    h("button", { type: "button", onclick: async () => download(await api.reportFile({ ...params(), format: "csv" }, "text/csv"), `camwatch-${params().month}${scope.value ? `-${scope.value}` : ""}.csv`) }, t("reports.csv")),
    h("button", { type: "button", onclick: async () => {
      const blob = await api.reportFile({ ...params(), format: "html" }, "text/html");
      window.open(URL.createObjectURL(blob), "_blank", "noopener");
    } }, t("reports.print")),
    // The committee pack (issue 14): the printable pack, and its PDF printed by the aggregator.
    h("button", { type: "button", id: "report-pack", onclick: async () => {
      const blob = await api.packFile({ ...params(), format: "html" }, "text/html");
      window.open(URL.createObjectURL(blob), "_blank", "noopener");
    } }, t("reports.pack")),
    h("button", { type: "button", id: "report-pack-pdf", onclick: async () => download(await api.packFile({ ...params(), format: "pdf" }, "application/pdf"), `camwatch-pack-${params().month}${scope.value ? `-${scope.value}` : ""}-${lang()}.pdf`) }, t("reports.packPdf")));
  form.addEventListener("submit", (e) => { e.preventDefault(); show(); });
  main.append(h("h1", {}, t("reports.title")), form, out);
  await show();
  return null;
}
