// The frame around the room: top bar (name, connection state, leave), side-panel tabs and,
// on narrow screens, the bottom navigation that shows one view at a time.

import { h, icon, setAttr, setText } from "../dom.js";
import { can, unreadCount } from "../store.js";
import { ask, confirmAction } from "./dialog.js";

const CONN_LABEL = {
  idle: "Connecting…",
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

export function mountShell(els, ctx) {
  const { store, connection } = ctx;
  const { roomName, conn, count, leave, tabs, panels, nav, chatBadge, peopleCount } = els;

  leave.prepend(icon("leave", { size: 18 }));
  leave.addEventListener("click", () => onLeave());

  async function onLeave() {
    const state = store.getState();
    if (!can(state, "room.end")) {
      connection.leave();
      return;
    }
    const choice = await ask(ctx.dialog, {
      title: "Leave the meeting?",
      body: "You can leave and let the meeting continue, or end it for everyone.",
      testid: "leave-dialog",
      stacked: true,
      choices: [
        { value: "leave", label: "Leave meeting", kind: "primary", testid: "leave-confirm", autofocus: true },
        { value: "end", label: "End meeting for all", kind: "danger", testid: "end-meeting" },
        { value: "cancel", label: "Cancel", kind: "ghost", testid: "dialog-cancel" },
      ],
    });
    if (choice === "leave") connection.leave();
    if (choice === "end") {
      const sure = await confirmAction(ctx.dialog, {
        title: "End the meeting for everyone?",
        body: "Everyone will be disconnected, including people waiting in the lobby. This can’t be undone.",
        confirm: "End meeting",
        testid: "confirm-end",
      });
      if (sure) connection.request("room.end", {}).catch(() => {});
    }
  }

  // -- tabs (roving tabindex, arrow keys) and bottom nav
  const select = (tab) => store.dispatch({ type: "ui/tab", tab });
  tabs.forEach((tab) => {
    tab.addEventListener("click", () => select(tab.id.replace("tab-", "")));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      event.preventDefault();
      const other = tabs[(tabs.indexOf(tab) + 1) % tabs.length];
      other.focus();
      select(other.id.replace("tab-", ""));
    });
  });
  const navButtons = [...nav.querySelectorAll(".nav-btn")];
  const NAV_ICON = { stage: "stage", participants: "users", chat: "chat" };
  navButtons.forEach((btn) => {
    btn.prepend(icon(NAV_ICON[btn.dataset.view], { size: 20 }));
    if (btn.dataset.view === "chat") btn.append(h("span", { class: "nav-badge", hidden: true, "data-testid": "nav-chat-badge" }));
    btn.addEventListener("click", () => store.dispatch({ type: "ui/view", view: btn.dataset.view }));
  });

  return function render(state, action, prev) {
    setText(roomName, state.room?.name || (state.terminal ? "Podium" : "Joining…"));
    document.title = state.room ? `${state.room.name} · Podium` : "Podium";

    const status = state.terminal ? "closed" : state.connection.status;
    conn.dataset.state = status;
    setText(conn.querySelector(".conn-label"), CONN_LABEL[status] || status);
    const n = state.participants.length;
    setText(count, state.phase === "joined" ? `${n} ${n === 1 ? "person" : "people"}` : "");
    setText(peopleCount, state.phase === "joined" ? String(n) : "");

    const lobbyWaiting = can(state, "lobby.admit") ? state.lobby.length : 0;
    tabs[0].classList.toggle("has-alert", lobbyWaiting > 0);

    // Tabs and panels
    const tab = state.ui.tab;
    for (const t of tabs) {
      const on = t.id === `tab-${tab}`;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
    }
    for (const [name, panel] of Object.entries(panels)) panel.hidden = name !== tab;
    els.app.dataset.view = state.ui.view;
    els.app.dataset.phase = state.phase;
    for (const btn of navButtons) btn.setAttribute("aria-pressed", String(btn.dataset.view === state.ui.view));

    // Unread chat
    const unread = ctx.isChatVisible(state) ? 0 : unreadCount(state);
    const badgeText = unread > 99 ? "99+" : String(unread);
    for (const badge of [chatBadge, nav.querySelector(".nav-badge")]) {
      badge.hidden = unread === 0;
      setText(badge, unread ? badgeText : "");
    }
    setAttr(tabs[1], "aria-label", unread > 0, `Chat, ${unread} unread`);
  };
}
