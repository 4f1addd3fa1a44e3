// Full-screen states (joining, waiting room, every way a session ends) and the reconnect banner.

import { avatar, h, icon, replaceChildren, setText } from "../dom.js";
import { terminalScreen } from "../copy.js";

export function mountScreens({ screen, banner, app }, ctx) {
  const { store, connection } = ctx;
  let shownKey = null;
  let countdown = null;

  const retryIn = (state) => Math.max(0, Math.ceil(((state.connection.retryAt || 0) - Date.now()) / 1000));
  const retryNowButton = (label = "Retry now") =>
    h("button", { type: "button", class: "btn btn-ghost", "data-testid": "retry-now", on: { click: () => connection.retryNow() } }, label);

  function card(kind, { iconName, spinner, title, body, extra = [], actions = [] }) {
    return h("div", { class: "screen-card", "data-testid": `screen-${kind}` },
      spinner ? h("div", { class: "spinner", "aria-hidden": "true" }) : h("div", { class: `screen-icon screen-icon-${kind}` }, icon(iconName, { size: 28 })),
      h("h2", { class: "screen-title", tabindex: "-1" }, title),
      body ? h("p", { class: "screen-body", "data-testid": "screen-body" }, body) : null,
      extra,
      actions.length ? h("div", { class: "screen-actions" }, actions) : null,
    );
  }

  function connecting(state) {
    const failing = state.connection.attempt > 0;
    return card("connecting", failing
      ? {
          iconName: "wifiOff",
          title: "Can’t reach the meeting yet",
          body: state.connection.retryAt ? `Trying again in ${retryIn(state)}s…` : "Trying again…",
          actions: [retryNowButton("Try now")],
        }
      : { spinner: true, title: "Joining the meeting…" });
  }

  function lobby(state) {
    const reconnecting = state.connection.status !== "open" || state.connection.handshake;
    return card("lobby", {
      spinner: false,
      iconName: "hourglass",
      title: "Waiting for the host to let you in",
      body: state.room ? `You asked to join ${state.room.name}. You’ll join automatically once someone admits you.` : "",
      extra: [
        state.you ? h("div", { class: "screen-you" }, avatar(state.you, "md"), h("span", {}, state.you.name)) : null,
        reconnecting ? h("p", { class: "screen-note", role: "status" }, "Connection lost — reconnecting…") : null,
      ],
      actions: [h("button", { type: "button", class: "btn btn-ghost", "data-testid": "lobby-leave", on: { click: () => connection.leave() } }, "Leave")],
    });
  }

  function terminal(state) {
    const t = state.terminal;
    const copy = terminalScreen(t, state);
    const label = { retry: "Try again", rejoin: "Rejoin", here: "Use here instead" }[copy.action];
    const actions = label
      ? [h("button", { type: "button", class: "btn btn-primary", "data-testid": "screen-action", on: { click: () => connection.restart() } }, label)]
      : [];
    return card(t.kind.replace(/_/g, "-"), { iconName: copy.icon, title: copy.title, body: copy.body, actions });
  }

  function screenFor(state) {
    if (state.terminal) return { key: `t:${state.terminal.kind}`, build: terminal };
    if (state.phase === "lobby") return { key: `lobby:${state.connection.status === "open" && !state.connection.handshake}`, build: lobby };
    if (state.phase === "connecting") return { key: `connecting:${state.connection.attempt > 0}`, build: connecting };
    return null;
  }

  function renderBanner(state) {
    // Until welcome arrives again the room on screen is stale, even if the socket is open.
    const show = state.phase === "joined" && !state.terminal && (state.connection.status !== "open" || state.connection.handshake);
    banner.hidden = !show;
    app.classList.toggle("is-offline", show);
    if (!show) return;
    const waiting = state.connection.retryAt ? ` Trying again in ${retryIn(state)}s.` : "";
    if (!banner.firstChild) {
      banner.append(
        h("span", { class: "banner-spinner", "aria-hidden": "true" }),
        h("span", { class: "banner-text" }, h("strong", {}, "Connection lost — reconnecting…"), h("span", { class: "banner-detail" })),
        retryNowButton(),
      );
    }
    setText(banner.querySelector(".banner-detail"), waiting);
  }

  function tick() {
    const state = store.getState();
    renderBanner(state);
    const detail = screen.querySelector('[data-testid="screen-connecting"] .screen-body');
    if (detail && state.connection.retryAt) setText(detail, `Trying again in ${retryIn(state)}s…`);
  }

  return function render(state) {
    const next = screenFor(state);
    const key = next ? next.key : null;
    if (key !== shownKey) {
      shownKey = key;
      if (next) {
        ctx.closeOverlays();
        screen.dataset.state = next.key.split(":")[0] === "t" ? state.terminal.kind : next.key.split(":")[0];
        replaceChildren(screen, next.build(state));
        screen.hidden = false;
        // Move focus into the screen so it is announced, and keep the room behind it inert.
        screen.querySelector(".screen-title")?.focus({ preventScroll: true });
      } else {
        screen.hidden = true;
        replaceChildren(screen);
      }
      app.inert = Boolean(next);
    } else if (next && state.phase === "lobby") {
      // The waiting card shows the room name and you; refresh it in place when they change.
      const you = screen.querySelector(".screen-you span");
      if (you && state.you) setText(you, state.you.name);
    }
    renderBanner(state);
    const needsTick = Boolean(state.connection.retryAt) && !state.terminal;
    if (needsTick && !countdown) countdown = setInterval(tick, 1000);
    if (!needsTick && countdown) {
      clearInterval(countdown);
      countdown = null;
    }
  };
}
