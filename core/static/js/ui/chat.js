// The Chat panel: message log (text only ever as text nodes) and the composer with its audience picker.

import { formatTime, h, icon, replaceChildren, roleBadge, setAttr, setText } from "../dom.js";
import { can, findParticipant, isSelf } from "../store.js";

/** The server's default limit (Settings.chat_max_length); it does not announce its own. */
const MAX_LENGTH = 2000;
const COUNTER_FROM = MAX_LENGTH - 200;
/** Messages from one sender within this window are grouped under one header. */
const GROUP_MS = 3 * 60 * 1000;
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/giu;

export function mountChat(panel, ctx) {
  const { store, connection } = ctx;
  /** "everyone" | "moderators" | participant id */
  let recipient = "everyone";
  /** The name of a private recipient, remembered in case they leave. */
  let recipientName = "";
  let sending = false;
  let renderedIds = [];

  // -- log
  const log = h("ol", { class: "chat-log", role: "log", "aria-label": "Chat messages", "data-testid": "chat-log" });
  const emptyState = h("div", { class: "chat-empty", "data-testid": "chat-empty" },
    icon("chat", { size: 28 }),
    h("p", { class: "chat-empty-title" }, "No messages yet"),
    h("p", {}, "Messages you send to everyone appear here for the whole room."),
  );
  const scroller = h("div", { class: "chat-scroll" }, emptyState, log);
  const jump = h("button", { type: "button", class: "chat-jump", hidden: true, "data-testid": "chat-jump", on: { click: () => scrollToEnd(true) } }, "New messages ↓");

  // -- composer
  const select = h("select", { id: "chat-to", class: "select", "data-testid": "chat-recipient", on: { change: () => pick(select.value) } });
  const input = h("textarea", {
    id: "chat-input",
    class: "composer-input",
    rows: "1",
    maxlength: String(MAX_LENGTH),
    placeholder: "Message everyone",
    "aria-label": "Message",
    "aria-describedby": "chat-hint",
    autocomplete: "off",
    "data-testid": "chat-input",
  });
  const sendButton = h("button", { type: "submit", class: "send-btn", "aria-label": "Send message", "data-testid": "chat-send" }, icon("send"));
  const hint = h("p", { class: "composer-hint", id: "chat-hint", "aria-live": "polite" });
  const form = h("form", { class: "composer", "data-testid": "chat-form", "data-audience": "everyone" },
    h("div", { class: "composer-to" }, h("label", { for: "chat-to" }, "To"), select),
    h("div", { class: "composer-box" }, input, sendButton),
    hint,
  );
  panel.append(h("div", { class: "chat" }, scroller, jump, form));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener("input", () => {
    autosize();
    renderComposer(store.getState());
  });
  scroller.addEventListener("scroll", () => {
    if (atBottom()) {
      jump.hidden = true;
      markSeen(store.getState());
    }
  });

  function autosize() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
  }

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;

  function scrollToEnd(smooth = false) {
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    jump.hidden = true;
    markSeen(store.getState());
  }

  function markSeen(state) {
    if (!ctx.isChatVisible(state) || !state.chat.length) return;
    const id = state.chat[state.chat.length - 1].id;
    if (state.ui.lastSeenChatId === null || id > state.ui.lastSeenChatId) store.dispatch({ type: "ui/chat-seen", id });
  }

  function pick(value) {
    recipient = value;
    const p = findParticipant(store.getState(), value);
    if (p) recipientName = p.name;
    renderComposer(store.getState(), true);
  }

  async function send() {
    const state = store.getState();
    const text = input.value;
    if (!text.trim() || sending || !sendable(state)) return;
    const payload = recipient === "everyone" || recipient === "moderators" ? { text, to: recipient } : { text, to: "participant", recipient };
    sending = true;
    renderComposer(state);
    try {
      await connection.request("chat.send", payload);
      if (input.value === text) {
        input.value = "";
        autosize();
      }
    } catch {
      // Kept in the box so nothing typed is lost; the error toast comes from the store.
    } finally {
      sending = false;
      renderComposer(store.getState());
    }
  }

  const privateTarget = (state) => (recipient === "everyone" || recipient === "moderators" ? null : findParticipant(state, recipient));
  const connected = (state) => state.phase === "joined" && state.connection.status === "open" && !state.connection.handshake;

  function sendable(state) {
    if (!connected(state)) return false;
    if (recipient === "everyone") return can(state, "chat.everyone");
    if (recipient === "moderators") return can(state, "chat.moderators");
    return can(state, "chat.private") && privateTarget(state) !== null;
  }

  // -- rendering

  function renderOptions(state) {
    const options = [];
    if (can(state, "chat.everyone")) options.push(h("option", { value: "everyone" }, "Everyone"));
    if (can(state, "chat.moderators")) options.push(h("option", { value: "moderators" }, "Hosts & moderators"));
    if (can(state, "chat.private")) {
      const others = state.participants.filter((p) => p.id !== state.you?.id).sort((a, b) => a.name.localeCompare(b.name));
      const group = h("optgroup", { label: "Privately to" }, others.map((p) => h("option", { value: p.id }, p.name)));
      const isPrivate = recipient !== "everyone" && recipient !== "moderators";
      if (isPrivate && !others.some((p) => p.id === recipient)) {
        group.append(h("option", { value: recipient, disabled: true }, `${recipientName} (left)`));
      }
      if (group.children.length) options.push(group);
    }
    if (!options.length) options.push(h("option", { value: "everyone", disabled: true }, "Chat is off"));
    replaceChildren(select, options);
    if (![...select.options].some((o) => o.value === recipient)) recipient = select.options[0].value;
    select.value = recipient;
  }

  function renderComposer(state, optionsChanged = false) {
    if (optionsChanged) renderOptions(state);
    const target = privateTarget(state);
    const isPrivate = recipient !== "everyone" && recipient !== "moderators";
    form.dataset.audience = isPrivate ? "participant" : recipient;
    input.placeholder = isPrivate ? `Private message to ${target ? target.name : recipientName}` : recipient === "moderators" ? "Message hosts & moderators" : "Message everyone";
    const ok = sendable(state) && input.value.trim().length > 0 && !sending;
    sendButton.disabled = !ok;
    setAttr(form, "aria-busy", sending, "true");
    let note = "";
    if (!connected(state)) note = state.phase === "joined" ? "Reconnecting — you can send once you’re back." : "";
    else if (isPrivate && !target) note = `${recipientName} has left the meeting. Choose someone else.`;
    else if (input.value.length >= COUNTER_FROM) note = `${input.value.length} / ${MAX_LENGTH} characters`;
    else if (isPrivate) note = `Only ${target.name} will see this.`;
    else if (recipient === "moderators") note = "Only hosts and moderators will see this.";
    setText(hint, note);
    hint.hidden = note === "";
  }

  function audienceLabel(state, m) {
    if (m.to === "moderators") return { icon: "shield", text: "To hosts & moderators" };
    if (m.to !== "participant") return null;
    if (isSelf(state, m.sender_id)) return { icon: "lock", text: `Privately to ${m.recipient_name || "someone"}` };
    if (isSelf(state, m.recipient_id)) return { icon: "lock", text: "Privately to you" };
    return { icon: "lock", text: `Private · ${m.sender_name} → ${m.recipient_name || "someone"}` };
  }

  function linkified(text) {
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(URL_RE)) {
      let url = match[0].replace(/[.,!?;:)\]}]+$/u, "");
      const start = match.index;
      let safe = null;
      try {
        const parsed = new URL(url);
        if (parsed.protocol === "http:" || parsed.protocol === "https:") safe = parsed.href;
      } catch {
        safe = null;
      }
      if (!safe) continue;
      parts.push(text.slice(last, start));
      const a = h("a", { target: "_blank", rel: "noopener noreferrer nofollow ugc" }, url);
      a.href = safe;
      parts.push(a);
      last = start + url.length;
    }
    parts.push(text.slice(last));
    return parts;
  }

  function messageItem(state, m, prevMsg) {
    const own = isSelf(state, m.sender_id);
    const audience = audienceLabel(state, m);
    const continued =
      prevMsg && prevMsg.sender_id === m.sender_id && prevMsg.to === m.to && prevMsg.recipient_id === m.recipient_id &&
      new Date(m.sent_at) - new Date(prevMsg.sent_at) < GROUP_MS;
    const li = h("li", {
      class: `msg${own ? " msg-own" : ""}${continued ? " msg-cont" : ""}${m.to !== "everyone" ? ` msg-${m.to}` : ""}`,
      "data-testid": "chat-message",
      dataset: { messageId: m.id, audience: m.to, own: own ? "true" : "false" },
    });
    const head = h("div", { class: "msg-head" },
      h("span", { class: "msg-sender", "data-testid": "chat-sender" }, own ? "You" : m.sender_name),
      roleBadge(m.sender_role),
      h("time", { class: "msg-time", datetime: m.sent_at }, formatTime(m.sent_at)),
    );
    li.append(head);
    if (audience && !continued) {
      li.append(h("div", { class: "msg-audience", "data-testid": "chat-audience" }, icon(audience.icon, { size: 14 }), audience.text));
    }
    li.append(h("p", { class: "msg-text", "data-testid": "chat-text" }, linkified(m.text)));
    if (!own && m.sender_id && can(state, "chat.private")) {
      li.append(h("button", {
        type: "button",
        class: "icon-btn msg-reply",
        "aria-label": `Reply privately to ${m.sender_name}`,
        title: "Reply privately",
        "data-testid": "chat-reply",
        on: { click: () => replyTo(m) },
      }, icon("reply", { size: 16 })));
    }
    return li;
  }

  function replyTo(m) {
    const state = store.getState();
    if (!findParticipant(state, m.sender_id)) {
      ctx.toasts.show({ kind: "info", text: `${m.sender_name} is no longer in the meeting.`, duration: 3500 });
      return;
    }
    openTo(m.sender_id);
  }

  /** Address the next message privately to `id` and focus the composer. */
  function openTo(id) {
    const p = findParticipant(store.getState(), id);
    if (!p) return;
    recipient = id;
    recipientName = p.name;
    renderComposer(store.getState(), true);
    input.focus();
  }

  function renderLog(state) {
    const ids = state.chat.map((m) => m.id);
    const wasAtBottom = atBottom();
    const appendOnly = renderedIds.length <= ids.length && renderedIds.every((id, i) => ids[i] === id);
    if (!appendOnly) {
      replaceChildren(log);
      renderedIds = [];
    }
    let ownAdded = false;
    for (let i = renderedIds.length; i < state.chat.length; i++) {
      const m = state.chat[i];
      log.append(messageItem(state, m, state.chat[i - 1]));
      ownAdded ||= isSelf(state, m.sender_id);
    }
    const added = ids.length - renderedIds.length;
    renderedIds = ids;
    emptyState.hidden = ids.length > 0;
    if (!appendOnly || wasAtBottom || ownAdded) scrollToEnd();
    else if (added > 0) jump.hidden = false;
  }

  function render(state, action, prev) {
    if (!prev || prev.chat !== state.chat || prev.selfIds !== state.selfIds) renderLog(state);
    const optionsChanged = !prev || prev.participants !== state.participants || prev.permissions !== state.permissions || prev.you !== state.you;
    renderComposer(state, optionsChanged);
    if (!prev || prev.ui !== state.ui) {
      if (ctx.isChatVisible(state) && (!prev || !ctx.isChatVisible(prev))) {
        // Just opened: show the newest messages.
        requestAnimationFrame(() => scrollToEnd());
      }
    }
  }

  render.openTo = openTo;
  render.focus = () => input.focus();
  return render;
}
