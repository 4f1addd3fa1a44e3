// Reactions: emoji buttons in the control bar; everyone's reactions float up over the stage.

import { h } from "/static/js/dom.js";

export default function setup(api) {
  const overlay = api.slot("stage_overlay");
  const picker = h("div", { class: "reactions-picker", "data-testid": "reactions-picker", role: "group", "aria-label": "Reactions" });
  api.slot("toolbar").append(picker);
  let duration = 3000;

  function buttons(state) {
    duration = state?.duration_ms || duration;
    picker.replaceChildren(...(state?.emoji || []).map((emoji) => h("button", {
      type: "button",
      class: "reactions-btn",
      "data-testid": "reaction-button",
      "aria-label": `React with ${emoji}`,
      title: `React with ${emoji}`,
      on: { click: () => api.send("send", { emoji }).catch((err) => api.toast(err.message || "Reaction not sent.", err.code === "rate_limited" ? "info" : "error")) },
    }, emoji)));
  }

  api.on("reaction", ({ emoji, name }) => {
    const bubble = h("div", { class: "reaction-bubble", "data-testid": "reaction-bubble", style: `left: ${10 + Math.random() * 75}%; animation-duration: ${duration}ms` },
      h("span", { class: "reaction-emoji" }, emoji), h("span", { class: "reaction-name" }, name));
    overlay.append(bubble);
    setTimeout(() => bubble.remove(), duration);
  });
  api.on("welcome", buttons);
  buttons(api.state);
}
