// Tiny DOM helpers. User text only ever reaches the page as text nodes (never innerHTML).

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Create an element. `props`: attributes, plus `class`, `dataset`, `on` (event map),
 * `text` (textContent) and a few properties (`hidden`, `disabled`, `value`, `checked`).
 * Children: nodes or strings (strings become text nodes); null/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "hidden" || key === "disabled" || key === "value" || key === "checked") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Set textContent only when it changed (keeps screen readers and selections calm). */
export function setText(el, text) {
  const value = text == null ? "" : String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** Toggle an attribute: present (with value) when `on`, absent otherwise. */
export function setAttr(el, name, on, value = "") {
  if (on) {
    if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
  } else if (el.hasAttribute(name)) {
    el.removeAttribute(name);
  }
}

// ---- icons: 24×24 stroke icons, drawn for Podium -----------------------------------------------

const ICONS = {
  users: ["M16 20v-1.5a3.5 3.5 0 0 0-3.5-3.5h-5A3.5 3.5 0 0 0 4 18.5V20", "M10 11.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7", "M20 20v-1.5a3.5 3.5 0 0 0-2.5-3.35", "M15.5 4.65a3.5 3.5 0 0 1 0 6.7"],
  chat: ["M20 12.5a7.5 7.5 0 0 1-11.2 6.5L4 20l1.1-4.3A7.5 7.5 0 1 1 20 12.5z"],
  stage: ["M3.5 5.5h17v11h-17z", "M8 20h8", "M12 16.5V20"],
  leave: ["M14 4h4.5A1.5 1.5 0 0 1 20 5.5v13a1.5 1.5 0 0 1-1.5 1.5H14", "M9.5 16.5 5 12l4.5-4.5", "M5 12h10"],
  more: ["M5 12h.01", "M12 12h.01", "M19 12h.01"],
  send: ["M4.5 12 20 4.5 14.5 20l-3-6.5z", "M11.5 13.5 20 4.5"],
  close: ["M6 6l12 12", "M18 6 6 18"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
  micOff: ["M3.5 3.5l17 17", "M9 9v2.5a3 3 0 0 0 5.1 2.1", "M15 10.5V6a3 3 0 0 0-5.7-1.3", "M18.5 11.5a6.5 6.5 0 0 1-1.1 3.6", "M5.5 11.5a6.5 6.5 0 0 0 10.4 5.2", "M12 18v2.5"],
  videoOff: ["M3.5 3.5l17 17", "M15 15.5V16a1.5 1.5 0 0 1-1.5 1.5H5A1.5 1.5 0 0 1 3.5 16V8A1.5 1.5 0 0 1 5 6.5h1.5", "M10.5 6.5h3A1.5 1.5 0 0 1 15 8v3l5.5-3.5v9"],
  mic: ["M9 11.5V6a3 3 0 0 1 6 0v5.5a3 3 0 0 1-6 0", "M5.5 11.5a6.5 6.5 0 0 0 13 0", "M12 18v2.5"],
  video: ["M15 8A1.5 1.5 0 0 0 13.5 6.5H5A1.5 1.5 0 0 0 3.5 8v8A1.5 1.5 0 0 0 5 17.5h8.5A1.5 1.5 0 0 0 15 16v-2.5l5.5 3.5v-10L15 10.5z"],
  screen: ["M3.5 5h17v11h-17z", "M8.5 20h7", "M12 16v4", "M12 13V8", "M9.5 10.5 12 8l2.5 2.5"],
  settings: ["M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6", "M19 12a7 7 0 0 0-.1-1.2l2-1.6-2-3.4-2.4.9a7 7 0 0 0-2-1.2L14 3h-4l-.5 2.5a7 7 0 0 0-2 1.2l-2.4-.9-2 3.4 2 1.6a7 7 0 0 0 0 2.4l-2 1.6 2 3.4 2.4-.9a7 7 0 0 0 2 1.2L10 21h4l.5-2.5a7 7 0 0 0 2-1.2l2.4.9 2-3.4-2-1.6c.07-.4.1-.8.1-1.2"],
  speaker: ["M4 9.5h3.5L12 5.5v13l-4.5-4H4z", "M16 9a4 4 0 0 1 0 6", "M18.5 6.5a7.5 7.5 0 0 1 0 11"],
  lock: ["M6.5 11h11v9h-11z", "M8.5 11V8a3.5 3.5 0 0 1 7 0v3"],
  shield: ["M12 3.5 19 6v5.5c0 4.2-3 7.5-7 9-4-1.5-7-4.8-7-9V6z"],
  userMinus: ["M15 20v-1.5a3.5 3.5 0 0 0-3.5-3.5h-5A3.5 3.5 0 0 0 3 18.5V20", "M9 11.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7", "M16 10.5h5"],
  star: ["M12 4l2.4 4.9 5.4.8-3.9 3.8.9 5.4L12 16.4l-4.8 2.5.9-5.4-3.9-3.8 5.4-.8z"],
  reply: ["M9.5 15.5 4 10l5.5-5.5", "M4 10h10a6 6 0 0 1 6 6v3"],
  wifiOff: ["M3.5 3.5l17 17", "M8.5 16.5a5 5 0 0 1 5.6-.9", "M5 12.5a10 10 0 0 1 4.2-2.4", "M19 12.5a10 10 0 0 0-2.7-1.9", "M2 8.8A15 15 0 0 1 6 6.4", "M22 8.8a15 15 0 0 0-11.6-3.6", "M12 20h.01"],
  door: ["M5 20.5h14", "M7 20.5v-16h10v16", "M13.5 12.5h.01"],
  hourglass: ["M7 3.5h10", "M7 20.5h10", "M8 3.5c0 4.5 8 4.5 8 8.5s-8 4-8 8.5", "M16 3.5c0 4.5-8 4.5-8 8.5s8 4 8 8.5"],
  alert: ["M12 8.5v4.5", "M12 16.5h.01", "M10.3 4.3 2.8 17.5A2 2 0 0 0 4.5 20.5h15a2 2 0 0 0 1.7-3L13.7 4.3a2 2 0 0 0-3.4 0z"],
  info: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18", "M12 11v5.5", "M12 7.5h.01"],
  search: ["M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14", "M20 20l-4-4"],
  hand: ["M8 13V5.5a1.5 1.5 0 0 1 3 0V12", "M11 11V4a1.5 1.5 0 0 1 3 0v7", "M14 11V5.5a1.5 1.5 0 0 1 3 0V13", "M17 9.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-2.7l-2.7-3.7a1.5 1.5 0 0 1 2.4-1.8L8 14.5"],
  tabs: ["M4 6.5h16", "M4 12h16", "M4 17.5h10"],
};

/** An inline SVG icon (decorative: hidden from assistive technology). */
export function icon(name, { size = 20, label } = {}) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.8");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("class", `icon icon-${name}`);
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
  }
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

// ---- people ----------------------------------------------------------------------------------------

/** Up to two initials from a display name ("Hannah Host" → "HH", "guest-1" → "G1"). */
export function initials(name) {
  const words = String(name || "?").trim().split(/[\s._-]+/u).filter(Boolean);
  if (words.length === 0) return "?";
  const first = Array.from(words[0])[0] || "?";
  const last = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
  return (first + last).toUpperCase();
}

// Avatar backgrounds, each ≥ 4.5:1 against white text.
const AVATAR_COLORS = ["#4a5bc4", "#2a7267", "#9a4386", "#a24c1b", "#356aad", "#6f52b8", "#2b733a", "#9c3549"];

/** A stable avatar colour for a person (by identity, so it survives reconnects). */
export function avatarColor(key) {
  let hash = 0;
  for (const ch of String(key || "")) hash = (hash * 31 + ch.codePointAt(0)) | 0;
  return AVATAR_COLORS[Math.abs(hash) % AVATAR_COLORS.length];
}

/** An initials avatar. */
export function avatar(person, size = "md") {
  const el = h("span", { class: `avatar avatar-${size}`, "aria-hidden": "true" }, initials(person.name));
  el.style.backgroundColor = avatarColor(person.identity || person.id);
  return el;
}

export const ROLE_LABEL = { host: "Host", moderator: "Moderator", attendee: "Attendee" };

/** A role badge, or null for attendees (the default needs no label). */
export function roleBadge(role) {
  if (role !== "host" && role !== "moderator") return null;
  return h("span", { class: `badge badge-${role}`, "data-testid": "role-badge", dataset: { role } }, ROLE_LABEL[role]);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

/** "14:05" (in the viewer's locale) for an ISO timestamp. */
export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : timeFormat.format(date);
}
