// 预警复核: one alert's case — status through the workflow, assignee, due time, comments, history.
import { api } from "../api.js";
import { field, h, replace } from "../dom.js";
import { fmtTime, t } from "../i18n.js";
import { reasonName } from "./inbox.js";

const NEXT = {
  new: ["in_review", "dismissed"],
  in_review: ["confirmed_fraud", "confirmed_error", "dismissed"],
  confirmed_fraud: ["in_review"],
  confirmed_error: ["in_review"],
  dismissed: ["in_review"],
};
let ui = null;

export function render({ id }) {
  const body = h("div", { id: "cs-body" }, h("p", { class: "muted" }, t("loading")));
  ui = { id, body, assignees: null };
  load();
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("cs_title")), h("p", {}, h("a", { href: "#/alerts" }, `← ${t("in_title")}`)), body);
}

export function unmount() {
  ui = null;
}

async function load() {
  const mine = ui;
  try {
    const [view, people] = await Promise.all([
      api(`/v1/alerts/${encodeURIComponent(mine.id)}`),
      mine.assignees ? Promise.resolve(mine.assignees) : api("/v1/alerts/assignees").catch(() => ({ data: [] })),
    ]);
    if (ui !== mine) return;
    mine.assignees = people;
    replace(mine.body, show(view, people.data));
  } catch (e) {
    if (ui === mine) replace(mine.body, h("p", { class: "field-error", role: "alert" }, e.message));
  }
}

async function change(json, status) {
  try {
    const view = await api(`/v1/alerts/${encodeURIComponent(ui.id)}/case`, { method: "PATCH", json });
    replace(ui.body, show(view, ui.assignees?.data || []));
    document.getElementById("cs-msg").textContent = t("cs_saved");
  } catch (e) {
    status.textContent = e.message;
  }
}

function historyLine(e) {
  const name = (v) => (v && t(`cs_${v}`) !== `cs_${v}` ? t(`cs_${v}`) : v || "—");
  if (e.kind === "created") return t("cs_h_created");
  if (e.kind === "status") return t("cs_h_status", { o: name(e.old), n: name(e.new) });
  if (e.kind === "assignee") return t("cs_h_assignee", { o: e.old || "—", n: e.new || "—" });
  if (e.kind === "due") return t("cs_h_due", { o: e.old ? fmtTime(e.old) : "—", n: e.new ? fmtTime(e.new) : "—" });
  return t("cs_h_comment", { n: e.new });
}

function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function show(view, people) {
  const { alert } = view;
  const status = h("p", { class: "field-error", id: "cs-msg", role: "status" });
  const moves = NEXT[alert.case.status].map((s) =>
    h("button", { type: "button", class: s === "in_review" ? "primary" : "", "data-status": s,
      onclick: () => change({ status: s }, status) }, t("cs_move", { s: t(`cs_${s}`) })));
  const assignee = field("cs-assignee", t("cs_assignee"), { tag: "select", options: [
    h("option", { value: "" }, t("in_unassigned")),
    people.map((p) => h("option", { value: p.user_id, selected: p.user_id === alert.case.assignee }, p.display_name || p.email)),
  ] });
  const due = field("cs-due", t("cs_due"), { type: "datetime-local", value: localInput(alert.case.due_at) });
  const save = h("button", { type: "button", id: "cs-save", onclick: () => change({
    assignee: assignee.input.value || null,
    due_at: due.input.value ? new Date(due.input.value).toISOString() : null,
  }, status) }, t("cs_save"));
  const comment = field("cs-comment", t("cs_comment"), { tag: "textarea", maxLength: 4000, rows: 3 });
  const add = h("button", { type: "button", id: "cs-comment-add", onclick: () => {
    const text = comment.input.value.trim();
    if (text) change({ comment: text }, status);
  } }, t("cs_comment_add"));
  return h("div", {},
    h("div", { class: `card alert sev-${alert.severity}` },
      h("header", {},
        h("span", { class: `badge case-${alert.case.status}`, id: "cs-status" }, t(`cs_${alert.case.status}`)),
        h("span", { class: `badge sev-${alert.severity}` }, t(`sev_${alert.severity}`)),
        h("strong", {}, alert.reasons.map(reasonName).join("、")),
        h("span", { class: "muted" }, t("al_score", { s: alert.score }))),
      h("p", { class: "mono" }, alert.invoice_key, alert.seller_tax_id ? ` · ${alert.seller_tax_id}` : ""),
      h("p", { class: "muted" }, fmtTime(alert.raised_at)),
      Object.keys(alert.evidence).length
        ? h("ul", { class: "evidence" }, Object.entries(alert.evidence).map(([k, v]) => h("li", {}, `${k}: ${v}`)))
        : null,
      h("a", { href: `#/check/${alert.check_id}` }, t("al_open"))),
    h("div", { class: "card" }, h("div", { class: "actions", id: "cs-moves" }, moves),
      h("p", { class: "hint" }, t("cs_decision_hint")), status),
    h("div", { class: "card" }, h("div", { class: "grid-3" }, assignee.el, due.el), save),
    h("div", { class: "card" }, comment.el, add),
    h("div", { class: "card" }, h("h2", {}, t("cs_history")),
      h("ol", { class: "history", id: "cs-history" }, view.history.map((e) =>
        h("li", { "data-kind": e.kind }, h("span", { class: "muted" }, `${fmtTime(e.at)} · ${e.actor} · `), historyLine(e))))));
}
