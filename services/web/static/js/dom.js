// Building the page without innerHTML: every value from the server or the user becomes a text node.
const SVG_NS = "http://www.w3.org/2000/svg";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name in el && !name.includes("-") && name !== "list" && name !== "form") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Simple line icons (24×24, stroke = currentColor), drawn for this app.
const ICONS = {
  search: "M10.5 18a7.5 7.5 0 1 1 0-15 7.5 7.5 0 0 1 0 15zM16 16l5 5",
  home: "M3 11 12 3l9 8M5 10v10h5v-6h4v6h5V10",
  check: "M6 3h9l4 4v14H6zM14 3v5h5M9 14l2 2 4-4",
  batch: "M4 7h11v13H4zM8 4h12v13M7 12h5M7 16h5",
  history: "M12 21a9 9 0 1 0-9-9M3 12H1m2 0 2.5-2.5M12 7v5l3 3",
  chart: "M4 20V10M10 20V4M16 20v-7M22 20H2",
  bell: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0",
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0",
  key: "M14 10a4 4 0 1 0-3 3.9V14h2v2h2v2h3v-3l-3.9-3.9A4 4 0 0 0 14 10zM8 9h.01",
  feedback: "M4 4h16v12H9l-5 4zM8 9h8M8 12h5",
  attach: "M20 11l-8.5 8.5a5 5 0 0 1-7-7L13 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L14 7",
  ok: "M5 12l5 5 9-10",
  bad: "M6 6l12 12M18 6 6 18",
  warn: "M12 3 2 21h20zM12 10v5M12 18h.01",
  clock: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2",
  globe: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  refresh: "M20 12a8 8 0 1 1-2.3-5.6M20 4v5h-5",
};

export function icon(name, label) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name] || "");
  svg.append(path);
  return svg;
}

// A labelled input with its error slot right below it (errors next to the field, announced).
export function field(id, label, attrs = {}, hint = "") {
  const input = attrs.tag === "select" || attrs.tag === "textarea"
    ? h(attrs.tag, { id, name: id, ...attrs, tag: null, options: null }, attrs.options || [])
    : h("input", { id, name: id, ...attrs });
  const error = h("p", { class: "field-error", id: `${id}-err`, "aria-live": "polite" });
  const describedBy = [hint ? `${id}-hint` : "", `${id}-err`].filter(Boolean).join(" ");
  input.setAttribute("aria-describedby", describedBy);
  const labelEl = h("label", { for: id, id: `${id}-label` }, label);
  return {
    input,
    label: labelEl,
    error,
    el: h("div", { class: "field", id: `${id}-field` }, labelEl, input,
      hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null, error),
  };
}

export function setError(fieldObj, message) {
  fieldObj.error.textContent = message || "";
  if (message) fieldObj.input.setAttribute("aria-invalid", "true");
  else fieldObj.input.removeAttribute("aria-invalid");
}

export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
