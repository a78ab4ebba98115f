// API 密钥 (admins): create (the key is shown once), list, revoke.
import { api, session } from "../api.js";
import { field, h, replace, setError } from "../dom.js";
import { fmtTime, t } from "../i18n.js";

const SCOPES = ["submit", "read", "alerts"];
let ui = null;

export function render() {
  const root = h("section", { class: "page", "aria-labelledby": "page-title" }, h("h1", { id: "page-title" }, t("k_title")));
  if (!session.has("admin")) {
    root.append(h("p", { class: "card note" }, t("k_admins")));
    return root;
  }
  const name = field("k-name", t("k_name"), { maxLength: 100, autocomplete: "off", required: true });
  const scopes = h("fieldset", { class: "field" }, h("legend", {}, t("k_scopes")),
    SCOPES.map((s) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "scope", value: s, checked: s !== "alerts" }), t(`k_scope_${s}`))));
  const created = h("div", { id: "k-created", "aria-live": "polite" });
  const general = h("p", { class: "field-error", role: "alert" });
  const list = h("ul", { class: "records", id: "k-list" });
  const form = h("form", { class: "card", id: "key-create", novalidate: true }, h("p", {}, t("k_intro")), name.el, scopes, general,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("k_create"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...scopes.querySelectorAll("input:checked")].map((i) => i.value);
    setError(name, name.input.value.trim() ? "" : t("required"));
    if (!name.input.value.trim()) return;
    try {
      const key = await api("/v1/api-keys", { method: "POST", json: { name: name.input.value.trim(), scopes: chosen } });
      replace(created, h("div", { class: "card note" }, h("p", {}, t("k_created")), h("code", { class: "mono secret", id: "k-secret" }, key.key)));
      name.input.value = "";
      load();
    } catch (e) {
      general.textContent = e.message;
    }
  });
  ui = { list, general };
  load();
  root.append(form, created, list);
  return root;
}

export function unmount() {
  ui = null;
}

async function load() {
  const mine = ui;
  try {
    const keys = await api("/v1/api-keys");
    if (ui !== mine) return;
    replace(mine.list, keys.data.map((k) => h("li", { class: "record" },
      h("span", { class: "strong" }, k.name), h("span", { class: "mono" }, k.hint), h("span", {}, k.scopes.join(", ")),
      h("span", { class: "muted" }, `${t("k_last_used")}: ${k.last_used_at ? fmtTime(k.last_used_at) : t("k_never")}`),
      k.revoked_at ? h("span", { class: "badge tone-bad" }, t("k_revoked"))
        : h("button", { type: "button", onclick: () => revoke(k.id) }, t("k_revoke")))));
  } catch (e) {
    if (ui === mine) mine.general.textContent = e.message;
  }
}

async function revoke(id) {
  if (!window.confirm(t("k_confirm"))) return;
  try {
    await api(`/v1/api-keys/${encodeURIComponent(id)}`, { method: "DELETE" });
    load();
  } catch (e) {
    if (ui) ui.general.textContent = e.message;
  }
}
