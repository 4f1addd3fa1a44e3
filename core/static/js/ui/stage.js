// The stage: a video tile per person (grid), and when someone shares a screen, that screen as
// a large tile with everyone else in a strip beside it. Tiles are keyed by participant and
// updated in place, so a <video> keeps playing while names, mute icons and highlights change.

import { avatar, h, icon, replaceChildren, roleBadge, setAttr, setText } from "../dom.js";
import { sortedParticipants } from "../store.js";

/** Beyond this many tiles the stage shows "+N more" (the People panel lists everyone). */
const MAX_TILES = 24;
const ASPECT = 16 / 9;
const GAP = 12;
/** Smaller than this and a tile stops being readable: the rest go behind "+N more". */
const MIN_TILE_H = 84;

/** The tile size that fills `width`×`height` best with `n` tiles of ASPECT (classic grid fit). */
export function fitGrid(n, width, height, gap = GAP) {
  let best = { cols: 1, w: 0, h: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * ASPECT);
    // Near-equal sizes: prefer the wider arrangement (side by side reads better than stacked).
    if (w > best.w * 1.04 || (w >= best.w * 0.96 && cols > best.cols)) best = { cols, w: Math.floor(w), h: Math.floor(w / ASPECT) };
  }
  return best;
}

/** A muted, inline <video> showing `stream` (audio plays through the mesh's own elements). */
function videoElement(className) {
  const video = h("video", { class: className, autoplay: true, playsinline: true });
  video.muted = true;
  return video;
}

function attach(video, stream) {
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    if (stream) video.play().catch(() => {});
  }
}

/** What a webinar's stage says under the room's name (null outside webinars). */
function webinarSubtitle(state, n) {
  if (!state.room?.webinar || !state.you) return null;
  if (state.you.viewer) return `Webinar · ${n} people · you’re watching the live stream`;
  if (state.you.on_stage === false) return `Webinar · ${n} people · you’re in the audience: raise your hand to ask to speak`;
  return `Webinar · ${n} people · you’re on stage`;
}

export function mountStage(stage, ctx) {
  const { local, mesh } = ctx;
  const title = h("h2", { class: "stage-title", "data-testid": "stage-title" });
  const subtitle = h("p", { class: "stage-subtitle", "data-testid": "stage-subtitle" });
  const grid = h("ul", { class: "tiles", "data-testid": "stage-tiles", "aria-label": "People in the room" });
  const screens = h("div", { class: "screens", "data-testid": "screens", hidden: true });
  const more = h("button", {
    type: "button",
    class: "tiles-more",
    hidden: true,
    "data-testid": "stage-more",
    on: { click: () => ctx.store.dispatch({ type: "ui/view", view: "participants" }) },
  });
  const gridWrap = h("div", { class: "tiles-wrap" }, grid);
  // Large rooms: the server's composite of the room, one video.
  const compositeVideo = videoElement("composite-video");
  const compositeWait = h("p", { class: "composite-wait", role: "status" }, "Connecting to the room’s video…");
  // Webinar overflow viewers: the room's live stream plays here instead (media/stream.js).
  const streamVideo = ctx.stream?.video || null;
  if (streamVideo) streamVideo.hidden = true;
  const composite = h("div", { class: "composite", "data-testid": "composite", hidden: true }, compositeVideo, streamVideo, compositeWait);
  const panel = h("div", { class: "room-panel", "data-testid": "room-panel" },
    h("header", { class: "stage-head" }, h("div", { class: "stage-head-text" }, title, subtitle), more),
    screens,
    composite,
    gridWrap,
  );
  stage.append(panel);

  let total = 0;
  /** Fit as many rendered tiles as stay readable; hide the rest behind "+N more". */
  const layout = () => {
    const tiles = [...grid.children];
    if (!tiles.length) return;
    const width = gridWrap.clientWidth;
    const height = gridWrap.clientHeight;
    if (ctx.store.getState().ui.layout === "speaker" && tiles.length > 1) {
      speakerLayout(tiles, width, height);
      return;
    }
    let k = tiles.length;
    let fit = fitGrid(k, width, height);
    while (k > 1 && fit.h < MIN_TILE_H) fit = fitGrid(--k, width, height);
    tiles.forEach((tile, i) => { tile.hidden = i >= k; });
    grid.style.setProperty("--cols", String(fit.cols));
    grid.style.setProperty("--tile-w", `${fit.w}px`);
    grid.style.setProperty("--tile-h", `${fit.h}px`);
    const rest = total - k;
    more.hidden = rest <= 0;
    setText(more, rest > 0 ? `+${rest} more` : "");
    setAttr(more, "aria-label", rest > 0, `${rest} more people — show everyone`);
  };
  /** The featured tile as large as fits above one row of the others (which may hide behind "+N more"). */
  const speakerLayout = (tiles, width, height) => {
    const stripH = Math.max(MIN_TILE_H, Math.min(160, Math.floor(height * 0.22)));
    const featureH = Math.max(MIN_TILE_H, Math.min(height - stripH - GAP, Math.floor(width / ASPECT)));
    const rest = tiles.length - 1;
    const fit = Math.max(1, Math.min(rest, Math.floor((width + GAP) / (stripH * ASPECT + GAP))));
    const stripW = Math.floor(Math.min(stripH * ASPECT, (width - GAP * (fit - 1)) / fit));
    tiles.forEach((tile, i) => { tile.hidden = i > fit; });
    grid.style.setProperty("--feature-w", `${Math.floor(featureH * ASPECT)}px`);
    grid.style.setProperty("--feature-h", `${featureH}px`);
    grid.style.setProperty("--strip-w", `${stripW}px`);
    grid.style.setProperty("--strip-h", `${Math.floor(stripW / ASPECT)}px`);
    const hiddenCount = total - 1 - fit;
    more.hidden = hiddenCount <= 0;
    setText(more, hiddenCount > 0 ? `+${hiddenCount} more` : "");
  };
  new ResizeObserver(layout).observe(gridWrap);

  /** participant id → {el, video, avatarHolder, name, status, state} */
  const tiles = new Map();
  /** identity → {el, video} for screen shares */
  const screenTiles = new Map();

  function tileFor(p) {
    let t = tiles.get(p.id);
    if (!t) {
      const video = videoElement("tile-video");
      const avatarHolder = h("div", { class: "tile-avatar" });
      const name = h("span", { class: "tile-name" });
      const badge = h("span", { class: "tile-badge" });
      const status = h("span", { class: "tile-status" });
      const conn = h("span", { class: "tile-conn", hidden: true, "data-testid": "tile-connecting" }, "Connecting…");
      const el = h("li", { class: "tile", "data-testid": "stage-tile", dataset: { participantId: p.id } },
        h("div", { class: "tile-media" }, avatarHolder, video, conn),
        h("div", { class: "tile-label" }, name, badge, status),
      );
      t = { el, video, avatarHolder, name, badge, status, conn, key: "" };
      tiles.set(p.id, t);
    }
    return t;
  }

  function updateTile(state, p) {
    const t = tileFor(p);
    const isYou = p.id === state.you?.id;
    const remote = state.media.remote[p.identity];
    const stream = isYou ? local.stream : mesh.streamsOf(p.identity).camera;
    const videoOn = isYou ? state.media.local.video : Boolean(stream && stream.getVideoTracks().length && !p.video_muted);
    const audioOff = isYou ? !state.media.local.audio : p.audio_muted;
    const speaking = state.media.speaker === p.identity && !audioOff;
    const connecting = !isYou && state.mediaMode === "p2p" && (!remote || remote.connection !== "connected");
    const key = [p.name, p.role, isYou, videoOn, audioOff, speaking, connecting, stream?.id].join("|");
    if (key === t.key) return t.el;
    t.key = key;
    t.el.classList.toggle("tile-you", isYou);
    t.el.classList.toggle("has-video", videoOn);
    t.el.dataset.speaking = String(speaking);
    t.el.dataset.video = videoOn ? "on" : "off";
    setText(t.name, isYou ? `${p.name} (you)` : p.name);
    replaceChildren(t.badge, roleBadge(p.role));
    replaceChildren(t.avatarHolder, avatar(p, "lg"));
    replaceChildren(t.status, audioOff ? icon("micOff", { size: 16, label: "Microphone off" }) : null);
    t.conn.hidden = !connecting;
    t.video.hidden = !videoOn;
    t.video.classList.toggle("is-mirrored", isYou);
    attach(t.video, videoOn ? stream : null);
    return t.el;
  }

  function renderScreens(state) {
    const sharing = state.participants.filter((p) => {
      if (p.id === state.you?.id) return state.media.local.screen;
      return p.screen_sharing && mesh.streamsOf(p.identity).screen;
    });
    const keep = new Set();
    for (const p of sharing) {
      keep.add(p.identity);
      let s = screenTiles.get(p.identity);
      if (!s) {
        const video = videoElement("screen-video");
        const label = h("span", { class: "screen-label" });
        s = { el: h("div", { class: "screen-tile", "data-testid": "screen-tile", dataset: { identity: p.identity } }, video, label), video, label };
        screenTiles.set(p.identity, s);
      }
      const isYou = p.id === state.you?.id;
      setText(s.label, isYou ? "You are presenting" : `${p.name} is presenting`);
      attach(s.video, isYou ? local.screen : mesh.streamsOf(p.identity).screen);
    }
    for (const [identity, s] of screenTiles) {
      if (keep.has(identity)) continue;
      attach(s.video, null);
      screenTiles.delete(identity);
    }
    replaceChildren(screens, [...screenTiles.values()].map((s) => s.el));
    screens.hidden = screenTiles.size === 0;
    panel.classList.toggle("has-screen", screenTiles.size > 0);
  }

  let previous = null;
  return function render(state) {
    const same = previous
      && previous.participants === state.participants && previous.room === state.room && previous.you === state.you
      && previous.media.remote === state.media.remote && previous.media.local === state.media.local
      && previous.media.speaker === state.media.speaker && previous.mediaMode === state.mediaMode
      && previous.media.mcu === state.media.mcu && previous.ui.layout === state.ui.layout;
    previous = state;
    if (same) return;
    setText(title, state.room?.name || "");
    const n = state.participants.length;
    const mcu = state.mediaMode === "mcu";
    setText(subtitle, webinarSubtitle(state, n) || (mcu
      ? `${n} people · large room: everyone’s video is mixed by the server`
      : n === 1 ? "You’re the first one here. Others will appear as they join." : `${n} people in the room`));
    panel.classList.toggle("is-mcu", mcu);
    composite.hidden = !mcu;
    gridWrap.hidden = mcu;
    if (mcu && state.you?.viewer) {
      // The live stream, not a WebRTC connection: hls.js waits for its first segment itself.
      attach(compositeVideo, null);
      compositeVideo.hidden = true;
      if (streamVideo) streamVideo.hidden = false;
      compositeWait.hidden = true;
      screens.hidden = true;
      total = 0;
      more.hidden = true;
      return;
    }
    compositeVideo.hidden = false;
    if (streamVideo) streamVideo.hidden = true;
    if (mcu) {
      attach(compositeVideo, ctx.mcu.composite);
      compositeWait.hidden = state.media.mcu.composite && state.media.mcu.connection === "connected";
      screens.hidden = true;
      total = 0;
      more.hidden = true;
      return;
    }
    attach(compositeVideo, null);
    const people = sortedParticipants(state).slice(0, MAX_TILES);
    const featuring = state.ui.layout === "speaker" && people.length > 1;
    if (featuring) {
      // Featured: the active speaker, else the first person who isn't you.
      const at = Math.max(0, people.findIndex((p) => p.identity === state.media.speaker && p.id !== state.you?.id));
      const featured = at || people.findIndex((p) => p.id !== state.you?.id);
      people.unshift(...people.splice(Math.max(0, featured), 1));
    }
    const ids = new Set(people.map((p) => p.id));
    for (const [id, t] of tiles) {
      if (ids.has(id)) continue;
      attach(t.video, null);
      tiles.delete(id);
    }
    const els = people.map((p) => updateTile(state, p));
    els.forEach((el, i) => el.classList.toggle("is-featured", featuring && i === 0));
    if (els.length !== grid.children.length || els.some((el, i) => grid.children[i] !== el)) replaceChildren(grid, els);
    renderScreens(state);
    total = n;
    layout();
  };
}
