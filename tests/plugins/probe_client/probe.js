// The probe plugin's client: a marker in the stage overlay showing its welcome state.
export default function setup(api) {
  const el = api.h("div", { class: "probe-marker", "data-testid": "probe-marker" }, `probe says hello to ${api.state?.hello}`);
  api.slot("stage_overlay").append(el);
}
