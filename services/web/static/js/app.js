// The app shell: header with the one search box, navigation, language, connection state, hash routes.
import { session } from "./api.js";
import { h, icon, replace } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import * as notify from "./notify.js";
import * as queue from "./queue.js";
import * as account from "./pages/account.js";
import * as alerts from "./pages/alerts.js";
import * as analytics from "./pages/analytics.js";
import * as batch from "./pages/batch.js";
import * as caseView from "./pages/case.js";
import * as check from "./pages/check.js";
import * as feedback from "./pages/feedback.js";
import * as help from "./pages/help.js";
import * as history from "./pages/history.js";
import * as home from "./pages/home.js";
import * as keys from "./pages/keys.js";
import * as reviews from "./pages/reviews.js";

const PAGES = { "": home, check, batch, history, analytics, alerts, account, register: account, keys, feedback,
  case: caseView, help, reviews, review: reviews };
const NEEDS_LOGIN = new Set(["batch", "history", "analytics", "alerts", "keys", "feedback", "case", "reviews", "review"]);
export const NAV = [
  ["", "home", "nav_home"],
  ["check", "check", "nav_check"],
  ["batch", "batch", "nav_batch"],
  ["history", "history", "nav_history"],
  ["analytics", "chart", "nav_analytics"],
  ["alerts", "bell", "nav_alerts"],
  ["account", "user", "nav_account"],
];

let current = null;
let shownHash = null;
let gated = false; // the page shown is the login standing in for one that needs it

function parseHash() {
  const [name = "", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { name, id: rest.join("/") ? decodeURIComponent(rest.join("/")) : null };
}

export function go(path) {
  location.hash = `#/${path}`;
  route(); // now, not at the hashchange event: what follows may fill the page in
}

function route() {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor
  shownHash = location.hash;
  const { name, id } = parseHash();
  const page = PAGES[name] || home;
  current?.unmount?.();
  current = page;
  const main = document.getElementById("main");
  gated = NEEDS_LOGIN.has(name) && !session.get();
  replace(main, gated ? account.render({ next: name }) : page.render({ id, name }));
  if (gated) current = account;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === (PAGES[name] ? name : "")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${t("app_name")} · Fapiao Sentinel`;
}

function searchError(message) {
  const slot = document.getElementById("q-err");
  slot.textContent = message || "";
  document.getElementById("q").toggleAttribute("aria-invalid", Boolean(message));
}

function onCheckPage() {
  if (parseHash().name !== "check" || parseHash().id) go("check");
}

function chrome() {
  const input = h("input", { id: "q", type: "search", enterKeyHint: "search", autocomplete: "off",
    placeholder: t("search_placeholder"), "aria-describedby": "q-hint q-err" });
  const picker = h("input", { id: "q-file-input", type: "file", accept: ".pdf,.ofd,.xml", hidden: true,
    onchange: () => picker.files[0] && (onCheckPage(), check.fromFile(picker.files[0], searchError)) });
  const search = h("form", { id: "search", role: "search", class: "search",
    onsubmit: (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return input.focus();
      onCheckPage();
      check.fromSearch(value, searchError);
    } },
    h("label", { for: "q", class: "sr-only" }, t("search_label")),
    h("div", { class: "search-row" },
      icon("search"), input,
      h("button", { type: "button", class: "icon-button", id: "q-file", "aria-label": t("search_file"), title: t("search_file"),
        onclick: () => picker.click() }, icon("attach")),
      h("button", { type: "submit", class: "primary", id: "q-go" }, t("search_go"))),
    picker,
    h("p", { class: "hint", id: "q-hint" }, t("search_hint")),
    h("p", { class: "field-error", id: "q-err", role: "alert" }));
  search.addEventListener("dragover", (e) => {
    e.preventDefault();
    search.classList.add("dragging");
  });
  search.addEventListener("dragleave", () => search.classList.remove("dragging"));
  search.addEventListener("drop", (e) => {
    e.preventDefault();
    search.classList.remove("dragging");
    const doc = e.dataTransfer.files[0];
    if (doc) {
      onCheckPage();
      check.fromFile(doc, searchError);
    }
  });
  replace(document.getElementById("top"),
    h("a", { class: "brand", href: "#/" }, h("img", { src: "icon.svg", alt: "", width: 28, height: 28 }),
      h("span", {}, t("app_name"), h("small", {}, t("brand_sub")))),
    search,
    h("div", { class: "tools" },
      h("span", { class: "net", id: "net", role: "status" }),
      h("button", { type: "button", id: "lang", lang: lang() === "en" ? "zh-CN" : "en",
        onclick: () => {
          setLang(lang() === "en" ? "zh" : "en");
          chrome();
          route();
        } }, icon("globe"), t("lang_switch"))));
  replace(document.getElementById("nav"),
    h("ul", {}, NAV.map(([path, glyph, label]) =>
      h("li", {}, h("a", { href: `#/${path}`, "data-route": path }, icon(glyph), h("span", {}, t(label)))))));
  document.getElementById("nav").setAttribute("aria-label", t("nav"));
  const skip = document.getElementById("skip");
  skip.textContent = t("skip");
  skip.onclick = (e) => {
    e.preventDefault();
    document.getElementById("main").focus();
  };
  connection();
}

function connection() {
  const online = navigator.onLine;
  const banner = document.getElementById("offline-banner");
  banner.hidden = online;
  banner.textContent = online ? "" : t("offline");
  const net = document.getElementById("net");
  if (net) {
    net.className = `net ${online ? "on" : "off"}`;
    net.textContent = online ? t("online") : "";
    net.title = online ? t("online") : t("offline");
  }
}

setLang(lang());
chrome();
window.addEventListener("hashchange", () => {
  if (location.hash === shownHash) return;
  route();
  document.getElementById("main").focus({ preventScroll: true }); // screen readers start at the new page
  window.scrollTo(0, 0);
});
window.addEventListener("online", connection);
window.addEventListener("offline", connection);
window.addEventListener("auth-required", () => go("account"));
window.addEventListener("session-changed", () => {
  if (current === home || (gated && session.get())) route();
});
route();
queue.start();
notify.start();
if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
