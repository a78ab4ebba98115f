// 意见反馈: anyone signed in sends; the organisation's admins see what was sent.
import { api, session } from "../api.js";
import { field, h, replace, setError } from "../dom.js";
import { fmtTime, t } from "../i18n.js";

const CATEGORIES = ["suggestion", "problem", "question", "praise"];

export function render() {
  const category = field("fb-category", t("fb_category"), {
    tag: "select",
    options: CATEGORIES.map((c) => h("option", { value: c }, t(`fb_${c}`))),
  });
  const message = field("fb-message", t("fb_message"), { tag: "textarea", rows: 5, maxLength: 4000, required: true });
  const contact = field("fb-contact", t("fb_contact"), { maxLength: 200, autocomplete: "email" });
  const general = h("p", { class: "field-error", role: "alert" });
  const thanks = h("p", { class: "note", id: "fb-thanks", role: "status" });
  const list = h("ul", { class: "records", id: "fb-list" });
  const form = h("form", { class: "card", id: "feedback-form", novalidate: true }, h("p", {}, t("fb_intro")),
    category.el, message.el, contact.el, general, thanks,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("fb_send"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    thanks.textContent = "";
    setError(message, message.input.value.trim() ? "" : t("required"));
    if (!message.input.value.trim()) return;
    try {
      await api("/v1/feedback", { method: "POST", json: {
        category: category.input.value, message: message.input.value, contact: contact.input.value, page: "web",
      } });
      message.input.value = "";
      thanks.textContent = t("fb_thanks");
      if (session.has("admin")) load(list);
    } catch (e) {
      general.textContent = e.message;
    }
  });
  const admin = session.has("admin");
  if (admin) load(list);
  return h("section", { class: "page narrow", "aria-labelledby": "page-title" }, h("h1", { id: "page-title" }, t("fb_title")), form,
    admin ? h("section", { "aria-labelledby": "fb-list-title" }, h("h2", { id: "fb-list-title" }, t("fb_list")), list) : null);
}

async function load(list) {
  try {
    const got = await api("/v1/feedback?limit=50");
    replace(list, got.data.map((f) => h("li", { class: "record feedback" },
      h("span", { class: "badge" }, t(`fb_${f.category}`)), h("span", { class: "muted" }, fmtTime(f.created_at)),
      h("p", { class: "message" }, f.message), f.contact ? h("span", { class: "muted" }, f.contact) : null)));
  } catch (e) {
    replace(list, h("li", { class: "field-error" }, e.message));
  }
}
