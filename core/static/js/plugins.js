// Plugins in the browser: each plugin the room's tenant enabled arrives in `welcome.plugins`
// with its ES module and CSS. The module's default export, `setup(api)`, fills named UI slots
// (toolbar, side_panel, stage_overlay, stage_content), sends its commands through `api.send`
// and hears its events through `api.on`. A plugin that throws is unmounted; the room goes on.

import { h } from "./dom.js";
import { isStaff } from "./store.js";

const SLOTS = ["toolbar", "side_panel", "stage_overlay", "stage_content"];

export function mountPlugins(els, ctx) {
  const { store, connection, toasts } = ctx;
  /** name → {info, state, listeners, slots, cleanup, api, failed} */
  const loaded = new Map();
  const styles = new Set();
  const toolbar = h("div", { class: "plugin-toolbar", "data-testid": "plugin-toolbar", role: "group", "aria-label": "Activities" });
  els.controls.append(toolbar);
  let openPanel = null;

  function showPanel(name) {
    openPanel = name;
    els.panel.hidden = name === null;
    for (const [n, entry] of loaded) {
      const section = entry.slots.get("side_panel");
      if (section) section.hidden = n !== name;
      const button = entry.panelButton;
      if (button) button.setAttribute("aria-pressed", String(n === name));
    }
  }

  function refreshStage() {
    const active = [...loaded.values()].some((e) => e.stageActive);
    els.stage.hidden = !active;
    els.column.classList.toggle("has-plugin-stage", active);
    for (const e of loaded.values()) {
      const slot = e.slots.get("stage_content");
      if (slot) slot.hidden = !e.stageActive;
    }
  }

  function slotFor(entry, name) {
    if (!SLOTS.includes(name)) throw new Error(`no UI slot named ${name}`);
    let el = entry.slots.get(name);
    if (el) return el;
    const testid = `plugin-${entry.info.name}-${name.replace("_", "-")}`;
    if (name === "toolbar") {
      el = h("span", { class: "plugin-slot-toolbar", "data-testid": testid });
      toolbar.append(el);
    } else if (name === "side_panel") {
      const title = entry.info.client?.title || entry.info.name;
      const body = h("div", { class: "plugin-panel-body" });
      el = h("section", { class: "plugin-panel-section", "data-testid": testid, "aria-label": title, hidden: true },
        h("header", { class: "plugin-panel-head" },
          h("h2", { class: "plugin-panel-title" }, title),
          h("button", { type: "button", class: "btn btn-ghost plugin-panel-close", "aria-label": `Close ${title}`, on: { click: () => showPanel(null) } }, "×")),
        body);
      el.body = body;
      els.panel.append(el);
    } else if (name === "stage_overlay") {
      el = h("div", { class: "plugin-slot-overlay", "data-testid": testid });
      els.overlay.append(el);
    } else {
      el = h("div", { class: "plugin-slot-stage", "data-testid": testid, hidden: true });
      els.stage.append(el);
    }
    entry.slots.set(name, el);
    return name === "side_panel" ? el.body : el;
  }

  function makeApi(entry) {
    const name = entry.info.name;
    return {
      name,
      get title() { return entry.info.client?.title || name; },
      /** The plugin's part of the latest `welcome` (updated on every reconnect). */
      get state() { return entry.state; },
      store,
      h,
      you: () => store.getState().you,
      isStaff: () => isStaff(store.getState().you?.role),
      /** Whether your role may send `action`. */
      can: (action) => (entry.info.actions?.[action] || []).includes(store.getState().you?.role),
      /** Send a command; resolves with the `ack`, rejects with the `error` ({code, message}). */
      send: (action, data = {}) => connection.request("plugin", { plugin: name, action, data }),
      /** How the room's media flows now: "p2p" (a mesh of cameras) or "mcu" (one composite video). */
      mediaMode: () => store.getState().mediaMode,
      /** Listen to the plugin's events, and to "welcome" (state), "role" (your role changed) and
       * "media" (the room's media mode changed). */
      on(event, fn) {
        if (!entry.listeners.has(event)) entry.listeners.set(event, new Set());
        entry.listeners.get(event).add(fn);
        return () => entry.listeners.get(event).delete(fn);
      },
      slot: (slotName) => slotFor(entry, slotName),
      /** Headers that authenticate this participant to the plugin's REST routes (its join token). */
      authHeaders() {
        const token = new URL(connection.url, window.location.href).searchParams.get("token") || "";
        return { Authorization: `Bearer ${token}` };
      },
      /** A button in the control bar; `panel: true` makes it open and close the plugin's side panel. */
      button({ label, icon = "", panel = false, onClick, testid }) {
        const btn = h("button", {
          type: "button",
          class: "ctrl-btn plugin-btn",
          "data-testid": testid || `plugin-${name}-button`,
          "aria-label": label,
          title: label,
          "aria-pressed": panel ? "false" : null,
          on: { click: () => (panel ? showPanel(openPanel === name ? null : name) : onClick?.()) },
        }, icon ? h("span", { class: "plugin-btn-icon", "aria-hidden": "true" }, icon) : null, h("span", { class: "ctrl-label" }, label));
        if (panel) entry.panelButton = btn;
        slotFor(entry, "toolbar").append(btn);
        return btn;
      },
      openPanel: () => showPanel(name),
      closePanel: () => { if (openPanel === name) showPanel(null); },
      /** Put the plugin's stage content on the stage (true) or give the stage back (false). */
      showStage(active) {
        entry.stageActive = Boolean(active);
        refreshStage();
      },
      toast: (text, kind = "info") => toasts.show({ kind, text, testid: `toast-plugin-${name}` }),
    };
  }

  function emit(entry, event, data) {
    for (const fn of entry.listeners.get(event) || []) {
      try {
        fn(data);
      } catch (err) {
        console.error(`podium: plugin ${entry.info.name} failed on ${event}`, err);
      }
    }
  }

  async function load(info) {
    const entry = { info, state: info.state, listeners: new Map(), slots: new Map(), cleanup: null, stageActive: false, panelButton: null };
    loaded.set(info.name, entry);
    if (!info.client) return;
    for (const href of info.client.css || []) {
      if (styles.has(href)) continue;
      styles.add(href);
      document.head.append(h("link", { rel: "stylesheet", href, "data-plugin": info.name }));
    }
    entry.api = makeApi(entry);
    try {
      const module = await import(info.client.module);
      if (loaded.get(info.name) !== entry) return;
      const cleanup = await module.default(entry.api);
      entry.cleanup = typeof cleanup === "function" ? cleanup : null;
      document.documentElement.dataset.pluginsLoaded = [...loaded.keys()].join(" ");
    } catch (err) {
      console.error(`podium: plugin ${info.name} could not start`, err);
      unmount(info.name);
    }
  }

  function unmount(name) {
    const entry = loaded.get(name);
    if (!entry) return;
    loaded.delete(name);
    try {
      entry.cleanup?.();
    } catch (err) {
      console.error(`podium: plugin ${name} failed to clean up`, err);
    }
    for (const el of entry.slots.values()) el.remove();
    if (openPanel === name) showPanel(null);
    refreshStage();
  }

  return function render(state, action) {
    switch (action.type) {
      // welcome: the room's plugins on joining; plugins.changed: the tenant switched some on or off.
      case "welcome":
      case "plugins.changed": {
        const names = new Set((action.plugins || []).map((p) => p.name));
        for (const name of [...loaded.keys()]) if (!names.has(name)) unmount(name);
        for (const info of action.plugins || []) {
          const entry = loaded.get(info.name);
          if (!entry) load(info);
          else {
            entry.info = info;
            entry.state = info.state;
            emit(entry, "welcome", info.state);
          }
        }
        break;
      }
      case "plugin.event": {
        const entry = loaded.get(action.plugin);
        if (entry) emit(entry, action.event, action.data);
        break;
      }
      case "plugin.disabled":
        unmount(action.plugin);
        if (isStaff(state.you?.role)) {
          toasts.show({ kind: "error", text: `The ${action.plugin} plugin was switched off: ${action.reason}`, testid: "toast-plugin-disabled" });
        }
        break;
      case "participant.role_changed":
        if (state.you?.id === action.participant_id) for (const entry of loaded.values()) emit(entry, "role", action.role);
        break;
      case "media.mode":
        for (const entry of loaded.values()) emit(entry, "media", action.mode);
        break;
      default:
        if (state.terminal && els.panel.hidden === false) showPanel(null);
    }
  };
}

