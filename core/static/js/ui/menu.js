// An accessible popover menu (menu button pattern): arrow keys, Home/End, Escape, focus return.

import { h, icon } from "../dom.js";

let current = null;

/** Close the open menu, if any (returns focus to its button unless `restoreFocus` is false). */
export function closeMenu(restoreFocus = true) {
  if (!current) return;
  const { menu, button, onDocPointer } = current;
  current = null;
  document.removeEventListener("pointerdown", onDocPointer, true);
  window.removeEventListener("resize", closeOnResize);
  menu.remove();
  button.setAttribute("aria-expanded", "false");
  if (restoreFocus && button.isConnected) button.focus();
}

const closeOnResize = () => closeMenu(false);

/** Whether a menu is open for `button`. */
export const isMenuOpenFor = (button) => current !== null && current.button === button;

/**
 * Open a menu under `button`. `items`: [{label, icon, run, danger, testid}] or "separator".
 */
export function openMenu(button, items, { label = "Actions", testid = "menu" } = {}) {
  closeMenu(false);
  const menu = h("div", { class: "menu", role: "menu", "aria-label": label, "data-testid": testid });
  for (const item of items) {
    if (item === "separator") {
      menu.append(h("div", { class: "menu-sep", role: "separator" }));
      continue;
    }
    menu.append(
      h("button", {
        type: "button",
        role: "menuitem",
        tabindex: "-1",
        class: `menu-item${item.danger ? " menu-item-danger" : ""}`,
        "data-testid": item.testid,
        on: {
          click: () => {
            closeMenu();
            item.run();
          },
        },
      }, item.icon ? icon(item.icon, { size: 18 }) : null, h("span", {}, item.label)),
    );
  }
  document.body.append(menu);
  place(menu, button);
  button.setAttribute("aria-expanded", "true");

  const entries = () => [...menu.querySelectorAll('[role="menuitem"]')];
  menu.addEventListener("keydown", (event) => {
    const list = entries();
    const i = list.indexOf(document.activeElement);
    const move = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: list.length - 1 }[event.key];
    if (move !== undefined) {
      event.preventDefault();
      list[(move + list.length) % list.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMenu();
    } else if (event.key === "Tab") {
      closeMenu(false);
    }
  });
  const onDocPointer = (event) => {
    if (!menu.contains(event.target) && !button.contains(event.target)) closeMenu(false);
  };
  document.addEventListener("pointerdown", onDocPointer, true);
  window.addEventListener("resize", closeOnResize);
  current = { menu, button, onDocPointer };
  entries()[0]?.focus();
}

function place(menu, button) {
  const r = button.getBoundingClientRect();
  const m = menu.getBoundingClientRect();
  const margin = 8;
  let top = r.bottom + 4;
  if (top + m.height > window.innerHeight - margin) top = Math.max(margin, r.top - m.height - 4);
  let left = r.right - m.width;
  left = Math.min(Math.max(margin, left), window.innerWidth - m.width - margin);
  menu.style.top = `${Math.round(top)}px`;
  menu.style.left = `${Math.round(left)}px`;
}
