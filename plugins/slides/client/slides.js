// Slides in the browser: presenters upload a PDF and turn its pages; everyone's stage follows.

import { h, replaceChildren } from "/static/js/dom.js";

export default function setup(api) {
  let current = null;
  // The page this presenter last asked for, until the room shows it: quick clicks (or keys)
  // each turn one more page instead of all asking for the page after the one on screen.
  let target = null;
  /** deck id → deck (hosts and moderators only) */
  const decks = new Map();
  let limits = { max_upload_mb: 20, max_pages: 100 };

  // ---- the stage: the current page, and the presenter's page controls
  const image = h("img", { class: "slides-image", "data-testid": "slide-image", alt: "" });
  const counter = h("span", { class: "slides-counter", "data-testid": "slide-counter" });
  const prev = h("button", { type: "button", class: "btn", "data-testid": "slide-prev", "aria-label": "Previous page", on: { click: () => turn(-1) } }, "‹");
  const next = h("button", { type: "button", class: "btn", "data-testid": "slide-next", "aria-label": "Next page", on: { click: () => turn(1) } }, "›");
  const stop = h("button", { type: "button", class: "btn btn-ghost", "data-testid": "slide-stop", on: { click: () => api.send("stop").catch(fail) } }, "Stop presenting");
  const controls = h("div", { class: "slides-controls" }, prev, counter, next, stop);
  const caption = h("p", { class: "slides-caption", "data-testid": "slide-caption" });
  const bar = h("figcaption", { class: "slides-bar" }, caption, controls);
  const figure = h("figure", { class: "slides-stage", "data-testid": "slides-stage" }, image, bar);
  api.slot("stage_content").append(figure);
  // In MCU rooms the slide is a tile of the composite everyone receives (and recordings keep):
  // the browser then shows only the caption and the presenter's controls, over the stage.
  const overlay = h("div", { class: "slides-overlay", "data-testid": "slides-overlay", hidden: true });
  api.slot("stage_overlay").append(overlay);

  // ---- the panel (presenters): upload and pick a deck
  const file = h("input", { type: "file", accept: "application/pdf,.pdf", "data-testid": "slides-file", "aria-label": "PDF to upload" });
  const uploadError = h("p", { class: "slides-error", role: "alert", "data-testid": "slides-error", hidden: true });
  const hint = h("p", { class: "slides-hint" });
  const list = h("ul", { class: "slides-decks", "data-testid": "slides-decks" });
  let panelBody = null;

  function fail(err) {
    api.toast(err?.message || "That did not work.", "error");
  }

  function turn(step) {
    if (!current) return;
    const page = (target ?? current.page) + step;
    if (page < 1 || page > current.pages) return;
    target = page;
    api.send("page", { page }).catch((err) => {
      target = null;
      fail(err);
    });
  }

  async function upload() {
    const pdf = file.files?.[0];
    if (!pdf) return;
    uploadError.hidden = true;
    if (pdf.size > limits.max_upload_mb * 1024 * 1024) {
      uploadError.textContent = `PDFs are limited to ${limits.max_upload_mb} MiB; this one is ${(pdf.size / 1048576).toFixed(1)} MiB.`;
      uploadError.hidden = false;
      return;
    }
    const room = api.store.getState().room;
    const url = `/api/v1/plugins/slides/${encodeURIComponent(room.tenant)}/${encodeURIComponent(room.slug)}/decks?name=${encodeURIComponent(pdf.name)}`;
    const response = await fetch(url, { method: "POST", headers: { ...api.authHeaders(), "Content-Type": "application/pdf" }, body: pdf });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      uploadError.textContent = body?.error?.message || `Upload failed (${response.status}).`;
      uploadError.hidden = false;
    }
    file.value = "";
  }
  file.addEventListener("change", () => upload().catch(fail));

  function deckRow(deck) {
    const ready = deck.status === "ready";
    return h("li", { class: "slides-deck", "data-testid": "slides-deck", dataset: { status: deck.status } },
      h("span", { class: "slides-deck-name" }, deck.name),
      h("span", { class: "slides-deck-meta" }, `${deck.pages} pages · ${ready ? "ready" : deck.status === "failed" ? "could not be rendered" : "rendering…"}`),
      h("button", { type: "button", class: "btn btn-primary", disabled: !ready, "data-testid": "slides-present", on: { click: () => api.send("present", { deck_id: deck.id }).catch(fail) } }, "Present"));
  }

  function renderPanel() {
    if (!api.can("present")) return;
    if (!panelBody) {
      panelBody = api.slot("side_panel");
      api.button({ label: "Slides", icon: "🖼️", panel: true, testid: "slides-button" });
      panelBody.append(h("label", { class: "slides-upload" }, h("span", {}, "Upload a PDF"), file), hint, uploadError, list);
    }
    hint.textContent = `Up to ${limits.max_upload_mb} MiB and ${limits.max_pages} pages.`;
    replaceChildren(list, [...decks.values()].map(deckRow));
  }

  function renderStage() {
    const composite = api.mediaMode() === "mcu";
    api.showStage(Boolean(current) && !composite);
    overlay.hidden = !current || !composite;
    if (composite && bar.parentNode !== overlay) overlay.append(bar);
    if (!composite && bar.parentNode !== figure) figure.append(bar);
    if (!current) return;
    if (!composite && image.getAttribute("src") !== current.url) image.src = current.url;
    image.alt = `${current.name}, page ${current.page} of ${current.pages}`;
    counter.textContent = `${current.page} / ${current.pages}`;
    caption.textContent = `${current.presenter} is presenting ${current.name}`;
    const presenter = api.can("page");
    controls.hidden = !presenter;
    prev.disabled = current.page <= 1;
    next.disabled = current.page >= current.pages;
  }

  function reset(state) {
    current = state?.current || null;
    target = null;
    decks.clear();
    for (const d of state?.decks || []) decks.set(d.id, d);
    if (state?.max_upload_mb) limits = { max_upload_mb: state.max_upload_mb, max_pages: state.max_pages };
    renderPanel();
    renderStage();
  }

  const onKey = (event) => {
    if (!current || !api.can("page") || event.target.closest?.("input, textarea, select")) return;
    if (event.key === "ArrowRight" || event.key === "PageDown") turn(1);
    if (event.key === "ArrowLeft" || event.key === "PageUp") turn(-1);
  };
  document.addEventListener("keydown", onKey);

  api.on("slide", (slide) => {
    if (!slide || slide.page === target || slide.deck_id !== current?.deck_id) target = null;
    current = slide;
    renderStage();
  });
  api.on("deck", (deck) => {
    decks.set(deck.id, deck);
    renderPanel();
    if (deck.status === "ready") api.toast(`${deck.name} is ready to present.`);
  });
  api.on("welcome", reset);
  api.on("role", () => { renderPanel(); renderStage(); });
  api.on("media", renderStage);
  reset(api.state);
  return () => document.removeEventListener("keydown", onKey);
}
