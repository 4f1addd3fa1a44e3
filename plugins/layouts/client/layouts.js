// Layouts: the room's layout (set by a host for everyone) shapes every participant's stage.

import { h } from "/static/js/dom.js";

export default function setup(api) {
  const stage = document.getElementById("stage");
  const select = h("select", { class: "select layouts-select", "data-testid": "layout-select", "aria-label": "Layout for everyone" });
  const wrap = h("label", { class: "layouts-control", title: "Layout for everyone" }, h("span", { class: "ctrl-label" }, "Layout"), select);
  api.slot("toolbar").append(wrap);
  let current = "grid";
  let presenter = null;

  function apply(layout, presenterId) {
    current = layout;
    presenter = presenterId || null;
    stage.dataset.layout = layout;
    document.documentElement.dataset.roomLayout = layout;
    for (const tile of stage.querySelectorAll("[data-participant-id]")) {
      tile.classList.toggle("is-presenter", tile.dataset.participantId === presenterId);
    }
    select.value = layout;
  }

  function reset(state) {
    select.replaceChildren(...(state?.layouts || []).map((l) => h("option", { value: l.name }, l.title)));
    wrap.hidden = !api.can("set");
    apply(state?.layout || "grid", state?.presenter);
  }

  select.addEventListener("change", () => {
    const wanted = select.value;
    api.send("set", { layout: wanted }).catch((err) => {
      select.value = current;
      api.toast(err.message || "The layout could not be changed.", "error");
    });
  });
  api.on("changed", ({ layout, presenter }) => apply(layout, presenter));
  api.on("welcome", reset);
  api.on("role", () => { wrap.hidden = !api.can("set"); });
  reset(api.state);
  // Tiles come and go with people: keep marking the presenter's.
  const unsubscribe = api.store.subscribe((state, action) => {
    if (action.type === "participant.joined" || action.type === "welcome") queueMicrotask(() => apply(current, presenter));
  });
  return () => {
    unsubscribe();
    delete stage.dataset.layout;
  };
}
