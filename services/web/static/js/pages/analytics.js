// 智能数据分析: the period report in sentences, its key figures and the server-drawn trend charts.
import { api, file } from "../api.js";
import { h, replace } from "../dom.js";
import { fmtCompact, fmtPct, lang, pick, t } from "../i18n.js";

const CHARTS = ["checks", "verdicts", "consistent-rate", "alert-rate", "regions", "risky-sellers"];
let ui = null;
let days = 30;

export function render() {
  const body = h("div", { id: "a-body", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  const choices = [7, 30, 90];
  const buttons = choices.map((n) => h("button", { type: "button", "aria-pressed": String(n === days),
    onclick: () => {
      days = n;
      buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(choices[i] === n)));
      ui.urls.forEach((u) => URL.revokeObjectURL(u));
      ui = { body, urls: [] };
      replace(body, h("p", { class: "muted" }, t("loading")));
      load(ui);
    } }, t("a_days", { n })));
  ui = { body, urls: [] };
  load(ui);
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("a_title")),
    h("div", { class: "segmented", role: "group", "aria-label": t("a_report") }, buttons), body);
}

export function unmount() {
  if (ui) ui.urls.forEach((u) => URL.revokeObjectURL(u));
  ui = null;
}

function isoDay(d) {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

async function load(mine) {
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  const q = `date_from=${isoDay(from)}&date_to=${isoDay(to)}`;
  try {
    const report = await api(`/v1/analytics/report?${q}`);
    if (ui !== mine) return;
    replace(mine.body, figures(report.total), summary(report), charts(mine, report), sellers(report));
  } catch (e) {
    if (ui === mine) replace(mine.body, h("p", { class: "field-error", role: "alert" }, e.message));
  }
}

function change(value, unit) {
  if (value === null || value === undefined) return "";
  const sign = value > 0 ? "+" : "";
  return t("a_vs_prev", { v: `${sign}${value.toFixed(1)}${unit}` });
}

function figures(total) {
  const c = total.current;
  const tile = (label, value, delta) => h("li", { class: "tile" },
    h("span", { class: "tile-label" }, label), h("strong", {}, value), h("span", { class: "muted" }, delta));
  return h("ul", { class: "tiles", id: "a-tiles" },
    tile(t("a_checks"), c.checks.toLocaleString(), change(total.change.checks_pct, "%")),
    tile(t("a_consistent"), fmtPct(c.consistent_rate), change(total.change.consistent_rate_pp, "pp")),
    tile(t("a_inconsistent"), fmtPct(c.inconsistent_rate), change(total.change.inconsistent_rate_pp, "pp")),
    tile(t("a_alerts"), fmtPct(c.alert_rate), change(total.change.alert_rate_pp, "pp")),
    tile(t("a_amount"), fmtCompact(c.amount), change(total.change.amount_pct, "%")));
}

function summary(report) {
  const sentences = lang() === "en" ? report.summary_en : report.summary_zh;
  return h("section", { class: "card", "aria-labelledby": "a-report" },
    h("h2", { id: "a-report" }, t("a_report"), h("small", { class: "muted" }, ` ${report.date_from} – ${report.date_to}`)),
    h("ul", { class: "sentences", id: "a-summary" }, sentences.map((s) => h("li", {}, s))));
}

// The charts are drawn by the server (PNG); fetched with the credentials and shown from blob: URLs.
function charts(mine, report) {
  const grid = h("div", { class: "charts" });
  for (const name of CHARTS) {
    const url = report.charts[name];
    if (!url) continue;
    const img = h("img", { alt: t(`chart_${name}`), width: 640, height: 360, loading: "lazy" });
    grid.append(h("figure", { class: "card chart" }, img, h("figcaption", {}, t(`chart_${name}`))));
    file(url).then(({ blob }) => {
      if (ui !== mine) return;
      const src = URL.createObjectURL(blob);
      mine.urls.push(src);
      img.src = src;
    }).catch(() => img.replaceWith(h("p", { class: "muted" }, t("a_none"))));
  }
  return h("section", { "aria-labelledby": "a-charts" }, h("h2", { id: "a-charts" }, t("a_charts")), grid);
}

function sellers(report) {
  const risky = report.top_risky_sellers;
  const unusual = report.unusual_regions;
  return h("div", { class: "grid-2" },
    h("section", { class: "card" }, h("h2", {}, t("a_risky")),
      risky.length ? h("ol", {}, risky.map((s) => h("li", {}, `${s.name || s.tax_id} · ${fmtPct(s.risky_rate)} (${s.risky}/${s.checks})`)))
        : h("p", { class: "muted" }, t("a_none"))),
    h("section", { class: "card" }, h("h2", {}, t("a_unusual")),
      unusual.length ? h("ul", {}, unusual.map((r) => h("li", {}, `${pick(r, "label")} · ${r.current.checks}`)))
        : h("p", { class: "muted" }, t("a_none"))));
}
