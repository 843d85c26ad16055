// The provincial register: drop a CSV/XLSX, preview what it would change (nothing saved), see each
// refused line with the user's own values and the reasons in the user's language, import it, and
// download the refused lines of any import to fix and upload again.
import { ApiError } from "../api.js";
import { h, clear } from "../dom.js";
import { t, fmtInt, fmtTime } from "../i18n.js";
import { auditApi, download } from "../audit/api.js";
import { tabs, isAdmin } from "../audit/common.js";

const COUNTS = ["rows", "inserted", "updated", "unchanged", "rejected", "absent"];

function countsTable(report) {
  return h("table", { id: "register-counts", class: "counts" }, h("tbody", {}, COUNTS.map((k) =>
    h("tr", { dataset: { k } }, h("th", {}, t(`audit.${k}`)), h("td", { class: "num" }, fmtInt(report[k]))))));
}

function rejectionsTable(report) {
  if (!report.rejections.length) return null;
  return h("table", { id: "register-rejections", class: "rejections" },
    h("thead", {}, h("tr", {}, h("th", {}, t("audit.line")), h("th", {}, t("audit.reasons")), h("th", {}, t("audit.values")))),
    h("tbody", {}, report.rejections.map((r) => h("tr", { dataset: { line: r.line } },
      h("td", { class: "num" }, r.line),
      h("td", { class: "reasons" }, h("ul", {}, r.reasons.map((x) => h("li", {}, x)))),
      h("td", { class: "values" }, Object.entries(r.values || {}).map(([k, v]) => h("span", { class: "cell" }, h("b", {}, k), ": ", v || "∅")))))));
}

export async function render(main) {
  main.append(tabs("register"), h("h1", {}, t("audit.register")));
  if (!isAdmin()) {
    main.append(h("p", { class: "muted" }, t("error.forbidden")));
    return null;
  }
  const input = h("input", { type: "file", id: "register-file", accept: ".csv,.xlsx,.txt,text/csv", "aria-label": t("audit.choose") });
  const drop = h("div", { class: "dropzone card", id: "register-drop" }, h("p", {}, t("audit.drop")), input);
  const result = h("div", { id: "register-result", "aria-live": "polite" });
  const history = h("div", { id: "import-history" });

  const fail = (err) => clear(result).append(h("p", { class: "error", id: "register-error" }, err instanceof ApiError ? err.message : String(err)));

  async function preview(file) {
    clear(result).append(h("p", { class: "muted" }, "…"));
    let report;
    try { report = await auditApi.upload(file, { dryRun: true }); } catch (err) { fail(err); return; }
    const go = h("button", { type: "button", class: "primary", id: "register-import" }, t("audit.import"));
    const cancel = h("button", { type: "button", id: "register-cancel" }, t("audit.cancel"));
    go.addEventListener("click", () => commit(file));
    cancel.addEventListener("click", () => { clear(result); input.value = ""; });
    clear(result).append(h("section", { class: "card", id: "register-preview" },
      h("h2", {}, t("audit.preview"), `: ${file.name}`), countsTable(report), rejectionsTable(report), h("p", { class: "tools" }, go, cancel)));
  }

  async function commit(file) {
    let report;
    try { report = await auditApi.upload(file); } catch (err) { fail(err); return; }
    input.value = "";
    clear(result).append(h("section", { class: "card", id: "register-done", dataset: { importId: report.import_id } },
      h("h2", {}, t("audit.imported"), `: ${file.name}`), countsTable(report), rejectionsTable(report),
      report.rejected ? h("p", { class: "muted" }, t("audit.fixHint")) : null));
    await loadHistory();
  }

  async function loadHistory() {
    const rows = await auditApi.imports();
    clear(history).append(h("h2", {}, t("audit.history")), h("table", { id: "imports-table" },
      h("thead", {}, h("tr", {}, ["audit.when", "audit.file", "audit.by", "audit.rows", "audit.inserted", "audit.updated", "audit.rejected", "audit.reasons"]
        .map((k) => h("th", {}, t(k))))),
      h("tbody", {}, rows.filter((r) => r.kind === "register").map((r) => h("tr", { dataset: { id: r.id } },
        h("td", {}, fmtTime(r.at)), h("td", {}, r.source), h("td", {}, r.by),
        h("td", { class: "num" }, fmtInt(r.rows)), h("td", { class: "num" }, fmtInt(r.inserted)),
        h("td", { class: "num" }, fmtInt(r.updated)), h("td", { class: "num" }, fmtInt(r.rejected)),
        h("td", {}, r.rejected ? h("button", { type: "button", class: "download-rejected", dataset: { id: r.id },
          onclick: async () => download(await auditApi.rejectedCsv(r.id), `rejected-${r.id}.csv`) }, t("audit.download")) : t("audit.noRejected")))))));
  }

  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) preview(file);
  });
  input.addEventListener("change", () => { if (input.files[0]) preview(input.files[0]); });
  main.append(drop, result, history);
  await loadHistory();
  return null;
}
