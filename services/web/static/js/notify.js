// Checks accepted (202) but not answered yet — e.g. while processing is down for maintenance — are
// remembered in this tab (sessionStorage) and asked after, more slowly over time, on every page; when the
// answer arrives the user is told: an in-app notice with a link to the verdict, and a system notification
// when the browser allows them. (Webhooks and mail tell systems and people who are not looking.)
import { api, session } from "./api.js";
import { h } from "./dom.js";
import { pick, t } from "./i18n.js";

const KEY = "fapiao.awaiting";
let timer = null;

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "[]");
  } catch {
    return [];
  }
}

function save(list) {
  sessionStorage.setItem(KEY, JSON.stringify(list));
}

export function awaiting() {
  return load();
}

export function watchFor(checkId) {
  const list = load().filter((c) => c.id !== checkId);
  save([...list, { id: checkId, since: Date.now(), delay: 2000 }]);
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  schedule(500);
}

export function forget(checkId) {
  save(load().filter((c) => c.id !== checkId));
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(poll, ms);
}

function tell(view) {
  const title = t("nt_arrived");
  const text = `${pick(view, "verdict")} · ${[view.invoice_code, view.invoice_number].filter(Boolean).join(" ")}`;
  document.getElementById("toast")?.remove();
  const toast = h("div", { class: "toast", id: "toast", role: "status", "data-check": view.check_id },
    h("strong", {}, title), h("p", {}, text),
    h("a", { href: `#/check/${view.check_id}`, onclick: () => toast.remove() }, t("nt_open")),
    h("button", { type: "button", onclick: () => toast.remove() }, t("nt_close")));
  document.body.append(toast);
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    try {
      new Notification(title, { body: text, tag: view.check_id });
    } catch {
      /* not allowed here */
    }
  }
  window.dispatchEvent(new CustomEvent("check-answered", { detail: view }));
}

async function poll() {
  const list = load();
  if (!list.length || !session.get()) return;
  let next = 30000;
  for (const item of list) {
    if (Date.now() < item.since + item.delay) {
      next = Math.min(next, item.since + item.delay - Date.now());
      continue;
    }
    try {
      const view = await api(`/v1/checks/${encodeURIComponent(item.id)}`);
      if (view.verdict && view.status !== "pending") {
        forget(item.id);
        tell(view);
        continue;
      }
    } catch (e) {
      if (e.status === 404 || e.status === 401) {
        forget(item.id);
        continue;
      }
    }
    item.since = Date.now();
    item.delay = Math.min(item.delay * 1.5, 15000);
    next = Math.min(next, item.delay);
    save(load().map((c) => (c.id === item.id ? item : c)));
  }
  if (load().length) schedule(Math.max(500, next));
}

export function start() {
  if (load().length) schedule(500);
  window.addEventListener("session-changed", () => schedule(500));
}
