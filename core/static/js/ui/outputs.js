// Recording and live streaming in the room: a "Recording" / "Live" badge everyone sees, and for
// hosts and moderators (permissions room.record / room.stream) buttons to start and stop them.

import { h, setText } from "../dom.js";
import { can } from "../store.js";

const BADGE = "display:inline-flex;align-items:center;gap:4px;margin-left:8px;padding:1px 8px;border-radius:999px;"
  + "font-size:12px;font-weight:600;color:#fff;background:#dc2626";

export function mountOutputs({ meta, controls }, ctx) {
  const { connection, toasts } = ctx;
  const recording = h("span", { style: BADGE, "data-testid": "recording-indicator", role: "status", hidden: true }, "● Recording");
  const live = h("span", { style: BADGE, "data-testid": "live-indicator", role: "status", hidden: true }, "LIVE");
  meta.append(recording, live);

  const run = (type, payload) =>
    connection.request(type, payload).catch((err) =>
      toasts.show({ kind: "error", text: err?.message || "That did not work.", testid: "toast-error" }));
  const button = (testid, onClick) =>
    h("button", { type: "button", class: "ctrl-btn", "data-testid": testid, hidden: true, on: { click: onClick } });
  const record = button("toggle-recording", () =>
    run(store().outputs?.recording ? "recording.stop" : "recording.start"));
  const stream = button("toggle-live", () =>
    run(store().outputs?.live ? "streaming.stop" : "streaming.start"));
  controls.append(record, stream);
  const store = () => ctx.store.getState();

  return function render(state) {
    const outputs = state.outputs || { recording: false, live: false, outputs: [] };
    const joined = state.phase === "joined";
    recording.hidden = !(joined && outputs.recording);
    live.hidden = !(joined && outputs.live);
    const hls = outputs.outputs.find((o) => o.kind === "hls");
    setText(live, hls && hls.viewers ? `LIVE · ${hls.viewers} watching` : "LIVE");
    record.hidden = !(joined && can(state, "room.record"));
    stream.hidden = !(joined && can(state, "room.stream"));
    setText(record, outputs.recording ? "Stop recording" : "Record");
    setText(stream, outputs.live ? "End live stream" : "Go live");
    record.classList.toggle("is-active", outputs.recording);
    stream.classList.toggle("is-active", outputs.live);
  };
}
