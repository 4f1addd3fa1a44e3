// The room page's side of podium-embed.js: store actions become SDK events, SDK commands become
// connection requests or local media calls. The server decides what a role may do: a command
// it refuses comes back to the embedder as a rejected promise with the server's error code.
//
// Only active when the server put <meta name="podium-embed-origin"> in the page, which it does
// only for an origin the tenant allowed. Messages go to exactly that origin, and only messages
// from that origin *and* from the parent window are read.

import { findParticipant, raisedHands } from "../store.js";

export const PROTOCOL = "podium-embed/1";

/** The origin the page may talk to, or null (not embedded through the SDK). */
export function embedOrigin(doc = document) {
  const meta = doc.querySelector('meta[name="podium-embed-origin"]');
  return meta ? meta.content : null;
}

const publicParticipant = (p) =>
  p && {
    id: p.id,
    identity: p.identity,
    name: p.name,
    role: p.role,
    audio_muted: p.audio_muted,
    video_muted: p.video_muted,
    screen_sharing: p.screen_sharing,
    joined_at: p.joined_at,
    on_stage: p.on_stage !== false,
    hand_raised_at: p.hand_raised_at ?? null,
    viewer: Boolean(p.viewer),
  };

const roomInfo = (state) => state.room && { ...state.room, media_mode: state.mediaMode };

/** Store action → [event name, data] for the embedder, or null. */
export function eventFor(action, state, prev) {
  switch (action.type) {
    case "welcome":
      return ["joined", {
        you: publicParticipant(state.you),
        room: state.room,
        participants: state.participants.map(publicParticipant),
        media_mode: state.mediaMode,
        permissions: state.permissions,
      }];
    case "lobby.waiting":
      return ["lobbyWaiting", { you: publicParticipant(state.you), room: state.room }];
    case "participant.joined":
      return ["participantJoined", { participant: publicParticipant(action.participant) }];
    case "participant.left":
      return ["participantLeft", {
        participant_id: action.participant_id,
        reason: action.reason,
        participant: publicParticipant(findParticipant(prev, action.participant_id)),
      }];
    case "participant.updated":
      return ["participantUpdated", { participant: publicParticipant(action.participant) }];
    case "participant.role_changed":
      return ["roleChanged", {
        participant_id: action.participant_id,
        role: action.role,
        by: action.by ?? null,
        you: state.you?.id === action.participant_id,
      }];
    case "chat.message":
      return ["chatMessage", { message: action.message }];
    case "mute.requested":
      return ["muteRequested", { kind: action.kind, by: action.by ?? null }];
    case "kicked":
      return ["kicked", { by: action.by ?? null }];
    case "room.ended":
      return ["roomEnded", { by: action.by ?? null }];
    case "plugin.event":
      return ["pluginEvent", { plugin: action.plugin, event: action.event, data: action.data ?? null }];
    case "plugin.disabled":
      return ["pluginDisabled", { plugin: action.plugin, reason: action.reason }];
    case "breakouts":
      return ["breakoutsChanged", { breakouts: action.breakouts ?? null }];
    case "breakout.move":
      // The token stays in the page: the embedder learns where, not how.
      return ["breakoutMove", { room: action.room, reason: action.reason, by: action.by ?? null }];
    case "breakouts.message":
      return ["breakoutMessage", { by: action.by, text: action.text, sent_at: action.sent_at }];
    case "error":
      // Refusals of the bridge's own commands reject their promise instead.
      return action.ref ? null : ["error", { code: action.code, message: action.message }];
    default:
      break;
  }
  return null;
}

/** `outputs` (in welcome and on every change) → recordingStatusChanged / streamingStatusChanged. */
function outputsWatcher(emit) {
  let recording = false;
  let live = false;
  return (outputs) => {
    if (!outputs) return;
    const items = outputs.outputs || [];
    if (outputs.recording !== recording) {
      recording = outputs.recording;
      emit("recordingStatusChanged", { recording, outputs: items.filter((o) => o.kind === "recording") });
    }
    const streams = items.filter((o) => o.kind !== "recording");
    if (outputs.live !== live) {
      live = outputs.live;
      emit("streamingStatusChanged", { live, outputs: streams });
    }
  };
}

export function mountEmbedBridge({ store, connection, local, layout, origin, parent = window.parent, win = window }) {
  const post = (message) => parent.postMessage({ protocol: PROTOCOL, ...message }, origin);
  const emit = (event, data) => post({ kind: "event", event, data });
  const outputs = outputsWatcher(emit);

  // ---- events ----------------------------------------------------------------------------------------
  store.subscribe((state, action, prev) => {
    const mapped = eventFor(action, state, prev);
    if (mapped) emit(...mapped);
    if (action.type === "outputs") outputs(action);
    if (action.type === "welcome") outputs(action.outputs);
    if (state.mediaMode !== prev.mediaMode && state.mediaMode && prev.mediaMode) {
      emit("mediaModeChanged", { mode: state.mediaMode });
    }
    if (state.media.speaker !== prev.media.speaker) {
      const who = state.participants.find((p) => p.identity === state.media.speaker);
      emit("dominantSpeakerChanged", { participant_id: who?.id ?? null, identity: state.media.speaker });
    }
    const m = state.media.local;
    const p = prev.media.local;
    if (m.audio !== p.audio || m.video !== p.video || m.screen !== p.screen) {
      emit("localMediaChanged", { audio: m.audio, video: m.video, screen: m.screen });
    }
    if (action.type === "participant.updated") stageEvents(state, prev, action.participant);
    if (state.terminal && !prev.terminal) {
      emit("left", { reason: state.terminal.kind, by: state.terminal.by ?? null, code: state.terminal.reason || null });
    }
  });

  /** Webinars' stage and everyone's hand, as events of their own (participantUpdated has both too). */
  function stageEvents(state, prev, p) {
    const before = findParticipant(prev, p.id) || (prev.you?.id === p.id ? prev.you : null);
    if (!before) return;
    const you = state.you?.id === p.id;
    if ((before.on_stage !== false) !== (p.on_stage !== false) || Boolean(before.viewer) !== Boolean(p.viewer)) {
      emit("stageChanged", { participant: publicParticipant(p), on_stage: p.on_stage !== false, you });
    }
    if (Boolean(before.hand_raised_at) !== Boolean(p.hand_raised_at)) {
      emit("handChanged", { participant: publicParticipant(p), raised: Boolean(p.hand_raised_at), you });
    }
  }

  // ---- commands --------------------------------------------------------------------------------------
  const request = async (type, payload) => {
    const reply = await connection.request(type, payload);
    return reply?.id ?? null;
  };
  const need = (value, what) => {
    if (value === undefined || value === null || value === "") throw { code: "invalid_arguments", message: `${what} is required` };
    return value;
  };
  const setMuted = (media, muted) => {
    local.setEnabled(media, !muted);
    return { muted: !local.isEnabled(media) };
  };
  const commands = {
    toggleAudio: () => ({ muted: !local.toggle("audio") }),
    toggleVideo: () => ({ muted: !local.toggle("video") }),
    setAudioMuted: ({ muted }) => setMuted("audio", Boolean(muted)),
    setVideoMuted: ({ muted }) => setMuted("video", Boolean(muted)),
    startScreenShare: async () => {
      await local.startScreen();
      return { screen: true };
    },
    stopScreenShare: () => {
      local.stopScreen();
      return { screen: false };
    },
    setDisplayName: async ({ name }) => {
      await request("self.update", { name: need(name, "name") });
      return { name };
    },
    sendChatMessage: async ({ text, options = {} }) => {
      const payload = { text: need(text, "text"), to: options.to || "everyone" };
      if (options.recipient) payload.recipient = options.recipient;
      return { id: await request("chat.send", payload) };
    },
    kickParticipant: async ({ participantId }) => {
      await request("participant.kick", { participant_id: need(participantId, "participantId") });
    },
    askToMute: async ({ participantId, kind = "audio" }) => {
      await request("participant.ask_mute", { participant_id: need(participantId, "participantId"), kind });
    },
    muteEveryone: async ({ kind = "audio" }) => {
      // One ask per participant; the server checks each against the rank rules.
      const state = store.getState();
      const others = state.participants.filter((p) => p.id !== state.you?.id && !(kind === "video" ? p.video_muted : p.audio_muted));
      const results = await Promise.allSettled(others.map((p) => request("participant.ask_mute", { participant_id: p.id, kind })));
      const asked = results.filter((r) => r.status === "fulfilled").length;
      const refused = results.find((r) => r.status === "rejected");
      if (others.length && !asked && refused) throw refused.reason;
      return { asked, skipped: results.length - asked };
    },
    setRole: async ({ participantId, role }) => {
      await request("participant.set_role", { participant_id: need(participantId, "participantId"), role: need(role, "role") });
    },
    admit: async ({ participantId }) => {
      await request("lobby.admit", { participant_id: need(participantId, "participantId") });
    },
    deny: async ({ participantId }) => {
      await request("lobby.deny", { participant_id: need(participantId, "participantId") });
    },
    setLayout: ({ layout: name }) => ({ layout: layout.set(need(name, "layout")) }),
    // Sent as room commands; a server without recording or streaming answers `unknown_type`.
    startRecording: async ({ options = {} }) => ({ id: await request("recording.start", options) }),
    stopRecording: async () => ({ id: await request("recording.stop", {}) }),
    startStreaming: async ({ options = {} }) => ({ id: await request("streaming.start", options) }),
    stopStreaming: async ({ options = {} }) => ({ id: await request("streaming.stop", options) }),
    raiseHand: async () => {
      await request("self.update", { hand_raised: true });
      return { raised: true };
    },
    lowerHand: async ({ participantId }) => {
      // Your own hand, or (hosts and moderators) someone else's.
      if (participantId && participantId !== store.getState().you?.id) {
        await request("participant.lower_hand", { participant_id: participantId });
      } else {
        await request("self.update", { hand_raised: false });
      }
      return { raised: false };
    },
    setStage: async ({ participantId, onStage }) => {
      if (typeof onStage !== "boolean") throw { code: "invalid_arguments", message: "onStage must be true or false" };
      await request("participant.stage", { participant_id: need(participantId, "participantId"), on_stage: onStage });
      return { on_stage: onStage };
    },
    getRaisedHands: () => raisedHands(store.getState()).map(publicParticipant),
    pluginCommand: async ({ plugin, action, data = null }) => ({
      id: await request("plugin", { plugin: need(plugin, "plugin"), action: need(action, "action"), data }),
    }),
    openBreakouts: async ({ options = {} }) => {
      await request("breakouts.open", { count: 2, ...options });
      return store.getState().breakouts;
    },
    closeBreakouts: async () => {
      await request("breakouts.close", {});
    },
    assignBreakout: async ({ participantId, breakout }) => {
      await request("breakouts.assign", { participant_id: need(participantId, "participantId"), breakout: need(breakout, "breakout") });
    },
    broadcastToBreakouts: async ({ text }) => {
      await request("breakouts.broadcast", { text: need(text, "text") });
    },
    joinBreakout: async ({ breakout }) => {
      await request("breakout.join", { breakout: need(breakout, "breakout") });
    },
    getBreakouts: () => store.getState().breakouts,
    hangUp: () => {
      connection.leave();
    },
    endMeeting: async () => {
      await request("room.end", {});
    },
    getParticipants: () => store.getState().participants.map(publicParticipant),
    getRoomInfo: () => roomInfo(store.getState()),
    getMediaMode: () => store.getState().mediaMode,
    getLocalMedia: () => {
      const m = store.getState().media.local;
      return { audio: m.audio, video: m.video, screen: m.screen, hasAudio: m.hasAudio, hasVideo: m.hasVideo };
    },
  };

  win.addEventListener("message", async (event) => {
    if (event.origin !== origin || event.source !== parent) return;
    const msg = event.data;
    if (!msg || msg.protocol !== PROTOCOL || msg.kind !== "command" || typeof msg.id !== "string") return;
    const reply = (ok, body) => post({ kind: "result", id: msg.id, ok, ...body });
    const handler = Object.prototype.hasOwnProperty.call(commands, msg.name) ? commands[msg.name] : null;
    if (!handler) {
      reply(false, { error: { code: "unknown_command", message: `no command ${String(msg.name)}` } });
      return;
    }
    try {
      const result = await handler(msg.args && typeof msg.args === "object" ? msg.args : {});
      reply(true, { result: result ?? null });
    } catch (err) {
      reply(false, { error: { code: err?.code || "failed", message: err?.message || String(err) } });
    }
  });

  emit("ready", { protocol: PROTOCOL, commands: Object.keys(commands) });
  return { emit };
}
