// Breakout rooms in the browser. Hosts and moderators (permission room.breakouts) get a
// "Breakouts" button: a dialog to open breakouts (how many, who goes where, a timer), then to
// follow them: who is in which, move people, visit, message everyone, close. Everyone sees a bar
// while breakouts are open: where they are, the time left, and the way back (or a choice).
// Moving rooms is the connection's business (breakout.move, then a new socket); see app.js.

import { h, replaceChildren, setText } from "../dom.js";
import { can } from "../store.js";

const TESTID = "breakouts-dialog";

/** `12:05` from milliseconds (never negative). */
function clock(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

/** The breakout this page is in (by its room's slug), or null in the main room. */
export function currentBreakout(state) {
  const slug = state.room?.slug;
  return state.breakouts?.breakouts.find((b) => b.room === slug) || null;
}

export function mountBreakouts({ column, controls }, ctx) {
  const { connection, toasts, dialog } = ctx;
  const run = (type, payload) =>
    connection.request(type, payload).catch((err) => {
      toasts.show({ kind: "error", text: err?.message || "That did not work.", testid: "toast-error" });
      throw err;
    });

  // ---- the bar everyone sees while breakouts are open --------------------------------------------------
  const where = h("span", { class: "breakout-where", "data-testid": "breakout-where" });
  const left = h("span", { class: "breakout-left", "data-testid": "breakout-time-left" });
  const back = h("button", { type: "button", class: "btn btn-ghost", "data-testid": "breakout-return",
    on: { click: () => run("breakout.join", { breakout: 0 }).catch(() => {}) } }, "Return to main room");
  const choices = h("span", { class: "breakout-choices", "data-testid": "breakout-choices" });
  const bar = h("div", { class: "breakout-bar", "data-testid": "breakout-bar", role: "status", hidden: true },
    where, left, choices, back);
  // The newest message to every room stays above the stage until dismissed (no toast: toasts
  // would cover the bar's buttons for as long as they show).
  const saidText = h("span", { "data-testid": "breakout-broadcast-text" });
  const said = h("div", { class: "breakout-broadcast", "data-testid": "breakout-broadcast", role: "alert", hidden: true },
    saidText,
    h("button", { type: "button", class: "btn btn-ghost breakout-dismiss", "aria-label": "Dismiss", "data-testid": "breakout-broadcast-dismiss",
      on: { click: () => { said.hidden = true; } } }, "×"));
  column.prepend(bar, said);

  // ---- the staff button and dialog ----------------------------------------------------------------------
  const button = h("button", { type: "button", class: "ctrl-btn", "data-testid": "breakouts-button", hidden: true,
    on: { click: () => openDialog() } }, "Breakouts");
  controls.append(button);
  let ticking = null;

  function openDialog() {
    if (dialog.open) dialog.close("");
    dialog.setAttribute("data-testid", TESTID);
    dialog.dataset.testid = TESTID;
    renderDialog(ctx.store.getState());
    dialog.showModal();
  }

  function setupForm(state) {
    const count = h("input", { type: "number", min: 1, max: 50, value: 2, "data-testid": "breakouts-count", "aria-label": "Number of breakout rooms" });
    const mode = h("select", { "data-testid": "breakouts-assignment", "aria-label": "How people are assigned" },
      h("option", { value: "auto" }, "Assign automatically"),
      h("option", { value: "manual" }, "Assign manually (everyone stays until moved)"),
      h("option", { value: "choice" }, "Let participants choose"));
    const minutes = h("input", { type: "number", min: 0, max: 720, value: "", placeholder: "no limit", "data-testid": "breakouts-minutes", "aria-label": "Minutes until everyone comes back" });
    const attendees = state.participants.filter((p) => p.role === "attendee").length;
    const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "breakouts-open" }, "Open breakouts");
    const form = h("form", { class: "dialog-form breakouts-form", on: { submit: (event) => {
      event.preventDefault();
      const payload = { count: Number(count.value) || 1 };
      if (mode.value === "choice") Object.assign(payload, { assignment: "manual", allow_choice: true });
      else payload.assignment = mode.value;
      const mins = Number(minutes.value);
      if (mins > 0) payload.duration = Math.round(mins * 60);
      submit.disabled = true;
      run("breakouts.open", payload).catch(() => {}).finally(() => { submit.disabled = false; });
    } } },
      h("h2", { class: "dialog-title" }, "Breakout rooms"),
      h("p", { class: "dialog-body" }, `${attendees} attendee${attendees === 1 ? "" : "s"} here. Hosts and moderators stay in the main room and can visit any breakout.`),
      h("label", { class: "field" }, h("span", {}, "Rooms"), count),
      h("label", { class: "field" }, h("span", {}, "Assignment"), mode),
      h("label", { class: "field" }, h("span", {}, "Time limit (minutes)"), minutes),
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-ghost", "data-testid": "dialog-cancel", on: { click: () => dialog.close("") } }, "Cancel"),
        submit));
    return form;
  }

  function moveSelect(person, info, here) {
    const select = h("select", { class: "breakout-move", "data-testid": "breakout-move-select", "aria-label": `Move ${person.name}`,
      on: { change: () => {
        const number = Number(select.value);
        if (number === here) return;
        run("breakouts.assign", { participant_id: person.id, breakout: number }).catch(() => {});
      } } },
      h("option", { value: 0, selected: here === 0 }, "Main room"),
      ...info.breakouts.map((b) => h("option", { value: b.number, selected: here === b.number }, b.name)));
    return select;
  }

  function liveView(state) {
    const info = state.breakouts;
    const mine = currentBreakout(state);
    const inMain = !mine;
    const rooms = info.breakouts.map((b) => h("li", { class: "breakout-room", "data-testid": "breakout-room", dataset: { number: b.number } },
      h("div", { class: "breakout-room-head" },
        h("strong", {}, b.name),
        h("span", { class: "breakout-room-count" }, `${b.participants.length} in`),
        mine?.number === b.number
          ? h("span", { class: "breakout-here" }, "You are here")
          : h("button", { type: "button", class: "btn btn-ghost", "data-testid": "breakout-visit",
            on: { click: () => { dialog.close(""); run("breakout.join", { breakout: b.number }).catch(() => {}); } } }, "Join")),
      h("ul", { class: "breakout-people" }, ...b.participants.map((p) => h("li", {}, p.name)))));
    // People still in the main room can be sent somewhere (only the main room's ids are known here).
    const waiting = inMain
      ? state.participants.filter((p) => p.id !== state.you?.id).map((p) =>
        h("li", { class: "breakout-main-person", "data-testid": "breakout-main-person" }, h("span", {}, p.name), moveSelect(p, info, 0)))
      : [];
    const message = h("input", { type: "text", maxlength: 2000, placeholder: "Message to every room", "data-testid": "breakouts-message", "aria-label": "Message to every room" });
    const send = h("form", { class: "breakouts-send", on: { submit: (event) => {
      event.preventDefault();
      if (!message.value.trim()) return;
      run("breakouts.broadcast", { text: message.value }).then(() => { message.value = ""; }).catch(() => {});
    } } }, message, h("button", { type: "submit", class: "btn btn-ghost", "data-testid": "breakouts-send" }, "Send"));
    return h("div", { class: "dialog-form breakouts-live" },
      h("h2", { class: "dialog-title" }, "Breakout rooms are open"),
      info.ends_at ? h("p", { class: "dialog-body", "data-testid": "breakouts-dialog-timer" }, `Closing in ${clock(Date.parse(info.ends_at) - Date.now())}`) : null,
      h("ul", { class: "breakout-rooms", "data-testid": "breakout-rooms" }, ...rooms),
      waiting.length ? h("div", {}, h("h3", { class: "breakout-subtitle" }, "In the main room"), h("ul", { class: "breakout-main" }, ...waiting)) : null,
      send,
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-ghost", "data-testid": "dialog-cancel", on: { click: () => dialog.close("") } }, "Done"),
        h("button", { type: "button", class: "btn btn-danger", "data-testid": "breakouts-close",
          on: { click: () => run("breakouts.close").then(() => dialog.close("")).catch(() => {}) } }, "Close all rooms")));
  }

  function renderDialog(state) {
    replaceChildren(dialog, state.breakouts ? liveView(state) : setupForm(state));
  }

  function renderBar(state) {
    const info = state.breakouts;
    const joined = state.phase === "joined";
    bar.hidden = !(joined && info);
    if (bar.hidden) return;
    const mine = currentBreakout(state);
    setText(where, mine ? `You're in ${mine.name}` : "Breakout rooms are open");
    back.hidden = !mine;
    // Attendees pick a breakout here when the host lets them; hosts go through the dialog.
    const canChoose = !mine && info.allow_choice && !can(state, "room.breakouts");
    replaceChildren(choices, ...(canChoose
      ? info.breakouts.map((b) => h("button", { type: "button", class: "btn btn-ghost", "data-testid": "breakout-choose", dataset: { number: b.number },
        on: { click: () => run("breakout.join", { breakout: b.number }).catch(() => {}) } }, `Join ${b.name}`))
      : []));
    tick(state);
  }

  function tick(state) {
    const info = state.breakouts;
    clearTimeout(ticking);
    if (!info?.ends_at || bar.hidden) {
      setText(left, "");
      return;
    }
    setText(left, `· ${clock(Date.parse(info.ends_at) - Date.now())} left`);
    ticking = setTimeout(() => tick(ctx.store.getState()), 1000);
  }

  return function render(state, action, prev) {
    button.hidden = !(state.phase === "joined" && can(state, "room.breakouts"));
    renderBar(state);
    if (dialog.open && dialog.dataset.testid === TESTID && (state.breakouts !== prev?.breakouts || state.participants !== prev?.participants)) {
      renderDialog(state);
    }
    if (state.terminal && dialog.open && dialog.dataset.testid === TESTID) dialog.close("");
    switch (action.type) {
      case "breakouts.message":
        setText(saidText, `📣 ${action.by}: ${action.text}`);
        said.hidden = false;
        return;
      case "breakout.move":
        // The bar says where one lands; the dialog's view of the old room is stale.
        said.hidden = true;
        if (dialog.open && dialog.dataset.testid === TESTID) dialog.close("");
        return;
      default:
        return;
    }
  };
}
