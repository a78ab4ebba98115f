// 预警处理: the alert inbox (GET /v1/alerts) — filters, cursor pages, export, bulk triage, precision.
import { api, file, session } from "../api.js";
import { field, h, icon, replace, saveBlob } from "../dom.js";
import { fmtPct, fmtTime, has, t } from "../i18n.js";

export const CASE_STATUSES = ["new", "in_review", "confirmed_fraud", "confirmed_error", "dismissed"];
const SEVERITIES = ["low", "medium", "high", "critical"];
let ui = null;

function options(values, label) {
  return [h("option", { value: "" }, t("in_all")), values.map((v) => h("option", { value: v }, label(v)))];
}

export function reasonName(r) {
  return has(`r_${r}`) ? t(`r_${r}`) : r;
}

export function render() {
  const f = {
    status: field("in-status", t("in_status"), { tag: "select", options: options(CASE_STATUSES, (s) => t(`cs_${s}`)) }),
    severity: field("in-severity", t("in_severity"), { tag: "select", options: options(SEVERITIES, (s) => t(`sev_${s}`)) }),
    assignee: field("in-assignee", t("in_assignee"), { tag: "select", options: [h("option", { value: "" }, t("in_all")), h("option", { value: "me" }, t("in_me"))] }),
    reason: field("in-reason", t("in_reason"), { autocomplete: "off", maxLength: 64 }),
    seller: field("in-seller", t("in_seller"), { autocomplete: "off", maxLength: 20 }),
    from: field("in-from", t("in_from"), { type: "date" }),
    to: field("in-to", t("in_to"), { type: "date" }),
  };
  const error = h("p", { class: "field-error", id: "in-err", role: "alert" });
  const list = h("ul", { class: "records inbox", id: "in-list", "aria-live": "polite" });
  const more = h("button", { type: "button", id: "in-more", hidden: true, onclick: () => load(true) }, t("in_more"));
  const count = h("p", { class: "muted", id: "in-count" });
  const analyst = session.has("analyst");
  const bulkStatus = h("select", { id: "in-bulk-status", "aria-label": t("in_bulk_status") },
    CASE_STATUSES.filter((s) => s !== "new").map((s) => h("option", { value: s }, t(`cs_${s}`))));
  const selected = h("span", { class: "muted", id: "in-selected" });
  const bulk = analyst
    ? h("div", { class: "card bulk", id: "in-bulk" },
      h("label", {}, h("input", { type: "checkbox", id: "in-all", onchange: (e) => selectAll(e.target.checked) }), t("in_select_all")),
      selected,
      h("label", { for: "in-bulk-status" }, t("in_bulk_status")), bulkStatus,
      h("button", { type: "button", class: "primary", id: "in-bulk-apply", onclick: () => applyBulk({ status: bulkStatus.value }) }, t("in_bulk_apply")),
      h("button", { type: "button", id: "in-bulk-me", onclick: () => applyBulk({ assignee: "me" }) }, t("in_bulk_assign")))
    : null;
  const form = h("form", { class: "card filters", onsubmit: (e) => { e.preventDefault(); load(false); } },
    h("div", { class: "grid-3" }, Object.values(f).map((x) => x.el)),
    error,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "in-go" }, icon("search"), t("in_search")),
      ["csv", "xlsx"].map((format) => h("button", { type: "button", id: `in-export-${format}`, onclick: () => exportAs(format) },
        icon("download"), `${t("in_export")} ${format.toUpperCase()}`))));
  const precision = h("div", { class: "card precision", id: "in-precision" });
  ui = { f, error, list, more, count, selected, cursor: null, shown: 0, picked: new Set() };
  load(false);
  loadPrecision(precision);
  return h("div", {}, form, bulk, count, list, more, precision);
}

export function unmount() {
  ui = null;
}

function query() {
  const q = new URLSearchParams();
  const { f } = ui;
  for (const name of ["status", "severity", "assignee", "reason", "seller"]) {
    const value = f[name].input.value.trim();
    if (value) q.set(name, value);
  }
  // dates are Beijing days: [from 00:00, to + 1 day 00:00) at +08:00
  if (f.from.input.value) q.set("raised_from", `${f.from.input.value}T00:00:00+08:00`);
  if (f.to.input.value) {
    const end = new Date(`${f.to.input.value}T00:00:00+08:00`);
    end.setUTCDate(end.getUTCDate() + 1);
    q.set("raised_to", end.toISOString());
  }
  return q;
}

async function load(next) {
  const mine = ui;
  const q = query();
  q.set("limit", "20");
  if (next && ui.cursor) q.set("cursor", ui.cursor);
  ui.error.textContent = "";
  try {
    const page = await api(`/v1/alerts?${q}`);
    if (ui !== mine) return;
    if (!next) {
      replace(ui.list);
      ui.shown = 0;
      ui.picked.clear();
    }
    ui.shown += page.count;
    for (const item of page.data) ui.list.append(row(item));
    ui.cursor = page.next_cursor;
    ui.more.hidden = !page.next_cursor;
    ui.count.textContent = ui.shown ? t("in_count", { n: ui.shown }) : t("in_empty");
    showPicked();
  } catch (e) {
    if (ui === mine) ui.error.textContent = e.message;
  }
}

function row(item) {
  const reasons = item.reasons.map(reasonName).join("、");
  const box = session.has("analyst")
    ? h("input", { type: "checkbox", class: "pick", "aria-label": item.invoice_key, "data-alert": item.alert_id,
      onchange: (e) => { if (e.target.checked) ui.picked.add(item.alert_id); else ui.picked.delete(item.alert_id); showPicked(); } })
    : null;
  return h("li", { class: `record alert sev-${item.severity}`, "data-alert": item.alert_id },
    box,
    h("a", { href: `#/case/${item.alert_id}` },
      h("span", { class: `badge case-${item.case.status}` }, t(`cs_${item.case.status}`)),
      h("span", { class: `badge sev-${item.severity}` }, t(`sev_${item.severity}`)),
      h("strong", { class: "reasons" }, reasons),
      h("span", { class: "mono" }, item.invoice_key),
      h("span", { class: "mono muted" }, item.seller_tax_id),
      h("span", { class: "muted" }, fmtTime(item.raised_at)),
      h("span", { class: "muted" }, item.case.assignee ? `${t("in_assignee")}: ${item.case.assignee}` : t("in_unassigned")),
      item.case.due_at ? h("span", { class: "muted" }, `${t("in_due")} ${fmtTime(item.case.due_at)}`) : null));
}

function selectAll(on) {
  for (const box of ui.list.querySelectorAll("input.pick")) {
    box.checked = on;
    if (on) ui.picked.add(box.dataset.alert);
    else ui.picked.delete(box.dataset.alert);
  }
  showPicked();
}

function showPicked() {
  if (ui.selected) ui.selected.textContent = t("in_selected", { n: ui.picked.size });
}

async function applyBulk(change) {
  if (!ui.picked.size) return;
  try {
    const out = await api("/v1/alerts/cases/bulk", { method: "POST", json: { alert_ids: [...ui.picked], ...change } });
    ui.error.textContent = t("in_bulk_done", { n: out.changed, f: out.count - out.changed });
    const message = ui.error.textContent;
    await load(false);
    ui.error.textContent = message;
  } catch (e) {
    ui.error.textContent = e.message;
  }
}

async function exportAs(format) {
  const q = query();
  q.set("format", format);
  try {
    const { blob, name } = await file(`/v1/alerts/export?${q}`);
    saveBlob(blob, name);
  } catch (e) {
    if (ui) ui.error.textContent = e.message;
  }
}

async function loadPrecision(slot) {
  try {
    const out = await api("/v1/alerts/precision");
    const rows = out.data.map((p) => h("tr", {}, h("td", {}, p.month.slice(0, 7)), h("td", {}, reasonName(p.reason)),
      h("td", { class: "num" }, p.confirmed), h("td", { class: "num" }, p.dismissed), h("td", { class: "num" }, fmtPct(p.precision))));
    replace(slot, h("h2", {}, t("in_precision")),
      rows.length
        ? h("table", { id: "in-precision-table" }, h("thead", {}, h("tr", {}, ["in_p_month", "in_reason", "in_p_confirmed", "in_p_dismissed", "in_p_precision"].map((c) => h("th", {}, t(c))))), h("tbody", {}, rows))
        : h("p", { class: "muted" }, t("in_precision_none")));
  } catch {
    slot.hidden = true;
  }
}

