// The stage: for now a calm room panel with one tile per participant (camera-off look).
// Tiles are laid out like a video grid so the media issue can put <video> inside them.

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

export function mountStage(stage, ctx) {
  const title = h("h2", { class: "stage-title", "data-testid": "stage-title" });
  const subtitle = h("p", { class: "stage-subtitle", "data-testid": "stage-subtitle" });
  const grid = h("ul", { class: "tiles", "data-testid": "stage-tiles", "aria-label": "People in the room" });
  const more = h("button", {
    type: "button",
    class: "tiles-more",
    hidden: true,
    "data-testid": "stage-more",
    on: { click: () => ctx.store.dispatch({ type: "ui/view", view: "participants" }) },
  });
  const gridWrap = h("div", { class: "tiles-wrap" }, grid);
  stage.append(
    h("div", { class: "room-panel", "data-testid": "room-panel" },
      h("header", { class: "stage-head" }, h("div", { class: "stage-head-text" }, title, subtitle), more),
      gridWrap,
    ),
  );

  let total = 0;
  /** Fit as many rendered tiles as stay readable; hide the rest behind "+N more". */
  const layout = () => {
    const tiles = [...grid.children];
    if (!tiles.length) return;
    const width = gridWrap.clientWidth;
    const height = gridWrap.clientHeight;
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
  new ResizeObserver(layout).observe(gridWrap);

  function tile(state, p) {
    const isYou = p.id === state.you?.id;
    const status = h("span", { class: "tile-status" });
    if (p.audio_muted) status.append(icon("micOff", { size: 16, label: "Microphone off" }));
    return h("li", { class: `tile${isYou ? " tile-you" : ""}`, "data-testid": "stage-tile", dataset: { participantId: p.id } },
      h("div", { class: "tile-media" }, avatar(p, "lg")),
      h("div", { class: "tile-label" },
        h("span", { class: "tile-name" }, isYou ? `${p.name} (you)` : p.name),
        roleBadge(p.role),
        status,
      ),
    );
  }

  return function render(state, action, prev) {
    if (prev && prev.participants === state.participants && prev.room === state.room && prev.you === state.you) return;
    setText(title, state.room?.name || "");
    const n = state.participants.length;
    setText(subtitle, n === 1 ? "You’re the first one here. Others will appear as they join." : `${n} people in the room`);
    const people = sortedParticipants(state);
    replaceChildren(grid, people.slice(0, MAX_TILES).map((p) => tile(state, p)));
    total = n;
    layout();
  };
}
