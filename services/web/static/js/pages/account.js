// 我的账户: log in (password, then the authenticator code when 2FA is on), register, use an API key, set
// up 2FA with a scannable QR code, log out.
import { api, ApiError, session, signIn } from "../api.js";
import { field, h, replace, setError } from "../dom.js";
import { fmtTime, pick, t } from "../i18n.js";

let mode = "login";

export function render(params = {}) {
  if (params.name === "register") mode = "register";
  const root = h("section", { class: "page narrow", "aria-labelledby": "page-title" });
  const s = session.get();
  if (s) replace(root, h("h1", { id: "page-title" }, t("acc_title")), signedIn(s));
  else replace(root, h("h1", { id: "page-title" }, params.next ? t("acc_need_login") : t("acc_title")), signedOut(root, params));
  return root;
}

function rerender(root, params) {
  root.replaceWith(render(params));
}

function signedOut(root, params) {
  const modes = ["login", "register", "key"];
  const labels = { login: t("acc_login"), register: t("acc_register"), key: t("acc_with_key") };
  const tabs = h("div", { class: "segmented", role: "group" }, modes.map((m) =>
    h("button", { type: "button", "aria-pressed": String(m === mode), onclick: () => { mode = m; rerender(root, params); } },
      labels[m])));
  const done = () => params.next || rerender(root, {}); // behind a page that needed login: the app re-routes
  const form = mode === "register" ? registerForm(root, params) : mode === "key" ? keyForm(done) : loginForm(done);
  return [tabs, form];
}

function failure(fields, general, e) {
  const byField = e instanceof ApiError ? e.fields : {};
  let shown = false;
  for (const [name, message] of Object.entries(byField)) {
    if (fields[name]) {
      setError(fields[name], message);
      shown = true;
    }
  }
  const problems = e.detail && Array.isArray(e.detail.problems) ? e.detail.problems.map((p) => pick(p, "msg")) : [];
  if (problems.length && fields.password) {
    setError(fields.password, problems.join("; "));
    shown = true;
  }
  general.textContent = shown ? "" : e.message;
}

function loginForm(done) {
  const f = {
    email: field("acc-email", t("acc_email"), { type: "email", autocomplete: "username", required: true }),
    password: field("acc-password", t("acc_password"), { type: "password", autocomplete: "current-password", required: true }),
  };
  const general = h("p", { class: "field-error", id: "acc-err", role: "alert" });
  const form = h("form", { class: "card", id: "login-form", novalidate: true }, f.email.el, f.password.el, general,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("acc_login"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    Object.values(f).forEach((x) => setError(x, x.input.value ? "" : t("required")));
    if (!f.email.input.value || !f.password.input.value) return;
    try {
      const answer = await api("/v1/auth/login", {
        method: "POST",
        json: { email: f.email.input.value.trim(), password: f.password.input.value },
      });
      if (answer.mfa_required) form.replaceWith(totpForm(answer.mfa_token, done));
      else {
        await signIn("token", answer.access_token, answer.expires_at);
        done();
      }
    } catch (e) {
      failure(f, general, e);
    }
  });
  return form;
}

function totpForm(mfaToken, done) {
  const code = field("acc-totp", t("acc_totp"), { inputmode: "numeric", autocomplete: "one-time-code", maxLength: 6,
    pattern: "[0-9]{6}" }, t("acc_totp_hint"));
  const recovery = field("acc-recovery", t("acc_recovery"), { autocomplete: "off", maxLength: 40 });
  const general = h("p", { class: "field-error", id: "acc-totp-err-all", role: "alert" });
  const form = h("form", { class: "card", id: "totp-form", novalidate: true }, code.el, recovery.el, general,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("acc_verify"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const json = { mfa_token: mfaToken };
    if (code.input.value.trim()) json.code = code.input.value.trim();
    else if (recovery.input.value.trim()) json.recovery_code = recovery.input.value.trim();
    else return setError(code, t("required"));
    try {
      const answer = await api("/v1/auth/login/2fa", { method: "POST", json });
      await signIn("token", answer.access_token, answer.expires_at);
      done();
    } catch (e) {
      setError(code, e.message);
    }
  });
  setTimeout(() => code.input.focus(), 0);
  return form;
}

function keyForm(done) {
  const key = field("acc-key", t("acc_key"), { type: "password", autocomplete: "off", required: true });
  const general = h("p", { class: "field-error", role: "alert" });
  const form = h("form", { class: "card", id: "key-form", novalidate: true }, key.el, general,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("acc_login"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!key.input.value.trim()) return setError(key, t("required"));
    try {
      await signIn("key", key.input.value.trim());
      done();
    } catch (e) {
      setError(key, e.message);
    }
  });
  return form;
}

function registerForm(root, params) {
  const f = {
    org_name: field("reg-org", t("acc_org"), { autocomplete: "organization", required: true, maxLength: 200 }),
    display_name: field("reg-name", t("acc_name"), { autocomplete: "name", maxLength: 100 }),
    email: field("reg-email", t("acc_email"), { type: "email", autocomplete: "email", required: true }),
    password: field("reg-password", t("acc_password"), { type: "password", autocomplete: "new-password", required: true },
      t("acc_password_hint")),
  };
  const general = h("p", { class: "field-error", role: "alert" });
  const form = h("form", { class: "card", id: "register-form", novalidate: true }, Object.values(f).map((x) => x.el), general,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("acc_register"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let missing = false;
    for (const [name, x] of Object.entries(f)) {
      const empty = name !== "display_name" && !x.input.value.trim();
      setError(x, empty ? t("required") : "");
      missing ||= empty;
    }
    if (missing) return;
    const json = Object.fromEntries(Object.entries(f).map(([name, x]) => [name, name === "password" ? x.input.value : x.input.value.trim()]));
    try {
      await api("/v1/auth/register", { method: "POST", json });
      mode = "login";
      const next = render(params);
      root.replaceWith(next);
      next.querySelector("#acc-email").value = json.email;
      next.querySelector("#login-form").prepend(h("p", { class: "note", role: "status" }, t("acc_registered")));
    } catch (e) {
      failure(f, general, e);
    }
  });
  return form;
}

function signedIn(s) {
  const me = s.me || { roles: [], scopes: [] };
  const out = h("div", { class: "card", id: "who" },
    h("p", { class: "strong" }, t("acc_signed_in", { org: me.org_name || me.org_id })),
    h("p", {}, `${t("acc_roles")}: ${[...me.roles, ...(me.kind === "api_key" ? me.scopes : [])].join(", ")}`),
    s.kind === "key" ? h("p", { class: "muted" }, t("acc_kind_key", { id: me.subject })) : null,
    s.expires_at ? h("p", { class: "muted" }, t("acc_expires", { t: fmtTime(s.expires_at) })) : null,
    h("div", { class: "actions" },
      me.roles.includes("admin") ? h("a", { class: "button", href: "#/keys" }, t("sc_keys")) : null,
      h("a", { class: "button", href: "#/feedback" }, t("sc_feedback")),
      h("button", { type: "button", id: "logout", onclick: logout }, t("acc_logout"))));
  return [out, me.kind === "user" ? twoFactor() : null];
}

async function logout() {
  const s = session.get();
  if (s && s.kind === "token") await api("/v1/auth/logout", { method: "POST" }).catch(() => {});
  session.clear();
  location.hash = "#/account";
  document.getElementById("main").replaceChildren(render());
}

function twoFactor() {
  const box = h("section", { class: "card", id: "twofa", "aria-labelledby": "twofa-title" },
    h("h2", { id: "twofa-title" }, t("acc_2fa")));
  const general = h("p", { class: "field-error", role: "alert" });
  const start = h("button", { type: "button", id: "twofa-start", onclick: async () => {
    try {
      const setup = await api("/v1/auth/2fa/setup", { method: "POST" });
      start.remove();
      box.append(enrol(setup, box));
    } catch (e) {
      general.textContent = e.message;
    }
  } }, t("acc_2fa_start"));
  box.append(h("p", {}, t("acc_2fa_intro")), start, general);
  return box;
}

function enrol(setup, box) {
  const secret = new URL(setup.otpauth_uri).searchParams.get("secret") || "";
  const code = field("twofa-code", t("acc_totp"), { inputmode: "numeric", autocomplete: "one-time-code", maxLength: 6 });
  const form = h("form", { id: "twofa-form", novalidate: true },
    h("img", { class: "qr", id: "twofa-qr", src: `data:image/png;base64,${setup.qr_png_base64}`, alt: t("acc_qr_alt"),
      width: 200, height: 200 }),
    h("p", {}, t("acc_2fa_secret"), " ", h("code", { id: "twofa-secret", class: "mono" }, secret)),
    code.el,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("acc_2fa_enable"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!code.input.value.trim()) return setError(code, t("required"));
    try {
      const answer = await api("/v1/auth/2fa/enable", { method: "POST", json: { code: code.input.value.trim() } });
      form.replaceWith(h("div", { id: "twofa-done" }, h("p", { class: "strong" }, t("acc_2fa_on")),
        h("ol", { class: "mono codes" }, answer.recovery_codes.map((c) => h("li", {}, c)))));
    } catch (e) {
      setError(code, e.message);
    }
  });
  return form;
}
