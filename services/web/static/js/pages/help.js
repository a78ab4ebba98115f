// 常见问题: the knowledge base (GET /v1/kb) — search, the list, and one answer (#/help/<id>), in the
// app's language. Answers are Markdown from docs/kb/, drawn with text nodes (no innerHTML).
import { api } from "../api.js";
import { field, h, icon, replace } from "../dom.js";
import { lang, t } from "../i18n.js";

let ui = null;

export function render({ id }) {
  const search = field("kb-q", t("kb_search"), { type: "search", autocomplete: "off", maxLength: 100 });
  const list = h("ul", { class: "records kb-list", id: "kb-list", "aria-live": "polite" });
  const answer = h("article", { class: "card kb-answer", id: "kb-answer", hidden: !id });
  ui = { search, list, answer };
  const form = h("form", { class: "card filters", role: "search", onsubmit: (e) => { e.preventDefault(); find(); } },
    search.el, h("button", { type: "submit", class: "primary", id: "kb-go" }, icon("search"), t("kb_go")));
  if (id) open(id);
  find();
  return h("section", { class: "page", "aria-labelledby": "page-title" },
    h("h1", { id: "page-title" }, t("kb_title")), answer, form, list);
}

export function unmount() {
  ui = null;
}

async function find() {
  const mine = ui;
  const q = new URLSearchParams({ q: ui.search.input.value.trim(), lang: lang() });
  try {
    const out = await api(`/v1/kb?${q}`);
    if (ui !== mine) return;
    replace(ui.list, out.data.length
      ? out.data.map((a) => h("li", { class: "record", "data-kb": a.id },
        h("a", { href: `#/help/${a.id}` }, h("strong", {}, a.title), h("span", { class: "muted" }, a.tags.join(" · ")))))
      : h("li", { class: "muted" }, t("kb_none")));
  } catch (e) {
    if (ui === mine) replace(ui.list, h("li", { class: "field-error" }, e.message));
  }
}

async function open(id) {
  const mine = ui;
  try {
    const a = await api(`/v1/kb/${encodeURIComponent(id)}?lang=${lang()}`);
    if (ui !== mine) return;
    replace(ui.answer, h("h2", { id: "kb-title" }, a.title), markdown(a.body));
    ui.answer.hidden = false;
  } catch (e) {
    if (ui === mine) replace(ui.answer, h("p", { class: "field-error" }, e.message));
  }
}

// The Markdown the answers use: paragraphs, "- " lists, **bold** and `code`.
function inline(text) {
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/).filter(Boolean).map((part) =>
    part.startsWith("**") ? h("strong", {}, part.slice(2, -2)) : part.startsWith("`") ? h("code", {}, part.slice(1, -1)) : part);
}

function markdown(body) {
  const out = [];
  let items = null;
  for (const line of body.split("\n")) {
    if (line.startsWith("- ")) {
      if (!items) out.push((items = h("ul", {})));
      items.append(h("li", {}, inline(line.slice(2))));
    } else {
      items = null;
      if (line.trim()) out.push(h("p", {}, inline(line)));
    }
  }
  return out;
}
