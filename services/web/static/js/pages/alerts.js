// 风险预警: the inbox (#/alerts, pages/inbox.js) and live alerts (#/alerts/live) from GET
// /v1/alerts/stream, read with fetch() so the credentials go in a header.
import { stream } from "../api.js";
import { field, h, icon } from "../dom.js";
import { fmtTime, has, t } from "../i18n.js";
import * as inbox from "./inbox.js";

const SEVERITIES = ["low", "medium", "high", "critical"];
const KEEP = 200;
let live = null; // {controller, list, status}
let minSeverity = "low";
const seen = []; // alerts of this tab, newest first, kept across page changes

function tabs(active) {
  return h("nav", { class: "tabs", "aria-label": t("in_title") },
    [["alerts", "in_tab_inbox", "inbox"], ["alerts/live", "in_tab_live", "live"], ["reviews", "rv_title", "reviews"]].map(([href, label, name]) =>
      h("a", { href: `#/${href}`, id: `tab-${name}`, "aria-current": name === active ? "page" : null }, t(label))));
}

export function render({ id } = {}) {
  if (id !== "live") {
    return h("section", { class: "page", "aria-labelledby": "page-title" },
      h("h1", { id: "page-title" }, t("in_title")), tabs("inbox"), inbox.render());
  }
  const select = field("al-min", t("al_min"), {
    tag: "select",
    options: SEVERITIES.map((s) => h("option", { value: s, selected: s === minSeverity }, t(`sev_${s}`))),
  });
  select.input.addEventListener("change", () => {
    minSeverity = select.input.value;
    connect();
  });
  const status = h("p", { class: "stream-status", id: "al-status", role: "status" });
  const list = h("ol", { class: "alerts", id: "al-list", "aria-live": "polite", "aria-relevant": "additions" });
  live = { controller: null, list, status };
  for (const alert of seen) list.append(item(alert));
  if (!seen.length) list.append(h("li", { class: "muted empty" }, t("al_empty")));
  connect();
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("al_title")), tabs("live"), h("div", { class: "card filters" }, select.el, status), list);
}

export function unmount() {
  inbox.unmount();
  live?.controller?.abort();
  live = null;
}

async function connect() {
  const mine = live;
  mine.controller?.abort();
  let delay = 1;
  while (live === mine) {
    const controller = new AbortController();
    mine.controller = controller;
    mine.status.textContent = t("al_connecting");
    mine.status.dataset.state = "connecting";
    try {
      await stream(`/v1/alerts/stream?min_severity=${minSeverity}`, controller.signal, (message) => {
        if (message.event === "alert") add(JSON.parse(message.data));
      }, () => {
        mine.status.textContent = t("al_live");
        mine.status.dataset.state = "live";
        delay = 1;
      });
    } catch (e) {
      if (controller.signal.aborted || live !== mine) return;
      if (e.status === 403 || e.status === 401) {
        mine.status.textContent = e.status === 403 ? t("al_forbidden") : e.message;
        mine.status.dataset.state = "closed";
        return;
      }
    }
    if (controller.signal.aborted || live !== mine) return;
    mine.status.textContent = t("al_retry", { s: delay });
    mine.status.dataset.state = "retrying";
    await new Promise((r) => setTimeout(r, delay * 1000));
    delay = Math.min(delay * 2, 30);
  }
}

function add(alert) {
  if (seen.some((a) => a.alert_id === alert.alert_id)) return;
  seen.unshift(alert);
  seen.length = Math.min(seen.length, KEEP);
  if (!live) return;
  live.list.querySelector(".empty")?.remove();
  live.list.prepend(item(alert));
  while (live.list.children.length > KEEP) live.list.lastChild.remove();
}

function item(alert) {
  const reasons = alert.reasons.map((r) => (has(`r_${r}`) ? t(`r_${r}`) : r)).join("、");
  return h("li", { class: `card alert sev-${alert.severity}`, "data-alert": alert.alert_id },
    h("header", {}, icon("warn"),
      h("strong", { class: "reasons" }, reasons),
      h("span", { class: `badge sev-${alert.severity}` }, t(`sev_${alert.severity}`)),
      h("span", { class: "muted" }, t("al_score", { s: alert.score }))),
    h("p", { class: "mono" }, alert.invoice_key, alert.seller_tax_id ? ` · ${alert.seller_tax_id}` : ""),
    h("p", { class: "muted" }, fmtTime(alert.raised_at)),
    Object.keys(alert.evidence || {}).length
      ? h("details", { class: "evidence" }, h("summary", {}, t("al_evidence")),
        h("ul", {}, Object.entries(alert.evidence).map(([k, v]) => h("li", {}, `${k}: ${v}`))))
      : null,
    h("a", { href: `#/check/${alert.check_id}` }, t("al_open")));
}
