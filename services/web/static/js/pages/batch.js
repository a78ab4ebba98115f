// 批量查验: upload a sheet or e-invoice documents, watch the progress, download the results.
import { api, file, session } from "../api.js";
import { h, icon, replace, saveBlob } from "../dom.js";
import { pick, t, verdictName } from "../i18n.js";

let last = null; // the batch this tab uploaded last, shown again on return
let ui = null;

export function render({ id } = {}) {
  if (id) last = id; // #/batch/<id>: that batch (a review's link back to it)
  const input = h("input", { id: "b-files", type: "file", multiple: true, accept: ".csv,.xlsx,.zip,.pdf,.ofd,.xml",
    "aria-describedby": "b-err" });
  const error = h("p", { class: "field-error", id: "b-err", role: "alert" });
  const status = h("div", { id: "b-status", "aria-live": "polite" });
  const drop = h("div", { class: "dropzone", id: "b-drop" },
    h("label", { for: "b-files" }, icon("batch"), t("b_files")), input, h("p", { class: "hint" }, t("b_drop")));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    input.files = e.dataTransfer.files;
  });
  const form = h("form", { class: "card", id: "batch-form", onsubmit: upload },
    h("p", {}, t("b_intro")),
    h("p", { class: "actions" }, t("b_template"), ": ",
      h("a", { href: "/v1/batches/template?format=csv", download: "" }, "CSV"), " · ",
      h("a", { href: "/v1/batches/template?format=xlsx", download: "" }, "XLSX")),
    drop, error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "b-upload" }, t("b_upload"))));
  ui = { input, error, status, form };
  if (last) follow(last);
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("b_title")), form, status);
}

export function unmount() {
  ui = null;
}

async function upload(event) {
  event.preventDefault();
  const { input, error, status } = ui;
  error.textContent = "";
  if (!input.files.length) {
    error.textContent = t("b_none");
    input.setAttribute("aria-invalid", "true");
    return;
  }
  input.removeAttribute("aria-invalid");
  const body = new FormData();
  for (const f of input.files) body.append("files", f);
  replace(status, h("p", { class: "muted" }, t("b_uploading")));
  const button = ui.form.querySelector("#b-upload");
  button.disabled = true;
  try {
    const accepted = await api("/v1/batches", { method: "POST", body });
    last = accepted.batch_id;
    follow(last);
  } catch (e) {
    replace(status);
    error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

// Poll the batch until every accepted check has its final verdict.
async function follow(id) {
  const mine = ui;
  for (;;) {
    if (ui !== mine || !ui) return;
    try {
      const batch = await api(`/v1/batches/${id}`);
      if (ui !== mine) return;
      show(batch);
      if (batch.finished || batch.state === "failed") return;
    } catch (e) {
      if (ui === mine) ui.error.textContent = e.message;
      if (e.status && e.status !== 429) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function show(batch) {
  const total = batch.accepted;
  const card = h("article", { class: "card", id: "batch-card", "data-finished": String(batch.finished) },
    h("h2", {}, batch.file_name),
    h("progress", { max: Math.max(total, 1), value: batch.done, "aria-label": t("b_progress", { done: batch.done, total }) }),
    h("p", { id: "b-progress" }, batch.finished ? `${t("b_finished")} · ` : "", t("b_progress", { done: batch.done, total })),
    h("ul", { class: "chips" }, Object.entries(batch.by_verdict).map(([verdict, n]) =>
      h("li", { class: `chip verdict-${verdict}` }, `${verdictName(verdict)} ${n}`))),
    batch.rejected ? h("details", {}, h("summary", {}, t("b_rejected", { n: batch.rejected })),
      h("ul", {}, batch.rejections.map((r) => h("li", {}, r.line ? t("b_line", { n: r.line }) : r.file, ": ",
        r.problems.map((p) => pick(p, "message")).join("; "))))) : null,
    batch.rejected && session.has("analyst")
      ? h("p", {}, h("a", { href: `#/reviews/${batch.batch_id}`, id: "b-review" }, t("b_review"))) : null,
    h("div", { class: "actions" },
      ["csv", "xlsx"].map((format) => h("button", { type: "button", id: `b-download-${format}`,
        onclick: () => download(batch.batch_id, format) }, icon("download"), `${t("b_download")} (${format.toUpperCase()})`))));
  replace(ui.status, card);
}

async function download(id, format) {
  try {
    const { blob, name } = await file(`/v1/batches/${id}/results?format=${format}`);
    saveBlob(blob, name);
  } catch (e) {
    if (ui) ui.error.textContent = e.message;
  }
}
