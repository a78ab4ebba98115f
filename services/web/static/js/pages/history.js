// 历史查验记录: filters, pages by cursor, export of the same query as CSV or XLSX.
import { file } from "../api.js";
import { field, h, icon, saveBlob } from "../dom.js";
import { fmtMoney, fmtTime, t, VERDICTS, verdictName } from "../i18n.js";
import { showPage } from "../paging.js";

let ui = null;

export function render() {
  const f = {
    from: field("h-from", t("h_from"), { type: "date" }),
    to: field("h-to", t("h_to"), { type: "date" }),
    verdict: field("h-verdict", t("h_verdict"), {
      tag: "select",
      options: [h("option", { value: "" }, t("h_all")), VERDICTS.map((v) => h("option", { value: v }, verdictName(v)))],
    }),
    seller: field("h-seller", t("h_seller"), { autocomplete: "off", maxLength: 100 }),
    number: field("h-number", t("h_number"), { inputmode: "numeric", autocomplete: "off", maxLength: 20 }),
  };
  const error = h("p", { class: "field-error", id: "h-err", role: "alert" });
  const list = h("ul", { class: "records", id: "h-list", "aria-live": "polite" });
  const more = h("button", { type: "button", id: "h-more", hidden: true, onclick: () => load(true) }, t("h_more"));
  const count = h("p", { class: "muted", id: "h-count" });
  const form = h("form", { class: "card filters", onsubmit: (e) => { e.preventDefault(); load(false); } },
    h("div", { class: "grid-3" }, Object.values(f).map((x) => x.el)),
    error,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, icon("search"), t("h_search")),
      ["csv", "xlsx"].map((format) => h("button", { type: "button", onclick: () => exportAs(format) },
        icon("download"), `${t("h_export")} ${format.toUpperCase()}`))));
  ui = { f, error, list, more, count, cursor: null, shown: 0 };
  load(false);
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("h_title")), form, count, list, more);
}

export function unmount() {
  ui = null;
}

function query() {
  const q = new URLSearchParams();
  const { f } = ui;
  if (f.from.input.value) q.set("date_from", f.from.input.value);
  if (f.to.input.value) q.set("date_to", f.to.input.value);
  if (f.verdict.input.value) q.set("verdict", f.verdict.input.value);
  if (f.seller.input.value.trim()) q.set("seller", f.seller.input.value.trim());
  if (f.number.input.value.trim()) q.set("invoice_number", f.number.input.value.trim());
  return q;
}

async function load(next) {
  const mine = ui;
  const q = query();
  q.set("limit", "20");
  await showPage(ui, { path: "/v1/history", query: q, next, row, stale: () => ui !== mine,
    counted: (n) => (n ? t("h_count", { n }) : t("h_empty")) });
}

function row(item) {
  const tone = item.verdict === "consistent" ? "ok" : item.verdict === "pending_sync" ? "wait" : "bad";
  return h("li", { class: "record" },
    h("a", { href: `#/check/${item.check_id}` },
      h("span", { class: `badge tone-${tone}` }, verdictName(item.verdict)),
      h("span", { class: "mono" }, [item.invoice_code, item.invoice_number].filter(Boolean).join(" ")),
      h("span", { class: "seller" }, item.seller_name || item.seller_tax_id),
      h("span", { class: "num" }, Number(item.total) ? fmtMoney(item.total) : "—"),
      h("span", { class: "muted" }, fmtTime(item.requested_at)),
      h("span", { class: "muted" }, t("v_count", { n: item.check_count })),
      item.channel === "review" ? h("span", { class: "badge reviewed", title: item.requester }, t("h_reviewed", { who: item.requester })) : null));
}

async function exportAs(format) {
  const q = query();
  q.set("format", format);
  try {
    const { blob, name } = await file(`/v1/history/export?${q}`);
    saveBlob(blob, name);
  } catch (e) {
    if (ui) ui.error.textContent = e.message;
  }
}
