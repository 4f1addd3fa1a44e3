// Entry point of the room page (/r/{tenant}/{room}?token=…): reads the link, opens the
// connection, and renders every view from the one store.

import { RoomConnection, socketUrl } from "./connection.js";
import { LocalMedia } from "./media/local.js";
import { McuLink } from "./media/mcu.js";
import { Publishing, startsViewOnly } from "./media/publishing.js";
import { StreamPlayer } from "./media/stream.js";
import { Mesh } from "./media/mesh.js";
import { SpeakerDetector } from "./media/speaker.js";
import { mountMediaSync } from "./media/sync.js";
import { mountPlugins } from "./plugins.js";
import { embedOrigin, mountEmbedBridge } from "./embed/bridge.js";
import { applyEmbedOptions } from "./embed/options.js";
import { createStore } from "./store.js";
import { mountBreakouts } from "./ui/breakouts.js";
import { mountChat } from "./ui/chat.js";
import { mountControls } from "./ui/controls.js";
import { dismiss } from "./ui/dialog.js";
import { closeMenu } from "./ui/menu.js";
import { mountNotices } from "./ui/notices.js";
import { mountOutputs } from "./ui/outputs.js";
import { mountParticipants } from "./ui/participants.js";
import { mountPrejoin } from "./ui/prejoin.js";
import { mountScreens } from "./ui/screens.js";
import { mountShell } from "./ui/shell.js";
import { mountStage } from "./ui/stage.js";
import { Toasts } from "./ui/toasts.js";

/** `{tenant, room, token}` from the address; the token then leaves the address bar. */
export function readLink(location, history, storage) {
  const [, prefix, tenant, room] = location.pathname.split("/");
  const decode = (s) => {
    try {
      return decodeURIComponent(s || "");
    } catch {
      return "";
    }
  };
  const params = new URLSearchParams(location.search);
  const key = `podium.token:${location.pathname}`;
  let token = params.get("token") || "";
  if (token) {
    params.delete("token");
    const rest = params.toString();
    // Keep the link out of history, screenshots and copy-paste, but survive a reload of this tab.
    history.replaceState(history.state, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
    try {
      storage?.setItem(key, token);
    } catch {
      /* storage may be blocked in third-party iframes */
    }
  } else {
    try {
      token = storage?.getItem(key) || "";
    } catch {
      token = "";
    }
  }
  return { ok: prefix === "r" && Boolean(tenant && room), tenant: decode(tenant), room: decode(room), token };
}

const NARROW = window.matchMedia("(max-width: 719px)");

function main() {
  const $ = (id) => document.getElementById(id);
  // A third-party iframe may not touch storage at all: reading the property throws.
  const storage = (kind) => {
    try {
      return window[kind];
    } catch {
      return null;
    }
  };
  const link = readLink(window.location, window.history, storage("sessionStorage"));
  const store = createStore();
  const connection = new RoomConnection({ url: socketUrl(window.location, link.tenant, link.room, link.token), store });
  const dialog = $("dialog");
  const local = new LocalMedia(store, storage("localStorage"));
  const mesh = new Mesh({ store, connection, local, audioSink: $("audio-sink") });
  // Off a webinar's stage the page publishes nothing; going on stage opens camera and microphone.
  const publishing = new Publishing({
    store,
    local,
    viewOnly: startsViewOnly(document, link.token),
    onChange: (on) => (on ? mcu.renegotiate() : mcu.stopSending()),
  });
  const mcu = new McuLink({ store, connection, local, audioSink: $("audio-sink"), canPublish: () => publishing.allowed() });
  const stream = new StreamPlayer({ store });
  const speaker = new SpeakerDetector({ store, mesh, local });
  const mediaSync = mountMediaSync({ store, connection });
  const options = new URLSearchParams(window.location.search);

  const ctx = {
    store,
    connection,
    local,
    mesh,
    mcu,
    stream,
    dialog,
    toasts: new Toasts($("toasts")),
    isChatVisible: (state) => (NARROW.matches ? state.ui.view === "chat" : state.ui.tab === "chat"),
    openChatTo: (id) => {
      store.dispatch({ type: "ui/tab", tab: "chat" });
      chat.openTo(id);
    },
    closeOverlays: () => {
      closeMenu(false);
      dismiss(dialog);
    },
  };

  const shell = mountShell({
    app: $("app"),
    roomName: $("room-name"),
    conn: $("conn"),
    count: $("room-count"),
    leave: $("leave"),
    tabs: [$("tab-participants"), $("tab-chat")],
    panels: { participants: $("panel-participants"), chat: $("panel-chat") },
    nav: $("bottom-nav"),
    chatBadge: $("tab-chat-badge"),
    peopleCount: $("tab-participants-count"),
  }, ctx);
  const stage = mountStage($("stage"), ctx);
  const people = mountParticipants($("panel-participants"), ctx);
  const chat = mountChat($("panel-chat"), ctx);
  const screens = mountScreens({ screen: $("screen"), banner: $("banner"), app: $("app") }, ctx);
  const controls = mountControls($("controls"), ctx);
  const notices = mountNotices(ctx);
  const outputs = mountOutputs({ meta: $("conn").parentElement, controls: $("controls") }, ctx);
  const breakouts = mountBreakouts({ column: $("stage-column"), controls: $("controls") }, ctx);
  connection.movedTo = () => {
    const move = store.getState().moving;
    return move ? socketUrl(window.location, link.tenant, move.room.slug, move.token) : null;
  };
  const plugins = mountPlugins({
    controls: $("controls"),
    panel: $("plugin-panel"),
    stage: $("plugin-stage"),
    overlay: $("plugin-overlay"),
    column: $("stage-column"),
  }, ctx);

  let opening = Promise.resolve();
  const join = ({ name } = {}) => {
    store.dispatch({ type: "ui/prejoin-done" });
    mediaSync.setName(name);
    connection.start();
    // Joining the room and opening the camera overlap; peers connect once tracks exist.
    opening.finally(() => {
      mesh.enable();
      mcu.enable();
      speaker.start();
    });
  };
  const prejoin = mountPrejoin($("prejoin"), ctx, { token: link.token, onJoin: join, viewOnly: publishing.viewOnly });

  const views = [shell, stage, people, chat, screens, controls, prejoin, plugins, outputs, breakouts];
  const renderAll = (state, action, prev) => {
    for (const view of views) view(state, action, prev);
  };
  store.subscribe((state, action, prev) => {
    renderAll(state, action, prev);
    notices(state, action, prev);
  });
  renderAll(store.getState(), { type: "client/init" }, null);
  NARROW.addEventListener("change", () => renderAll(store.getState(), { type: "client/resize" }, null));

  // For the iframe SDK and browser tests: the store is the page's public state.
  window.podium = Object.freeze({ store, connection, local, mesh, mcu, stream });
  // Embedding: UI options from the link, and the SDK bridge when the server named the embedder.
  const embedded = applyEmbedOptions({ store, options, app: $("app"), mediaSync });
  const sdkOrigin = embedOrigin();
  if (sdkOrigin && window.parent !== window) {
    mountEmbedBridge({ store, connection, local, layout: embedded.layout, origin: sdkOrigin });
  }

  if (!link.ok || !link.token) {
    store.dispatch({ type: "client/closed", code: 4401, reason: link.ok ? "token_missing" : "bad_link" });
    return;
  }
  // Once the session is over for good, the camera light goes off and peers are closed.
  store.subscribe((state, action, prev) => {
    if (state.terminal && !prev.terminal) {
      speaker.stop();
      local.stop();
    }
    if (action.type === "client/restart") {
      publishing.open({ audio: prev.media.local.audio, video: prev.media.local.video });
      speaker.start();
    }
  });
  // A click anywhere resumes sound the browser blocked from autoplaying.
  document.addEventListener("click", () => {
    if (store.getState().media.autoplayBlocked) {
      mesh.resumeAudio();
      mcu.audioEl?.play().catch(() => {});
      if (stream.playlist) stream.video.play().catch(() => {});
      store.dispatch({ type: "media/autoplay-resumed" });
    }
  });
  const startMuted = { audio: options.get("audio") !== "0", video: options.get("video") !== "0" };
  opening = publishing.open(startMuted);
  if (options.get("prejoin") === "0") join();
  window.addEventListener("pagehide", () => {
    if (!store.getState().terminal) connection.leave();
  });
}

main();
