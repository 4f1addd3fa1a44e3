// Turns room events into toasts: server errors, mute requests, lobby knocks, your role changing,
// going on or off a webinar's stage, and (for hosts and moderators) hands going up.

import { errorText } from "../copy.js";
import { ROLE_LABEL } from "../dom.js";
import { can } from "../store.js";

export function mountNotices(ctx) {
  const { toasts, connection } = ctx;

  /** Webinars: you went on or off stage; staff: someone raised their hand. */
  function stageNotice(state, p, prev) {
    const before = prev.participants.find((x) => x.id === p.id);
    if (p.id === state.you?.id && before && before.on_stage !== p.on_stage && state.room?.webinar) {
      const text = p.on_stage
        ? "You’re on stage: your camera and microphone are on. Everyone can see and hear you."
        : "You’re back in the audience: your camera and microphone are off.";
      toasts.show({ kind: "role", text, testid: p.on_stage ? "toast-on-stage" : "toast-off-stage" });
    } else if (p.hand_raised_at && before && !before.hand_raised_at && p.id !== state.you?.id && can(state, "participant.lower_hand")) {
      toasts.show({ kind: "info", text: `${p.name} raised their hand.`, testid: "toast-hand-raised", duration: 5000 });
    }
  }
  /** Knock toasts by participant id, withdrawn once someone has answered. */
  const knocks = new Map();

  return function onAction(state, action, prev) {
    switch (action.type) {
      case "error":
        // A refusal during the handshake is explained by the full-screen state instead.
        if (prev.connection.handshake && !action.ref) return;
        toasts.show({ kind: "error", text: errorText(action), testid: "toast-error", duration: 7000 }).dataset.code = action.code;
        return;
      case "mute.requested": {
        const by = action.by || "A host";
        const what = action.kind === "video" ? "turn off your camera" : "mute your microphone";
        const media = action.kind === "video" ? "video" : "audio";
        if (!ctx.local.isEnabled(media)) return; // already off: nothing to ask
        toasts.show({
          kind: "mute",
          text: `${by} asked you to ${what}.`,
          testid: "toast-mute-request",
          duration: 15000,
          actions: [{
            label: action.kind === "video" ? "Turn off" : "Mute",
            testid: "toast-mute-accept",
            run: () => ctx.local.setEnabled(media, false),
          }],
        });
        return;
      }
      case "lobby.knock":
        if (!can(state, "lobby.admit")) return;
        toasts.remove(knocks.get(action.participant.id));
        knocks.set(action.participant.id, toasts.show({
          kind: "lobby",
          text: `${action.participant.name} is waiting to join.`,
          testid: "toast-lobby-knock",
          duration: 10000,
          actions: [{
            label: "Admit",
            testid: "toast-admit",
            run: () => connection.request("lobby.admit", { participant_id: action.participant.id }).catch(() => {}),
          }],
        }));
        return;
      case "lobby.resolved":
        toasts.remove(knocks.get(action.participant_id));
        knocks.delete(action.participant_id);
        return;
      case "participant.role_changed": {
        if (action.participant_id !== prev.you?.id || action.role === prev.you?.role) return;
        const role = ROLE_LABEL[action.role].toLowerCase();
        const text = action.by ? `${action.by} made you ${role === "attendee" ? "an" : "a"} ${role}.` : `You are now ${role === "attendee" ? "an" : "a"} ${role}.`;
        toasts.show({ kind: "role", text, testid: "toast-role-changed" });
        return;
      }
      case "participant.updated":
        stageNotice(state, action.participant, prev);
        return;
      case "welcome":
        // Back in after a drop: say so briefly (the banner disappears on its own).
        if (prev.phase === "joined" && prev.connection.attempt > 0) {
          toasts.show({ kind: "info", text: "You’re back online.", testid: "toast-reconnected", duration: 3000 });
        }
        return;
      case "client/closed":
      case "client/left":
      case "kicked":
      case "room.ended":
      case "lobby.denied":
        if (state.terminal) toasts.clear();
        return;
      default:
        return;
    }
  };
}
