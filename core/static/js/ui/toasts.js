// Transient notifications: errors from the server, mute requests, lobby knocks, role changes.

import { h, icon } from "../dom.js";

const MAX_VISIBLE = 4;
const ICON_FOR = { error: "alert", info: "info", mute: "micOff", lobby: "hourglass", role: "shield" };

export class Toasts {
  constructor(container) {
    this.container = container;
  }

  /**
   * Show a toast. `kind`: error | info | mute | lobby | role.
   * `actions`: [{label, run, testid}]; `duration` in ms (0 keeps it until dismissed).
   */
  show({ kind = "info", text, actions = [], duration = 6000, testid }) {
    // The same message again (a burst of rate_limited, say) refreshes the one on screen.
    const same = [...this.container.children].find((t) => !t.classList.contains("toast-leaving") && t.dataset.kind === kind && t.dataset.text === text);
    if (same) {
      same.restart?.();
      same.classList.remove("toast-bump");
      void same.offsetWidth;
      same.classList.add("toast-bump");
      return same;
    }
    const toast = h("div", {
      class: `toast toast-${kind}`,
      role: kind === "error" ? "alert" : "status",
      "data-testid": testid || `toast-${kind}`,
      dataset: { kind, text },
    });
    const dismiss = () => this.remove(toast);
    toast.append(
      h("span", { class: "toast-icon" }, icon(ICON_FOR[kind] || "info", { size: 18 })),
      h("p", { class: "toast-text" }, text),
      ...actions.map((a) =>
        h("button", {
          type: "button",
          class: "btn btn-small btn-primary",
          "data-testid": a.testid,
          on: { click: () => { dismiss(); a.run(); } },
        }, a.label),
      ),
      h("button", {
        type: "button",
        class: "icon-btn toast-close",
        "aria-label": "Dismiss notification",
        on: { click: dismiss },
      }, icon("close", { size: 16 })),
    );
    this.container.append(toast);
    const live = [...this.container.children].filter((t) => !t.classList.contains("toast-leaving"));
    for (const old of live.slice(0, Math.max(0, live.length - MAX_VISIBLE))) old.remove();
    if (duration > 0) {
      let timer = setTimeout(dismiss, duration);
      toast.restart = () => { clearTimeout(timer); timer = setTimeout(dismiss, duration); };
      // Hovering or focusing a toast keeps it up: people read at different speeds.
      const pause = () => clearTimeout(timer);
      const resume = () => { clearTimeout(timer); timer = setTimeout(dismiss, 2500); };
      toast.addEventListener("pointerenter", pause);
      toast.addEventListener("focusin", pause);
      toast.addEventListener("pointerleave", resume);
      toast.addEventListener("focusout", resume);
    }
    return toast;
  }

  remove(toast) {
    if (!toast || !toast.isConnected) return;
    if (toast.contains(document.activeElement)) document.activeElement.blur();
    toast.classList.add("toast-leaving");
    setTimeout(() => toast.remove(), 160);
  }

  clear() {
    this.container.replaceChildren();
  }
}
