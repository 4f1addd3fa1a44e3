// The People panel: the lobby (for hosts and moderators), raised hands in order (with "Invite to
// stage" in webinars), and the participant list with moderation.

import { avatar, h, icon, replaceChildren, roleBadge, setText, ROLE_LABEL } from "../dom.js";
import { assignableRoles, can, canActOn, raisedHands, sortedParticipants } from "../store.js";
import { confirmAction } from "./dialog.js";
import { closeMenu, isMenuOpenFor, openMenu } from "./menu.js";

const SEARCH_FROM = 9;

export function mountParticipants(panel, ctx) {
  const { store, connection } = ctx;
  const command = (type, payload) => connection.request(type, payload).catch(() => {}); // errors toast via the store

  // -- lobby
  const lobbyCount = h("span", { class: "count", "data-testid": "lobby-count" });
  const admitAll = h("button", {
    type: "button",
    class: "btn btn-small btn-ghost",
    "data-testid": "lobby-admit-all",
    on: { click: () => store.getState().lobby.forEach((p) => command("lobby.admit", { participant_id: p.id })) },
  }, "Admit all");
  const lobbyList = h("ul", { class: "people", "data-testid": "lobby-list", "aria-labelledby": "lobby-heading" });
  const lobby = h("section", { class: "group group-lobby", "data-testid": "lobby-section", hidden: true },
    h("div", { class: "group-head" },
      h("h2", { class: "group-title", id: "lobby-heading" }, icon("hourglass", { size: 16 }), "Waiting to join ", lobbyCount),
      admitAll,
    ),
    lobbyList,
  );

  // -- raised hands, first raised first
  const handsCount = h("span", { class: "count", "data-testid": "hands-count" });
  const handsList = h("ol", { class: "people", "data-testid": "hands-list", "aria-labelledby": "hands-heading" });
  const hands = h("section", { class: "group group-hands", "data-testid": "hands-section", hidden: true },
    h("div", { class: "group-head" }, h("h2", { class: "group-title", id: "hands-heading" }, icon("hand", { size: 16 }), "Raised hands ", handsCount)),
    handsList,
  );

  // -- people
  const count = h("span", { class: "count", "data-testid": "people-count" });
  const search = h("input", {
    type: "search",
    class: "input search-input",
    placeholder: "Find someone",
    "aria-label": "Find a participant",
    "data-testid": "participant-search",
    on: { input: () => render(store.getState(), true) },
  });
  const searchBox = h("div", { class: "search", hidden: true }, icon("search", { size: 16 }), search);
  const list = h("ul", { class: "people", "data-testid": "participant-list", "aria-labelledby": "people-heading" });
  const empty = h("p", { class: "empty", hidden: true }, "No one matches that name.");
  panel.append(
    h("div", { class: "panel-scroll" },
      lobby,
      hands,
      h("section", { class: "group" },
        h("div", { class: "group-head" }, h("h2", { class: "group-title", id: "people-heading" }, "In the meeting ", count)),
        searchBox,
        list,
        empty,
      ),
    ),
  );

  const rows = new Map(); // id → {el, sig}

  function actionsFor(state, p) {
    const you = state.you;
    const items = [];
    if (p.id === you?.id) return items;
    if (can(state, "chat.private")) {
      items.push({ label: "Send a private message", icon: "chat", testid: "action-message", run: () => ctx.openChatTo(p.id) });
    }
    if (!canActOn(you, p)) return items;
    if (can(state, "participant.ask_mute")) {
      items.push(
        { label: "Ask to mute microphone", icon: "micOff", testid: "action-ask-mute-audio", run: () => askMute(p, "audio") },
        { label: "Ask to turn off camera", icon: "videoOff", testid: "action-ask-mute-video", run: () => askMute(p, "video") },
      );
    }
    items.push(...stageActions(state, p));
    if (can(state, "participant.set_role")) {
      const roles = assignableRoles(you, p);
      if (roles.length && items.length) items.push("separator");
      for (const role of roles) {
        items.push({ label: `Make ${ROLE_LABEL[role].toLowerCase()}`, icon: role === "attendee" ? "users" : "shield", testid: `action-make-${role}`, run: () => setRole(p, role) });
      }
    }
    if (can(state, "participant.kick")) {
      items.push("separator", { label: "Remove from meeting", icon: "userMinus", danger: true, testid: "action-kick", run: () => kick(p) });
    }
    return items;
  }

  /** Webinars: call someone up on stage or send them back to the audience; lower a hand. */
  function stageActions(state, p) {
    const items = [];
    if (state.room?.webinar && can(state, "participant.stage")) {
      if (p.on_stage === false || p.viewer) {
        items.push({ label: "Invite to stage", icon: "stage", testid: "action-stage-on", run: () => setStage(p, true) });
      } else {
        items.push({ label: "Remove from stage", icon: "stage", testid: "action-stage-off", run: () => setStage(p, false) });
      }
    }
    if (p.hand_raised_at && can(state, "participant.lower_hand")) {
      items.push({ label: "Lower hand", icon: "close", testid: "action-lower-hand", run: () => command("participant.lower_hand", { participant_id: p.id }) });
    }
    return items;
  }

  async function setStage(p, onStage) {
    try {
      await connection.request("participant.stage", { participant_id: p.id, on_stage: onStage });
    } catch (err) {
      if (err?.code !== "room_full") return; // other refusals toast via the store
      ctx.toasts.show({ kind: "error", text: `Every seat on the call is taken: someone must leave before ${p.name} can come on stage.`, testid: "toast-stage-full" });
    }
  }

  function handRow(state, p, index) {
    const row = personRow(state, p, "hand-row");
    const name = row.querySelector(".person-name-text");
    name.textContent = `${index + 1}. ${p.name}`;
    name.dataset.testid = "hand-name"; // the People list below names them too
    const staff = can(state, "participant.lower_hand");
    const invite = state.room?.webinar && can(state, "participant.stage") && (p.on_stage === false || p.viewer);
    row.append(
      h("div", { class: "row-actions" },
        staff && p.id !== state.you?.id
          ? h("button", { type: "button", class: "btn btn-small btn-ghost", "data-testid": "hand-lower", "aria-label": `Lower ${p.name}’s hand`, on: { click: () => command("participant.lower_hand", { participant_id: p.id }) } }, "Lower")
          : null,
        invite
          ? h("button", { type: "button", class: "btn btn-small btn-primary", "data-testid": "hand-invite", "aria-label": `Invite ${p.name} to the stage`, on: { click: () => setStage(p, true) } }, "Invite to stage")
          : null,
      ),
    );
    return row;
  }

  async function askMute(p, kind) {
    try {
      await connection.request("participant.ask_mute", { participant_id: p.id, kind });
      ctx.toasts.show({ kind: "info", text: kind === "audio" ? `Asked ${p.name} to mute their microphone.` : `Asked ${p.name} to turn off their camera.`, duration: 3500 });
    } catch {
      /* the error toast comes from the store */
    }
  }

  async function setRole(p, role) {
    if (role === "host") {
      const ok = await confirmAction(ctx.dialog, {
        title: `Make ${p.name} a host?`,
        body: "Hosts can remove anyone, change roles and end the meeting for everyone.",
        confirm: "Make host",
        danger: false,
        testid: "confirm-make-host",
      });
      if (!ok) return;
    }
    command("participant.set_role", { participant_id: p.id, role });
  }

  async function kick(p) {
    const ok = await confirmAction(ctx.dialog, {
      title: `Remove ${p.name}?`,
      body: "They’ll be disconnected from the meeting right away.",
      confirm: "Remove",
      testid: "confirm-kick",
    });
    if (ok) command("participant.kick", { participant_id: p.id });
  }

  function personRow(state, p, testid) {
    const isYou = p.id === state.you?.id;
    const label = h("span", { class: "person-name" }, h("span", { class: "person-name-text", "data-testid": "participant-name" }, p.name));
    if (isYou) label.append(h("span", { class: "you-tag" }, " (you)"));
    return h("li", { class: "person", "data-testid": testid, dataset: { participantId: p.id, role: p.role } },
      avatar(p, "sm"),
      h("div", { class: "person-main" }, label, roleBadge(p.role)),
    );
  }

  function participantRow(state, p) {
    const row = personRow(state, p, "participant-row");
    const status = h("span", { class: "person-status" });
    if (p.hand_raised_at) status.append(h("span", { class: "hand-raised", "data-testid": "hand-raised" }, icon("hand", { size: 16, label: "Hand raised" })));
    if (state.room?.webinar && p.on_stage && !p.viewer) status.append(h("span", { class: "stage-chip", "data-testid": "on-stage" }, "On stage"));
    if (p.viewer) status.append(h("span", { class: "stage-chip", "data-testid": "watching-stream" }, "Stream"));
    if (p.audio_muted) status.append(icon("micOff", { size: 16, label: "Microphone off" }));
    if (p.video_muted) status.append(icon("videoOff", { size: 16, label: "Camera off" }));
    row.append(status);
    const items = actionsFor(state, p);
    if (items.length) {
      const button = h("button", {
        type: "button",
        class: "icon-btn",
        "aria-haspopup": "menu",
        "aria-expanded": "false",
        "aria-label": `Actions for ${p.name}`,
        "data-testid": "participant-actions",
      }, icon("more"));
      button.addEventListener("click", () => {
        if (isMenuOpenFor(button)) closeMenu();
        else openMenu(button, actionsFor(store.getState(), p), { label: `Actions for ${p.name}`, testid: "participant-menu" });
      });
      row.append(button);
    }
    return row;
  }

  function lobbyRow(state, p) {
    const row = personRow(state, p, "lobby-row");
    row.append(
      h("div", { class: "row-actions" },
        h("button", { type: "button", class: "btn btn-small btn-ghost", "data-testid": "lobby-deny", "aria-label": `Deny ${p.name}`, on: { click: () => command("lobby.deny", { participant_id: p.id }) } }, "Deny"),
        h("button", { type: "button", class: "btn btn-small btn-primary", "data-testid": "lobby-admit", "aria-label": `Admit ${p.name}`, on: { click: () => command("lobby.admit", { participant_id: p.id }) } }, "Admit"),
      ),
    );
    return row;
  }

  function signature(state, p) {
    const actions = actionsFor(state, p).map((i) => (i === "separator" ? "-" : i.testid)).join(",");
    return `${p.name}|${p.role}|${p.audio_muted}|${p.video_muted}|${p.id === state.you?.id}|${actions}|${p.on_stage}|${p.viewer}|${p.hand_raised_at}|${state.room?.webinar}`;
  }

  function render(state, force = false, prev = null) {
    if (!force && prev && prev.participants === state.participants && prev.lobby === state.lobby && prev.you === state.you && prev.permissions === state.permissions) return;

    // Lobby
    const showLobby = can(state, "lobby.admit") && state.lobby.length > 0;
    lobby.hidden = !showLobby;
    setText(lobbyCount, state.lobby.length);
    admitAll.hidden = state.lobby.length < 2;
    if (showLobby) replaceChildren(lobbyList, state.lobby.map((p) => lobbyRow(state, p)));

    // Raised hands (in the order they went up)
    const raised = raisedHands(state);
    hands.hidden = raised.length === 0;
    setText(handsCount, raised.length);
    replaceChildren(handsList, raised.map((p, i) => handRow(state, p, i)));

    // People (rows are kept while unchanged, so focus and open menus survive updates)
    setText(count, state.participants.length);
    searchBox.hidden = state.participants.length < SEARCH_FROM;
    const query = searchBox.hidden ? "" : search.value.trim().toLowerCase();
    const people = sortedParticipants(state).filter((p) => !query || p.name.toLowerCase().includes(query));
    empty.hidden = people.length > 0 || !query;
    const keep = new Set(people.map((p) => p.id));
    for (const [id, row] of rows) {
      if (!keep.has(id)) {
        if (row.el.contains(document.activeElement)) closeMenu(false);
        row.el.remove();
        rows.delete(id);
      }
    }
    people.forEach((p, i) => {
      const sig = signature(state, p);
      let row = rows.get(p.id);
      if (!row || row.sig !== sig) {
        const el = participantRow(state, p);
        const hadFocus = row && row.el.contains(document.activeElement);
        if (row) {
          if (row.el.querySelector('[aria-expanded="true"]')) closeMenu(false);
          row.el.replaceWith(el);
        }
        row = { el, sig };
        rows.set(p.id, row);
        if (hadFocus) el.querySelector("button")?.focus();
      }
      if (list.children[i] !== row.el) list.insertBefore(row.el, list.children[i] || null);
    });
  }

  return (state, action, prev) => render(state, false, prev);
}
