// 首页: 常用功能 shortcuts (the search box is at the top centre of every page), the offline queue's state.
import { session } from "../api.js";
import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import * as queue from "../queue.js";

const SHORTCUTS = [
  ["check", "check", "sc_check"],
  ["batch", "batch", "sc_batch"],
  ["history", "history", "sc_history"],
  ["analytics", "chart", "sc_analytics"],
  ["alerts", "bell", "sc_alerts"],
  ["account", "user", "sc_account"],
  ["keys", "key", "sc_keys"],
  ["feedback", "feedback", "sc_feedback"],
  ["help", "search", "sc_help"],
];

export function render() {
  const waiting = queue.pending().length;
  return h("section", { class: "page home", "aria-labelledby": "page-title" },
    session.get() ? null : h("div", { class: "card welcome" }, h("p", {}, t("home_welcome")),
      h("a", { class: "button primary", href: "#/account" }, t("home_login"))),
    waiting ? h("p", { class: "card note" }, h("a", { href: "#/check" }, `${t("q_title")}: ${waiting}`)) : null,
    h("h1", { id: "page-title" }, t("home_title")),
    h("ul", { class: "shortcuts" }, SHORTCUTS.map(([path, glyph, key]) =>
      h("li", {}, h("a", { href: `#/${path}`, class: "shortcut" }, icon(glyph),
        h("span", { class: "title" }, t(key)), h("span", { class: "desc" }, t(`${key}_d`)))))));
}
