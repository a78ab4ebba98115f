// 发票查验: the form the search box fills (the server tells which fields a value needs), the verdict card
// that follows a held check until it is final, and the offline queue.
import { api, ApiError, file, session } from "../api.js";
import { append, field, h, icon, replace, saveBlob, setError, uuid } from "../dom.js";
import { fmtMoney, fmtTime, has, pick, t } from "../i18n.js";
import * as notify from "../notify.js";
import * as queue from "../queue.js";

const state = { form: null, values: {}, manual: false, note: "", view: null };
let ui = null; // the mounted page's elements, or null
let inspectTimer = null;

export function render(params) {
  const fields = {
    code: field("f-code", t("f_code"), { inputmode: "numeric", autocomplete: "off", maxLength: 12 }, t("f_code_hint")),
    number: field("f-number", t("f_number"), { inputmode: "numeric", autocomplete: "off", maxLength: 20 }),
    date: field("f-date", t("f_date"), { type: "date" }),
    fourth: field("f-fourth", t("f_fourth_unknown"), { inputmode: "decimal", autocomplete: "off", maxLength: 20 }),
    kind: field("f-kind", t("f_fourth_kind"), {
      tag: "select",
      options: [
        h("option", { value: "check_code" }, t("kind_check_code")),
        h("option", { value: "amount" }, t("kind_amount")),
      ],
    }),
  };
  const typeLine = h("p", { class: "type-line", id: "type-line", "aria-live": "polite" });
  const note = h("p", { class: "note", id: "form-note", "aria-live": "polite" });
  const formError = h("p", { class: "field-error", id: "form-err", role: "alert" });
  const form = h("form", { class: "card check-form", id: "check-form", novalidate: true, onsubmit: submit },
    typeLine, note,
    h("div", { class: "grid-2" }, fields.code.el, fields.number.el, fields.date.el, fields.kind.el, fields.fourth.el),
    formError,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "f-submit" }, t("f_submit")),
      h("button", { type: "button", onclick: clearForm }, t("f_clear"))));
  for (const name of ["code", "number"]) fields[name].input.addEventListener("input", typed);
  const verdict = h("div", { id: "verdict", "aria-live": "polite" });
  const queued = h("section", { id: "queue", class: "queue", "aria-labelledby": "queue-title" });
  ui = { fields, typeLine, note, formError, verdict, queued, form };
  const root = h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("check_title")),
    h("div", { class: "check-layout" }, h("div", {}, form, queued), verdict));
  applyForm();
  renderQueue();
  if (params.id) open(params.id);
  else if (state.view) showVerdict(state.view);
  return root;
}

export function unmount() {
  if (!ui) return;
  // keep what was typed (a language switch or a visit elsewhere rebuilds the page)
  const { code, number, date, fourth } = ui.fields;
  const draft = { invoice_code: code.input.value, invoice_number: number.input.value, issue_date: date.input.value };
  const kind = state.form?.fourth_field === "check_code_last6" || (!state.form && ui.fields.kind.input.value === "check_code")
    ? "check_code" : "amount";
  state.values = { ...draft, [kind]: fourth.input.value };
  ui = null;
}

window.addEventListener("queue-changed", () => renderQueue());

// --- filling the form -------------------------------------------------------------------------------

export async function fromSearch(value, searchError) {
  searchError("");
  if (!navigator.onLine) {
    Object.assign(state, { form: null, values: {}, manual: true, note: t("form_offline_manual") });
    applyForm();
    return;
  }
  try {
    const form = await api(`/v1/inspect?value=${encodeURIComponent(value)}`);
    searchError(form.errors.join("; "));
    if (!Object.keys(form.values).length) return;
    Object.assign(state, { form, values: form.values, manual: false, note: "" });
    state.view = null;
    applyForm();
    if (ui) replace(ui.verdict);
  } catch (e) {
    if (e.offline) {
      Object.assign(state, { form: null, values: {}, manual: true, note: t("form_offline_manual") });
      applyForm();
    } else {
      searchError(e.message);
    }
  }
}

export async function fromFile(doc, searchError) {
  searchError("");
  Object.assign(state, { note: t("doc_reading", { name: doc.name }) });
  applyForm();
  const body = new FormData();
  body.append("file", doc);
  try {
    const read = await api("/v1/documents/extract", { method: "POST", body });
    if (!read.form && read.review_id) {
      state.note = t("doc_review", { name: read.file, msg: pick(read.problem, "msg") });
      applyForm();
      if (ui) ui.note.append(" ", h("a", { href: `#/review/${read.review_id}`, id: "doc-review" }, t("doc_review_open")));
      return;
    }
    if (!read.form) {
      state.note = "";
      applyForm();
      searchError(`${read.file}: ${pick(read.problem, "msg")}`);
      return;
    }
    const note = t("doc_read", { name: read.file, c: `${Math.round(read.confidence * 100)}%` });
    Object.assign(state, { form: read.form, values: read.form.values, manual: false, note, view: null });
    applyForm();
    if (ui) replace(ui.verdict);
  } catch (e) {
    state.note = "";
    applyForm();
    searchError(e.message);
  }
}

function fourthKnown() {
  return Boolean(state.form && state.form.fourth_field);
}

function applyForm() {
  if (!ui) return;
  const { fields, typeLine, note } = ui;
  const form = state.form;
  const digital = Boolean(form && form.digital);
  fields.code.el.hidden = digital;
  fields.kind.el.hidden = fourthKnown();
  fields.fourth.label.textContent = fourthKnown() ? pick(form, "fourth_label") : t("f_fourth_unknown");
  typeLine.textContent = form ? (pick(form, "type_name") || (digital ? t("type_digital") : t("type_unknown"))) : "";
  note.textContent = state.note;
  const v = state.values;
  fields.code.input.value = v.invoice_code ?? fields.code.input.value;
  fields.number.input.value = v.invoice_number ?? fields.number.input.value;
  fields.date.input.value = v.issue_date ?? fields.date.input.value;
  const fourth = form ? (form.fourth_field === "check_code_last6" ? v.check_code : v.amount) : (v.check_code ?? v.amount);
  if (fourth !== undefined) fields.fourth.input.value = fourth;
  if (!form && (v.check_code ?? v.amount) !== undefined) fields.kind.input.value = v.check_code !== undefined ? "check_code" : "amount";
  for (const f of Object.values(fields)) setError(f, "");
  ui.formError.textContent = "";
  const empty = [fields.code, fields.number, fields.date, fields.fourth].find((f) => !f.el.hidden && !f.input.value);
  if (form && empty) empty.input.focus();
}

// Typing in code or number: ask again which fourth field this type needs (online only).
function typed() {
  clearTimeout(inspectTimer);
  inspectTimer = setTimeout(async () => {
    if (!ui || !navigator.onLine) return;
    const code = ui.fields.code.el.hidden ? "" : ui.fields.code.input.value.trim();
    const number = ui.fields.number.input.value.trim();
    const value = [code, number].filter(Boolean).join(" ");
    if (!value) return;
    try {
      const form = await api(`/v1/inspect?value=${encodeURIComponent(value)}`);
      state.form = form.fourth_field || form.digital ? form : null;
      state.manual = !state.form;
      state.values = {};
      if (!ui) return;
      ui.fields.code.el.hidden = Boolean(form.digital);
      ui.fields.kind.el.hidden = fourthKnown();
      ui.fields.fourth.label.textContent = fourthKnown() ? pick(form, "fourth_label") : t("f_fourth_unknown");
      ui.typeLine.textContent = pick(form, "type_name") || (form.digital ? t("type_digital") : "");
    } catch {
      /* offline or refused: the manual form stays */
    }
  }, 350);
}

function clearForm() {
  Object.assign(state, { form: null, values: {}, manual: false, note: "", view: null });
  if (!ui) return;
  for (const f of Object.values(ui.fields)) f.input.value = "";
  ui.fields.kind.input.value = "check_code";
  applyForm();
  replace(ui.verdict);
}

// --- checking ---------------------------------------------------------------------------------------

const FIELD_OF = { invoice_code: "code", invoice_number: "number", issue_date: "date", amount: "fourth", check_code: "fourth" };

function body() {
  const { fields } = ui;
  const kind = fourthKnown() ? (state.form.fourth_field === "check_code_last6" ? "check_code" : "amount")
    : fields.kind.input.value;
  const me = session.get()?.me;
  const out = {
    invoice_code: fields.code.el.hidden ? "" : fields.code.input.value.trim(),
    invoice_number: fields.number.input.value.trim(),
    issue_date: fields.date.input.value,
    [kind]: fields.fourth.input.value.trim(),
  };
  if (me?.requester) out.requester = me.requester;  // a member reference, never the user id
  return out;
}

async function submit(event) {
  event.preventDefault();
  const { fields } = ui;
  let missing = false;
  for (const name of ["code", "number", "date", "fourth"]) {
    const f = fields[name];
    const empty = !f.el.hidden && !f.input.value.trim() && name !== "code";
    setError(f, empty ? t("required") : "");
    missing = missing || empty;
  }
  ui.formError.textContent = "";
  if (missing) return;
  const request = body();
  if (!navigator.onLine) return queueIt(request);
  const button = ui.form.querySelector("#f-submit");
  button.disabled = true;
  try {
    const answer = await api("/v1/checks?wait=3", {
      method: "POST",
      json: request,
      headers: { "Idempotency-Key": uuid() },
    });
    const queued = answer.status === "pending" && !answer.verdict;
    if (queued) notify.watchFor(answer.check_id); // told on any page when the answer arrives
    showVerdict(queued ? { check_id: answer.check_id, status: "pending", queued: true } : answer);
  } catch (e) {
    if (e instanceof ApiError && e.offline) return queueIt(request);
    const errors = e instanceof ApiError ? e.fields : {};
    let shown = false;
    for (const [name, message] of Object.entries(errors)) {
      const target = fields[FIELD_OF[name]];
      if (target) {
        setError(target, message);
        shown = true;
      }
    }
    if (!shown) ui.formError.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function queueIt(request) {
  queue.enqueue(request);
  if (ui) ui.formError.textContent = t("queued_offline");
}

async function open(id) {
  replace(ui.verdict, h("p", { class: "muted" }, t("loading")));
  try {
    showVerdict(await api(`/v1/checks/${encodeURIComponent(id)}`));
  } catch (e) {
    replace(ui.verdict, h("p", { class: "field-error", role: "alert" }, e.message));
  }
}

// --- the verdict card ---------------------------------------------------------------------------------

const TONE = { consistent: "ok", inconsistent: "bad", not_found: "bad", pending_sync: "wait" };
// the 常见问题 answer of each verdict (docs/kb/<lang>/<id>.md)
const HELP = { consistent: "consistent", inconsistent: "inconsistent", not_found: "not-found", pending_sync: "not-found",
  voided: "void-and-red", red_flushed_partial: "void-and-red", red_flushed_full: "void-and-red", abnormal: "void-and-red",
  limit_exceeded: "daily-limit", too_old: "daily-limit", invalid: "batch-errors" };
const helpFor = (view) => (view.status === "pending" ? "queued" : HELP[view.verdict] || "consistent");

function showVerdict(view, updated = false) {
  state.view = view;
  if (!ui) return;
  const card = verdictCard(view, updated);
  const fresh = !ui.verdict.firstChild;
  replace(ui.verdict, card);
  if (fresh) card.scrollIntoView({ block: "start", behavior: "smooth" });
  if (view.status !== "done") watch(view, card);
}

function verdictCard(view, updated) {
  const tone = view.status === "pending" ? "wait" : TONE[view.verdict] || "warn";
  const title = view.status === "pending" ? t("v_pending") : pick(view, "verdict");
  const glyph = { ok: "ok", bad: "bad", wait: "clock", warn: "warn" }[tone];
  const card = h("article", { class: `card verdict tone-${tone}`, id: "verdict-card", "data-verdict": view.verdict || "pending",
    "data-status": view.status, "aria-labelledby": "verdict-title" },
    h("header", { class: "verdict-head" }, icon(glyph), h("h2", { id: "verdict-title" }, title),
      view.check_count ? h("span", { class: "count", id: "check-count" }, t("v_count", { n: view.check_count })) : null),
    updated ? h("p", { class: "badge" }, t("v_updated")) : null,
    view.queued ? h("p", { class: "note", id: "queued-note" }, t("v_queued")) : null,
    view.status === "pending_sync" ? h("p", { class: "note" }, t("v_pending_sync")) : null,
    view.message_zh && view.message_zh !== view.verdict_zh ? h("p", { class: "message" }, pick(view, "message")) : null,
    view.follow_up ? h("p", { class: "note" }, t("v_follow_up")) : null,
    h("p", {}, h("a", { href: `#/help/${helpFor(view)}`, id: "verdict-help" }, t("kb_why"))));
  const facts = h("dl", { class: "facts" });
  const fact = (label, value) => value && append(facts, [h("dt", {}, label), h("dd", {}, value)]);
  fact(t("v_decided"), fmtTime(view.decided_at));
  if (view.invoice_status) fact(t("v_status"), t(`st_${view.invoice_status}`));
  if (view.mismatched_fields?.length) {
    fact(t("v_differs"), view.mismatched_fields.map((f) => (has(`fld_${f}`) ? t(`fld_${f}`) : f)).join("、"));
  }
  append(card, [facts]);
  if (view.invoice) append(card, [face(view.invoice)]);
  const actions = h("div", { class: "actions" });
  if (view.check_id && view.status !== "pending") {
    append(actions, [h("button", { type: "button", onclick: () => refresh(view) }, icon("refresh"), t("v_refresh"))]);
  }
  if (view.status === "done") {
    append(actions, [h("button", { type: "button", onclick: () => receipt(view.check_id) }, icon("download"), t("v_receipt"))]);
  }
  append(actions, [h("button", { type: "button", onclick: clearForm }, t("v_new"))]);
  return append(card, [actions]);
}

function face(inv) {
  const party = (label, p) => h("div", { class: "party" }, h("h4", {}, label), h("p", {}, p.name), h("p", { class: "mono" }, p.tax_id));
  return h("section", { class: "face", "aria-label": t("v_face") },
    h("h3", {}, `${inv.type_name} · ${t("v_face")}`),
    h("p", { class: "mono" }, [inv.invoice_code, inv.invoice_number].filter(Boolean).join(" "), " · ", inv.issue_date),
    h("div", { class: "grid-2" }, party(t("v_seller"), inv.seller), party(t("v_buyer"), inv.buyer)),
    h("ul", { class: "lines", "aria-label": t("v_items") }, inv.lines.map((line) =>
      h("li", {}, h("span", {}, line.item), h("span", { class: "num" }, fmtMoney(line.amount), " · ",
        `${Math.round(Number(line.tax_rate) * 100)}%`, " · ", fmtMoney(line.tax))))),
    h("dl", { class: "facts totals" },
      h("dt", {}, t("v_amount")), h("dd", { class: "num" }, fmtMoney(inv.amount)),
      h("dt", {}, t("v_tax")), h("dd", { class: "num" }, fmtMoney(inv.tax)),
      h("dt", {}, t("v_total")), h("dd", { class: "num strong" }, fmtMoney(inv.total)),
      inv.remarks ? [h("dt", {}, t("v_remarks")), h("dd", {}, inv.remarks)] : null));
}

// A held check (查验中 / 尚未同步) is asked again, more slowly over time, until it is final; the card then
// updates by itself. Stops when the card leaves the page.
async function watch(view, card) {
  let delay = 800;
  while (card.isConnected) {
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 5000);
    if (!card.isConnected || !navigator.onLine) continue;
    try {
      const now = await api(`/v1/checks/${view.check_id}`);
      if (now.status !== view.status || now.result_version !== view.result_version) {
        if (now.verdict && now.status !== "pending") notify.forget(view.check_id); // seen here: no notice
        if (card.isConnected) showVerdict(now, view.status !== "pending");
        return;
      }
    } catch (e) {
      if (e.status === 401 || e.status === 404) return;
    }
  }
}

async function refresh(view) {
  try {
    const answer = await api(`/v1/checks/${view.check_id}/refresh?wait=5`, { method: "POST" });
    showVerdict(answer.verdict ? answer : { ...view, status: "pending" }, true);
  } catch (e) {
    if (ui) ui.formError.textContent = e.message;
  }
}

async function receipt(id) {
  try {
    const { blob } = await file(`/v1/checks/${id}/receipt?format=pdf`);
    saveBlob(blob, `receipt-${id}.pdf`);
  } catch (e) {
    if (ui) ui.formError.textContent = e.message;
  }
}

// --- the offline queue ----------------------------------------------------------------------------------

function renderQueue() {
  if (!ui) return;
  const list = queue.items();
  ui.queued.hidden = !list.length;
  if (!list.length) return replace(ui.queued);
  replace(ui.queued, h("h2", { id: "queue-title" }, t("q_title")),
    h("ul", { class: "queue-list" }, list.slice().reverse().map((item) =>
      h("li", { class: `queue-item state-${item.state}`, "data-state": item.state },
        h("div", { class: "mono" }, [item.body.invoice_code, item.body.invoice_number].filter(Boolean).join(" ")),
        h("div", { class: "queue-state" }, t(`q_${item.state}`),
          item.result ? h("strong", { class: `verdict-text tone-${TONE[item.result.verdict] || "warn"}` }, " · ", pick(item.result, "verdict")) : null,
          item.error ? h("span", { class: "field-error" }, " · ", item.error) : null),
        h("div", { class: "actions" },
          item.check_id ? h("a", { class: "button", href: `#/check/${item.check_id}` }, t("q_open")) : null,
          h("button", { type: "button", onclick: () => queue.remove(item.id) }, t("q_remove")))))));
}
