// Checks entered offline wait on this device (localStorage) and are sent when the connection returns.
// Each carries its own idempotency key, so a send whose answer was lost is the same check when retried.
import { api, ApiError, session } from "./api.js";
import { uuid } from "./dom.js";

const KEY = "fapiao.queue";
const OPEN = new Set(["queued", "sending", "checking", "needs_login"]);
let flushing = null;

export function items() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "[]");
  } catch {
    return [];
  }
}

function save(list) {
  localStorage.setItem(KEY, JSON.stringify(list));
  window.dispatchEvent(new Event("queue-changed"));
}

function update(id, changes) {
  save(items().map((item) => (item.id === id ? { ...item, ...changes } : item)));
}

export function enqueue(body) {
  const item = { id: uuid(), body, state: "queued", created_at: new Date().toISOString() };
  save([...items(), item]);
  return item;
}

export function remove(id) {
  save(items().filter((item) => item.id !== id));
}

export const pending = () => items().filter((item) => OPEN.has(item.state));

async function sendOne(item) {
  update(item.id, { state: "sending" });
  try {
    const answer = await api("/v1/checks?wait=3", {
      method: "POST",
      json: item.body,
      headers: { "Idempotency-Key": item.id },
    });
    settle(item.id, answer);
  } catch (e) {
    if (!(e instanceof ApiError) || e.offline) update(item.id, { state: "queued" });
    else if (e.status === 401 || e.status === 403) update(item.id, { state: "needs_login" });
    else if (e.status === 429 || e.status >= 500) update(item.id, { state: "queued" });
    else update(item.id, { state: "failed", error: e.message });
  }
}

function settle(id, view) {
  const final = view.status === "done";
  update(id, { state: final ? "done" : "checking", check_id: view.check_id, result: final ? view : null });
}

async function follow(item) {
  try {
    settle(item.id, await api(`/v1/checks/${item.check_id}`));
  } catch (e) {
    if (e.status === 401) update(item.id, { state: "needs_login" });
  }
}

// Send what waits, then follow what was sent; one run at a time.
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    if (!navigator.onLine || !session.get()) return;
    for (const item of pending()) {
      if (item.state === "checking" && item.check_id) await follow(item);
      else await sendOne(item);
    }
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

export function start() {
  window.addEventListener("online", () => flush());
  window.addEventListener("session-changed", () => session.get() && flush());
  setInterval(() => pending().length && flush(), 3000);
  flush();
}
