// Words the page shows for protocol outcomes: end-of-session screens and error codes.

const who = (by) => (by ? by : "a host");

/**
 * The full-screen state for a terminal outcome: {icon, title, body, action}.
 * `action`: "rejoin" (connect again with the same link) or null.
 */
export function terminalScreen(terminal, state) {
  const reason = terminal.reason || "";
  switch (terminal.kind) {
    case "kicked":
      return {
        icon: "userMinus",
        title: `You were removed by ${who(terminal.by)}`,
        body: "If you think this was a mistake, contact the organizer.",
      };
    case "ended":
      return {
        icon: "door",
        title: "The meeting has ended",
        body: terminal.by ? `${terminal.by} ended the meeting for everyone. Thanks for joining.` : "Thanks for joining.",
      };
    case "full":
      if (reason && reason !== "room_full") break;
      return {
        icon: "users",
        title: "The room is full",
        body: state.room?.max_participants
          ? `This meeting has reached its limit of ${state.room.max_participants} people. Try again in a little while.`
          : "This meeting has reached its participant limit. Try again in a little while.",
        action: "retry",
      };
    case "invalid":
      return {
        icon: "lock",
        title: "Your link has expired or is invalid",
        body:
          reason === "token_expired"
            ? "This join link has expired. Ask the organizer for a new one."
            : reason === "token_not_yet_valid"
              ? "This join link isn’t valid yet. Check your device’s clock, or try again shortly."
              : "We couldn’t verify this join link. Ask the organizer for a new one.",
      };
    case "forbidden":
      if (reason === "participant_kicked") {
        return {
          icon: "userMinus",
          title: "You were removed from this meeting",
          body: "This link can’t be used to join again. Ask the organizer for a new one.",
        };
      }
      return {
        icon: "lock",
        title: "This link is for a different room",
        body: "The join link doesn’t match this meeting. Open the exact link you were sent.",
      };
    case "not_found":
      return {
        icon: "alert",
        title: "This meeting doesn’t exist",
        body: "The room may have been deleted, or the link is incomplete.",
      };
    case "replaced":
      return {
        icon: "tabs",
        title: "You joined from another tab",
        body: "You’re in this meeting somewhere else — a different tab, window or device. You can only be in it once.",
        action: "here",
      };
    case "denied":
      return {
        icon: "lock",
        title: "The host declined your request",
        body: "You weren’t let into this meeting. Contact the organizer if you think this is a mistake.",
      };
    case "left":
      return {
        icon: "door",
        title: "You left the meeting",
        body: state.room ? `You left ${state.room.name}.` : "",
        action: "rejoin",
      };
    case "throttled":
      return {
        icon: "lock",
        title: "Too many attempts",
        body: "Too many invalid links were tried from your network. Wait a minute, then try again.",
        action: "retry",
      };
    case "gave_up":
      return {
        icon: "wifiOff",
        title: "Can’t reach the meeting",
        body: "Check your internet connection, then try again.",
        action: "retry",
      };
    default:
      break;
  }
  return {
    icon: "alert",
    title: "Something went wrong",
    body: state.connection.refusal?.message
      ? `The server refused the connection: ${state.connection.refusal.message}.`
      : "This link can’t be used to join. Ask the organizer for a new one.",
  };
}

const ERRORS = {
  rate_limited: "You’re sending messages too quickly. Wait a moment and try again.",
  chat_empty: "Type a message first.",
  recipient_required: "Choose who to send this private message to.",
  participant_not_found: "That person is no longer in the meeting.",
  not_in_lobby: "That person is no longer waiting.",
  invalid_target: "You can’t do that to yourself.",
  forbidden: "You don’t have permission to do that.",
  room_full: "The room is full — no one else can join right now.",
  not_webinar: "Only webinars have a stage: everyone here can already speak.",
  viewer_only: "You’re watching the live stream; a host can invite you on stage.",
  in_lobby: "You can do that once you’ve been let in.",
  internal_error: "Something went wrong on the server. Please try again.",
  frame_too_large: "That was too large to send.",
  not_connected: "You’re offline — reconnecting…",
  timeout: "The server didn’t answer. Please try again.",
};

/** A friendly sentence for an `error` message (falls back to the server's own words). */
export function errorText(error) {
  if (error.code === "chat_too_long") return `That message is too long. ${capitalise(error.message || "")}.`;
  return ERRORS[error.code] || capitalise(error.message || "Something went wrong.");
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
