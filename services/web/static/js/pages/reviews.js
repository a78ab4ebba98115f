// 人工复核: the review queue (#/reviews, or #/reviews/<batch id> for one batch's rows; GET /v1/reviews, cursor
// pages) and one item (#/review/<id>): the
// rendered page (or the spreadsheet row) beside the fields as read, corrected and sent as a check.
import { api, send } from "../api.js";
import { field, h, replace, setError } from "../dom.js";
import { fmtTime, pick, t } from "../i18n.js";
import { showPage } from "../paging.js";

const FIELDS = [
  ["invoice_code", "f_code"],
  ["invoice_number", "f_number"],
  ["issue_date", "f_date"],
  ["amount", "kind_amount"],
  ["check_code", "kind_check_code"],
];
const SOURCES = { qr: "rv_src_qr", text_layer: "rv_src_text", xml: "rv_src_xml", ofd_tags: "rv_src_tags", text_unlabelled: "rv_src_shape" };
let ui = null;

export function render({ name, id }) {
  return name === "review" && id ? renderItem(id) : renderQueue(id);
}

export function unmount() {
  if (ui?.pageUrl) URL.revokeObjectURL(ui.pageUrl);
  ui = null;
}

// --- the queue --------------------------------------------------------------------------------------

function renderQueue(batch) {
  const status = field("rv-status", t("rv_status"), { tag: "select", options: ["open", "submitted", "all"].map((s) =>
    h("option", { value: s }, t(`rv_status_${s}`))) });
  const kind = field("rv-kind", t("rv_kind"), { tag: "select", options: [
    h("option", { value: "" }, t("in_all")), ["document", "batch_row"].map((k) => h("option", { value: k }, t(`rv_kind_${k}`)))] });
  const list = h("ul", { class: "records", id: "rv-list", "aria-live": "polite" });
  const error = h("p", { class: "field-error", id: "rv-err", role: "alert" });
  const count = h("p", { class: "muted", id: "rv-count" });
  const more = h("button", { type: "button", id: "rv-more", hidden: true, onclick: () => loadQueue(true) }, t("in_more"));
  const form = h("form", { class: "card filters", onsubmit: (e) => { e.preventDefault(); loadQueue(false); } },
    h("div", { class: "grid-3" }, status.el, kind.el),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "rv-go" }, t("in_search"))));
  ui = { status, kind, list, error, count, more, batch, cursor: null, shown: 0 };
  loadQueue(false);
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("rv_title")), h("p", { class: "hint" }, t("rv_intro")),
    batch ? h("p", { class: "muted", id: "rv-batch" }, t("rv_of_batch", { id: batch }), " · ", h("a", { href: "#/reviews" }, t("rv_all"))) : null,
    form, error, count, list, more);
}

async function loadQueue(next) {
  const mine = ui;
  const q = new URLSearchParams({ status: ui.status.input.value, limit: "20" });
  if (ui.kind.input.value) q.set("kind", ui.kind.input.value);
  if (ui.batch) q.set("batch_id", ui.batch);
  await showPage(ui, { path: "/v1/reviews", query: q, next, row, stale: () => ui !== mine,
    counted: (n) => (n ? t("rv_count", { n }) : t("rv_empty")) });
}

function where(item) {
  if (item.kind === "document") return item.file_name;
  return t("b_line", { n: item.line });
}

function row(item) {
  return h("li", { class: "record", "data-review": item.review_id },
    h("a", { href: `#/review/${item.review_id}` },
      h("span", { class: `badge rv-${item.status}` }, t(`rv_status_${item.status}`)),
      h("span", { class: "badge" }, t(`rv_kind_${item.kind}`)),
      h("strong", {}, where(item)),
      h("span", {}, pick(item, "reason")),
      h("span", { class: "muted" }, fmtTime(item.created_at)),
      item.reviewed_by ? h("span", { class: "muted" }, t("rv_by", { who: item.reviewed_by })) : null));
}

// --- one item ---------------------------------------------------------------------------------------

function renderItem(id) {
  const body = h("div", { id: "rv-body" }, h("p", { class: "muted" }, t("loading")));
  ui = { id, body, pageUrl: null };
  loadItem();
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("rv_item_title")), h("p", {}, h("a", { href: "#/reviews" }, `← ${t("rv_title")}`)), body);
}

async function loadItem() {
  const mine = ui;
  try {
    const item = await api(`/v1/reviews/${encodeURIComponent(mine.id)}`);
    let picture = null;
    if (item.page) {
      const response = await send(item.page);
      if (ui !== mine) return;
      mine.pageUrl = URL.createObjectURL(await response.blob());
      picture = h("img", { id: "rv-page", src: mine.pageUrl, alt: t("rv_page_alt", { name: item.file_name }) });
    }
    if (ui === mine) replace(mine.body, showItem(item, picture));
  } catch (e) {
    if (ui === mine) replace(mine.body, h("p", { class: "field-error", role: "alert" }, e.message));
  }
}

// what each source read, for the fields a check uses: the disputed ones first and marked
function readings(item) {
  if (item.kind === "batch_row") {
    const values = item.extracted.values || {};
    return h("dl", { class: "readings", id: "rv-readings" }, FIELDS.map(([name, label]) => [
      h("dt", {}, t(label)), h("dd", { class: "mono" }, values[name] || "—")]));
  }
  const disputed = Object.fromEntries((item.extracted.disagreements || []).map((d) => [d.field, d.values]));
  const fields = item.extracted.fields || {};
  const names = ["invoice_code", "invoice_number", "issue_date", "amount", "total", "check_code", "seller_name", "buyer_name"];
  return h("dl", { class: "readings", id: "rv-readings" }, names.filter((n) => fields[n] || disputed[n]).map((name) => {
    const values = disputed[name];
    const shown = values
      ? Object.entries(values).map(([source, value]) => h("span", { class: "disputed", "data-source": source }, `${t(SOURCES[source] || source)}: ${value}`))
      : [h("span", { class: "mono" }, fields[name].value), h("span", { class: "muted" }, ` · ${t(SOURCES[fields[name].source] || fields[name].source)} ${Math.round(fields[name].confidence * 100)}%`)];
    return [h("dt", { class: values ? "disputed" : "" }, t(`rv_f_${name}`)), h("dd", { "data-field": name }, shown)];
  }));
}

function showItem(item, picture) {
  const open = item.status === "open";
  const inputs = FIELDS.map(([name, label]) => field(`rv-${name}`, t(label), {
    value: (item.corrected || item.proposed)[name] || "", autocomplete: "off", maxLength: 20, disabled: !open,
    inputMode: name === "issue_date" ? "text" : "decimal" }));
  const status = h("p", { class: "field-error", id: "rv-msg", role: "status" });
  const submit = h("button", { type: "submit", class: "primary", id: "rv-submit", hidden: !open }, t("rv_submit"));
  const form = h("form", { class: "card", id: "rv-form", onsubmit: (e) => { e.preventDefault(); sendCheck(inputs, status); } },
    h("h2", {}, t("rv_fields")), inputs.map((f) => f.el), h("p", { class: "hint" }, t("rv_hint")), submit, status);
  const done = item.check_id
    ? h("div", { class: "card", id: "rv-done" },
      h("p", {}, t("rv_done", { who: item.reviewed_by, at: fmtTime(item.reviewed_at) })),
      h("a", { href: `#/check/${item.check_id}`, id: "rv-check" }, t("rv_open_check")),
      item.batch_id ? h("p", {}, h("a", { href: `#/batch/${item.batch_id}`, id: "rv-batch-link" }, t("rv_open_batch"))) : null)
    : null;
  const source = h("div", { class: "card rv-source" },
    h("h2", {}, item.kind === "document" ? item.file_name : t("b_line", { n: item.line })),
    h("p", { class: "field-error", id: "rv-reason" }, pick(item, "reason")),
    picture || (item.kind === "document" ? h("p", { class: "muted" }, t("rv_no_page")) : null),
    readings(item));
  return h("div", {},
    h("div", { class: "review-split" }, source, h("div", {}, form, done)),
    h("div", { class: "card" }, h("h2", {}, t("cs_history")),
      h("ol", { class: "history", id: "rv-history" }, item.history.map((e) =>
        h("li", { "data-kind": e.kind }, h("span", { class: "muted" }, `${fmtTime(e.at)} · ${e.actor} · `), t(`rv_h_${e.kind}`))))));
}

async function sendCheck(inputs, status) {
  const json = Object.fromEntries(FIELDS.map(([name], i) => [name, inputs[i].input.value.trim()]));
  for (const f of inputs) setError(f, "");
  status.textContent = "";
  try {
    const item = await api(`/v1/reviews/${encodeURIComponent(ui.id)}/submit`, { method: "POST", json });
    replace(ui.body, showItem(item, document.getElementById("rv-page")));
    document.getElementById("rv-msg").textContent = t("rv_sent");
  } catch (e) {
    const wrong = e.fields || {};
    FIELDS.forEach(([name], i) => { if (wrong[name]) setError(inputs[i], wrong[name]); });
    status.textContent = Object.keys(wrong).length ? t("rv_fix") : e.message;
  }
}
