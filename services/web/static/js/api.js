// Talking to /v1: the credentials, errors in the user's language, files, and the alert stream.
//
// Credentials live in sessionStorage (gone when the tab closes): a 15-minute session token from the login,
// sent as `Authorization: Bearer`, or an API key sent as `X-API-Key`. They are never put in a URL or a
// cookie, so the API needs no CSRF defence, and the alert stream is read with fetch() (which can send the
// header) rather than EventSource (which can't).
import { lang, pick, t } from "./i18n.js";

const SESSION_KEY = "fapiao.session";

export const session = {
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      if (s && s.expires_at && Date.parse(s.expires_at) < Date.now()) {
        this.clear();
        return null;
      }
      return s;
    } catch {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
    window.dispatchEvent(new Event("session-changed"));
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
    window.dispatchEvent(new Event("session-changed"));
  },
  has(role) {
    const s = this.get();
    return Boolean(s && s.me && (s.me.roles.includes(role) || s.me.scopes.includes(role)));
  },
};

export class ApiError extends Error {
  constructor(status, detail, message) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.offline = status === 0;
  }

  // {field: message} from a 422: pydantic's loc, or the request rules' loc with msg_zh.
  get fields() {
    const out = {};
    if (Array.isArray(this.detail)) {
      for (const item of this.detail) {
        const name = Array.isArray(item.loc) ? item.loc[item.loc.length - 1] : "";
        if (!name || out[name]) continue;
        out[name] = item.msg_zh ? pick(item, "msg") : lang() === "en" ? item.msg : t("invalid_value");
      }
    }
    return out;
  }
}

function authHeaders() {
  const s = session.get();
  if (!s) return {};
  return s.kind === "key" ? { "X-API-Key": s.secret } : { Authorization: `Bearer ${s.secret}` };
}

function describe(status, detail) {
  if (detail && typeof detail === "object" && !Array.isArray(detail) && (detail.msg || detail.msg_zh)) {
    return pick(detail, "msg");
  }
  if (Array.isArray(detail) && detail.length) {
    return detail.map((d) => (d.msg_zh ? pick(d, "msg") : d.msg)).join("; ");
  }
  return `HTTP ${status}`;
}

export async function send(path, { method = "GET", json, body, headers = {} } = {}) {
  const init = { method, headers: { ...authHeaders(), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null, t("network_error"));
  }
  if (!response.ok) {
    let detail = null;
    try {
      detail = (await response.json()).detail;
    } catch {
      /* not JSON */
    }
    if (response.status === 401 && session.get()) {
      session.clear();
      window.dispatchEvent(new Event("auth-required"));
    }
    throw new ApiError(response.status, detail, describe(response.status, detail));
  }
  return response;
}

export async function api(path, options) {
  const response = await send(path, options);
  return response.status === 204 ? null : response.json();
}

// A file the API sends as an attachment (results, exports, receipts): the Blob and its name.
export async function file(path) {
  const response = await send(path);
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] || path.split("/").pop();
  return { blob: await response.blob(), name };
}

// Server-sent events over fetch (so the credentials travel in a header): calls onEvent({event, data,
// id}) for each event until `signal` aborts or the server ends the stream.
export async function stream(path, signal, onEvent, onOpen) {
  const response = await send(path, { headers: { Accept: "text/event-stream" } });
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const abort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", abort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message = { event: "message", data: "", id: null };
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const [name, ...rest] = line.split(":");
          const text = rest.join(":").replace(/^ /, "");
          if (name === "data") message.data += (message.data ? "\n" : "") + text;
          else if (name === "event") message.event = text;
          else if (name === "id") message.id = text;
        }
        if (message.data) onEvent(message);
      }
    }
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

// Sign in with a session token or an API key: learn who it is first (roles decide what the app shows),
// then keep it.
export async function signIn(kind, secret, expiresAt = null) {
  const headers = kind === "key" ? { "X-API-Key": secret } : { Authorization: `Bearer ${secret}` };
  const me = await api("/v1/auth/me", { headers });
  session.set({ kind, secret, expires_at: expiresAt, me });
  return me;
}
