// The one client-side store of room state. Server messages are dispatched as they arrive
// (`{type: "welcome", …}`); the client adds a few of its own, namespaced `client/…`
// (connection life cycle) and `ui/…` (which panel is open). Every view, and later the
// iframe SDK, reads state from here and observes the same stream of actions.
//
// State is replaced, never mutated, so views can compare slices by reference.

export const RANK = { attendee: 1, moderator: 2, host: 3 };

/** How a session ended, by WebSocket close code (see docs/realtime.md). */
export const TERMINAL_CLOSE = {
  4400: "bad_request",
  4401: "invalid",
  4403: "forbidden",
  4404: "not_found",
  4409: "full",
  4410: "ended",
  4411: "kicked",
  4412: "replaced",
  4413: "denied",
  4429: "throttled",
};

export const initialState = Object.freeze({
  connection: Object.freeze({
    /** idle | connecting | open | reconnecting | closed */
    status: "idle",
    /** Reconnect attempt number (0 while connected). */
    attempt: 0,
    /** When the next reconnect attempt starts (ms since epoch), while waiting. */
    retryAt: null,
    /** Whether a welcome or lobby.waiting has ever arrived on any socket of this page. */
    everJoined: false,
    /** Socket open but neither welcome nor lobby.waiting yet: errors now are refusals. */
    handshake: false,
    /** The refusal the server explained before closing ({code, message}). */
    refusal: null,
  }),
  /** connecting | lobby | joined | ended (any terminal state, see `terminal`). */
  phase: "connecting",
  /** {kind, by, code, reason} once the session is over for good. */
  terminal: null,
  room: null,
  you: null,
  /** Every participant id this page has held (ids change on reconnect). */
  selfIds: Object.freeze([]),
  permissions: Object.freeze([]),
  mediaMode: null,
  /** Joined participants (you included), in server order. */
  participants: Object.freeze([]),
  /** People knocking in the lobby (only known to hosts and moderators). */
  lobby: Object.freeze([]),
  chat: Object.freeze([]),
  /** Plugins enabled in the room: `[{name, actions, client, state}]` as in welcome. */
  plugins: Object.freeze([]),
  /** Recording and live streaming now: `{recording, live, outputs}` (the `outputs` message), or null. */
  outputs: null,
  /** The main room's open breakouts (`breakouts` message), or null. */
  breakouts: null,
  /** A `breakout.move` on its way: `{room: {slug, name, breakout}, token, reason, by}` until the next welcome. */
  moving: null,
  /** STUN/TURN servers from welcome, for peer connections. */
  iceServers: Object.freeze([]),
  /** Webinar overflow viewers: `{stream, playlist}`, the room's HLS stream to play (welcome.watch). */
  watch: null,
  media: Object.freeze({
    /** This page's camera/mic/screen as the peers get them. */
    local: Object.freeze({ audio: false, video: false, screen: false, hasAudio: false, hasVideo: false }),
    /** `{audio: [{deviceId, label}], video: [...], selected: {audio, video}}` once known. */
    devices: null,
    /** Why camera and microphone could not be opened, if neither could. */
    error: null,
    /** identity → {camera, screen, connection}: what arrives from each peer. */
    remote: Object.freeze({}),
    /** The identity of the active speaker, or null. */
    speaker: null,
    /** The browser refused to play sound until the user clicks. */
    autoplayBlocked: false,
    /** MCU rooms: the connection to the server's MCU, and whether the composite arrives. */
    mcu: Object.freeze({ connection: "closed", composite: false }),
  }),
  ui: Object.freeze({
    /** The pre-join screen (camera preview, devices, name) shows until "Join". */
    prejoin: true,
    /** The side panel's tab: participants | chat. */
    tab: "participants",
    /** Narrow screens show one view at a time: stage | participants | chat. */
    view: "stage",
    /** The newest chat id the user has had on screen. */
    lastSeenChatId: null,
    /** The stage layout: grid (everyone alike) | speaker (the active speaker large). */
    layout: "grid",
  }),
});

// ---- helpers ---------------------------------------------------------------------------------------

function upsert(list, item) {
  const i = list.findIndex((p) => p.id === item.id);
  if (i === -1) return [...list, item];
  const copy = list.slice();
  copy[i] = item;
  return copy;
}

const without = (list, id) => (list.some((p) => p.id === id) ? list.filter((p) => p.id !== id) : list);

function mergeChat(current, incoming) {
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

const lastId = (chat) => (chat.length ? chat[chat.length - 1].id : null);

function terminate(state, terminal) {
  // The first explanation wins: `kicked {by}` arrives before its 4411 close.
  if (state.terminal) return state;
  return { ...state, phase: "ended", terminal, connection: { ...state.connection, status: "closed", retryAt: null } };
}

function seated(state, msg, phase) {
  const selfIds = state.selfIds.includes(msg.you.id) ? state.selfIds : [...state.selfIds, msg.you.id];
  return {
    ...state,
    phase,
    room: msg.room,
    you: msg.you,
    selfIds,
    connection: { ...state.connection, attempt: 0, handshake: false, everJoined: true, refusal: null },
  };
}

// ---- reducer ---------------------------------------------------------------------------------------

/** Apply one action (a server message or a client/ui action) to the state. */
export function reduce(state, action) {
  switch (action.type) {
    // -- server → client
    case "welcome": {
      const next = seated(state, action, "joined");
      // Another room (a breakout, or back from one): its own chat, nothing of the last room's.
      const moved = Boolean(state.room && state.room.slug !== action.room.slug);
      const chat = moved ? action.chat || [] : mergeChat(state.chat, action.chat || []);
      const ui = state.ui.lastSeenChatId === null || moved ? { ...state.ui, lastSeenChatId: lastId(action.chat || []) } : state.ui;
      return {
        ...next,
        participants: action.participants || [],
        lobby: action.lobby || [],
        chat,
        permissions: action.permissions || [],
        mediaMode: action.media_mode || null,
        iceServers: action.ice_servers || [],
        plugins: action.plugins || [],
        outputs: action.outputs || null,
        watch: action.watch || null,
        breakouts: action.breakouts || null,
        moving: null,
        media: moved ? { ...state.media, remote: {}, speaker: null } : state.media,
        ui,
      };
    }
    case "breakouts":
      return { ...state, breakouts: action.breakouts || null };
    case "breakout.move":
      return { ...state, moving: { room: action.room, token: action.token, reason: action.reason, by: action.by ?? null } };
    case "lobby.waiting":
      return { ...seated(state, action, "lobby"), participants: [], lobby: [], permissions: [] };
    case "lobby.knock":
      return { ...state, lobby: upsert(state.lobby, action.participant) };
    case "lobby.resolved":
      return { ...state, lobby: without(state.lobby, action.participant_id) };
    case "lobby.denied":
      return terminate(state, { kind: "denied", by: null });
    case "participant.joined":
      return {
        ...state,
        participants: upsert(state.participants, action.participant),
        lobby: without(state.lobby, action.participant.id),
      };
    case "participant.left":
      return { ...state, participants: without(state.participants, action.participant_id) };
    case "participant.updated": {
      const p = action.participant;
      if (!state.participants.some((x) => x.id === p.id) && state.you?.id !== p.id) return state;
      const you = state.you?.id === p.id ? { ...p, role: state.you.role } : state.you;
      return { ...state, you, participants: upsert(state.participants, p) };
    }
    case "participant.role_changed": {
      const { participant_id: id, role } = action;
      const participants = state.participants.map((p) => (p.id === id ? { ...p, role } : p));
      if (state.you?.id !== id) return { ...state, participants };
      const staff = role === "host" || role === "moderator";
      return {
        ...state,
        participants,
        you: { ...state.you, role },
        permissions: action.permissions || [],
        lobby: staff ? state.lobby : [],
      };
    }
    case "chat.message":
      return { ...state, chat: mergeChat(state.chat, [action.message]) };
    case "outputs":
      return { ...state, outputs: { recording: action.recording, live: action.live, outputs: action.outputs || [] } };
    case "plugin.disabled":
      return { ...state, plugins: state.plugins.filter((p) => p.name !== action.plugin) };
    case "plugins.changed":
      return { ...state, plugins: action.plugins || [] };
    case "kicked":
      return terminate(state, { kind: "kicked", by: action.by ?? null });
    case "room.ended":
      return terminate(state, { kind: "ended", by: action.by ?? null });
    case "error":
      if (state.connection.handshake && !action.ref) {
        return { ...state, connection: { ...state.connection, refusal: { code: action.code, message: action.message } } };
      }
      return state;

    // -- connection life cycle (connection.js)
    case "client/moving":
      // The old room closed our socket (4414) and the next one opens: the session goes on.
      return { ...state, phase: "connecting", participants: [], lobby: [], connection: { ...state.connection, status: "connecting", attempt: 0, retryAt: null, handshake: false } };
    case "client/connecting":
      return {
        ...state,
        connection: { ...state.connection, status: action.attempt ? "reconnecting" : "connecting", attempt: action.attempt, retryAt: null, refusal: null },
      };
    case "client/open":
      return { ...state, connection: { ...state.connection, status: "open", handshake: true } };
    case "client/retrying":
      return { ...state, connection: { ...state.connection, status: "reconnecting", attempt: action.attempt, retryAt: action.retryAt, handshake: false } };
    case "client/closed": {
      const kind = TERMINAL_CLOSE[action.code] || (action.code >= 4000 && action.code < 5000 ? "bad_request" : "gave_up");
      return terminate(state, { kind, by: null, code: action.code, reason: action.reason || state.connection.refusal?.code || "" });
    }
    case "client/left":
      return terminate(state, { kind: "left", by: null });
    case "client/restart":
      // A fresh attempt after a terminal state (Rejoin / Try again): keep the chat we saw.
      return {
        ...initialState,
        selfIds: state.selfIds,
        chat: state.chat,
        media: state.media,
        ui: state.ui,
        connection: { ...initialState.connection, everJoined: state.connection.everJoined },
      };

    case "media.mode":
      return { ...state, mediaMode: action.mode };
    case "media.speaker": {
      const who = state.participants.find((p) => p.id === action.participant_id);
      return { ...state, media: { ...state.media, speaker: who ? who.identity : null } };
    }

    // -- media (media/*.js)
    case "media/local":
      return { ...state, media: { ...state.media, local: { audio: action.audio, video: action.video, screen: action.screen, hasAudio: action.hasAudio, hasVideo: action.hasVideo } } };
    case "media/devices":
      return { ...state, media: { ...state.media, devices: action.devices, error: action.error } };
    case "media/remote": {
      const remote = { ...state.media.remote };
      if (action.connection === "closed" && !action.camera && !action.screen) delete remote[action.identity];
      else remote[action.identity] = { camera: action.camera, screen: action.screen, connection: action.connection };
      return { ...state, media: { ...state.media, remote } };
    }
    case "media/speaker":
      return { ...state, media: { ...state.media, speaker: action.identity } };
    case "media/mcu": {
      const mcu = { ...state.media.mcu };
      if (action.connection !== undefined) mcu.connection = action.connection;
      if (action.composite !== undefined) mcu.composite = action.composite;
      return { ...state, media: { ...state.media, mcu } };
    }
    case "media/autoplay-blocked":
      return { ...state, media: { ...state.media, autoplayBlocked: true } };
    case "media/autoplay-resumed":
      return { ...state, media: { ...state.media, autoplayBlocked: false } };

    // -- ui
    case "ui/prejoin-done":
      return { ...state, ui: { ...state.ui, prejoin: false } };
    case "ui/tab":
      return { ...state, ui: { ...state.ui, tab: action.tab, view: action.tab } };
    case "ui/view":
      return { ...state, ui: { ...state.ui, view: action.view, tab: action.view === "stage" ? state.ui.tab : action.view } };
    case "ui/layout":
      return action.layout === state.ui.layout ? state : { ...state, ui: { ...state.ui, layout: action.layout } };
    case "ui/chat-seen":
      return action.id === state.ui.lastSeenChatId ? state : { ...state, ui: { ...state.ui, lastSeenChatId: action.id } };
    default:
      return state;
  }
}

/** A store: `getState()`, `dispatch(action)`, `subscribe(fn(state, action, previous)) → unsubscribe`. */
export function createStore(reducer = reduce, state = initialState) {
  const listeners = new Set();
  let dispatching = false;
  const queue = [];
  return {
    getState: () => state,
    dispatch(action) {
      // Listeners may dispatch; those actions run after the current one has been seen by all.
      queue.push(action);
      if (dispatching) return;
      dispatching = true;
      try {
        while (queue.length) {
          const next = queue.shift();
          const previous = state;
          state = reducer(state, next);
          for (const fn of [...listeners]) {
            try {
              fn(state, next, previous);
            } catch (err) {
              console.error("podium: store listener failed", err);
            }
          }
        }
      } finally {
        dispatching = false;
      }
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

// ---- selectors -------------------------------------------------------------------------------------

export const can = (state, permission) => state.permissions.includes(permission);

export const isStaff = (role) => role === "host" || role === "moderator";

export const isSelf = (state, id) => id != null && state.selfIds.includes(id);

/** Moderation reaches down the ranks only: a host acts on anyone but themselves, a moderator on attendees. */
export function canActOn(you, target) {
  if (!you || !target || you.id === target.id) return false;
  return you.role === "host" || (RANK[you.role] || 0) > (RANK[target.role] || 0);
}

/** Roles `you` may give `target` (never above one's own rank, never the role they have). */
export function assignableRoles(you, target) {
  if (!canActOn(you, target)) return [];
  return ["host", "moderator", "attendee"].filter((r) => RANK[r] <= RANK[you.role] && r !== target.role);
}

/** Participants for display: you first, then by rank, then by arrival. */
export function sortedParticipants(state) {
  const youId = state.you?.id;
  return [...state.participants].sort((a, b) => {
    if (a.id === youId) return -1;
    if (b.id === youId) return 1;
    return (RANK[b.role] || 0) - (RANK[a.role] || 0) || String(a.joined_at).localeCompare(String(b.joined_at));
  });
}

/** Whether this page may publish camera and microphone: off a webinar's stage, or watching its
 *  live stream, it only watches and listens. Everyone publishes outside webinars. */
export const isPublishing = (state) => !state.you || (state.you.on_stage !== false && !state.you.viewer);

/** Participants with a raised hand, first raised first. */
export function raisedHands(state) {
  return state.participants
    .filter((p) => p.hand_raised_at)
    .sort((a, b) => String(a.hand_raised_at).localeCompare(String(b.hand_raised_at)));
}

export const findParticipant = (state, id) => state.participants.find((p) => p.id === id) || null;

/** Chat messages from others the user has not had on screen yet. */
export function unreadCount(state) {
  const seen = state.ui.lastSeenChatId;
  let n = 0;
  for (let i = state.chat.length - 1; i >= 0; i--) {
    const m = state.chat[i];
    if (seen !== null && m.id <= seen) break;
    if (!isSelf(state, m.sender_id)) n++;
  }
  return n;
}
