// The tenant dashboard: sign in with an API secret (kept in this tab's session storage only),
// then manage rooms, recordings, plugins, webhooks, API keys and embed origins.

import { h, replaceChildren } from "../dom.js";
import { Api } from "./api.js";
import { mountRooms } from "./rooms.js";
import { mountKeys, mountOrigins, mountPlugins, mountRecordings } from "./tenant.js";
import { mountWebhooks } from "./webhooks.js";

const KEY = "podium.dashboard.secret";
const SECTIONS = [
  ["rooms", "Rooms", mountRooms],
  ["recordings", "Recordings", mountRecordings],
  ["plugins", "Plugins", mountPlugins],
  ["webhooks", "Webhooks", mountWebhooks],
  ["keys", "API keys", mountKeys],
  ["origins", "Embed origins", mountOrigins],
];

function signIn(root, onDone, error) {
  const secret = h("input", { type: "password", autocomplete: "off", required: true, placeholder: "sk_…", "data-testid": "api-secret" });
  const form = h("form", { class: "card signin", "data-testid": "signin" },
    h("h1", {}, "Podium dashboard"),
    h("p", { class: "muted" }, "Sign in with one of your tenant's API secrets. It stays in this browser tab."),
    h("label", { class: "field wide" }, "API secret", secret),
    error ? h("p", { class: "notice", dataset: { kind: "error" }, role: "alert" }, error) : null,
    h("button", { type: "submit", class: "btn btn-primary", "data-testid": "signin-button" }, "Sign in"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    onDone(secret.value.trim());
  });
  replaceChildren(root, form);
  secret.focus();
}

async function open(root, secret) {
  const api = new Api(secret);
  let tenant;
  try {
    tenant = await api.get("/tenant");
  } catch (err) {
    sessionStorage.removeItem(KEY);
    signIn(root, (s) => open(root, s), err.status === 401 ? "That secret is not a live API key." : err.message);
    return;
  }
  sessionStorage.setItem(KEY, secret);
  const main = h("main", { class: "dash-main", "data-testid": "dashboard-main" });
  const buttons = SECTIONS.map(([id, label]) => h("button", { type: "button", class: "nav-item", dataset: { section: id }, "data-testid": `nav-${id}` }, label));
  const show = (id) => {
    for (const b of buttons) b.setAttribute("aria-current", String(b.dataset.section === id));
    const [, , mount] = SECTIONS.find(([sid]) => sid === id) || SECTIONS[0];
    mount(main, api);
    history.replaceState(null, "", `#${id}`);
  };
  buttons.forEach((b) => b.addEventListener("click", () => show(b.dataset.section)));
  replaceChildren(root,
    h("header", { class: "dash-top" },
      h("span", { class: "brand-mark" }, "P"), h("strong", {}, "Podium"), h("span", { class: "muted", "data-testid": "tenant-name" }, tenant.name),
      h("a", { class: "btn btn-quiet", href: "/embed/playground", target: "_blank", rel: "noopener" }, "Embed playground"),
      h("button", { type: "button", class: "btn btn-quiet", on: { click: () => { sessionStorage.removeItem(KEY); signIn(root, (s) => open(root, s)); } } }, "Sign out")),
    h("nav", { class: "dash-nav", "aria-label": "Sections" }, buttons),
    main);
  show(location.hash.slice(1) || "rooms");
}

const root = document.getElementById("dashboard");
const saved = sessionStorage.getItem(KEY);
if (saved) open(root, saved);
else signIn(root, (s) => open(root, s));
