// The control bar under the stage: microphone, camera, screen share, device settings, and raising
// your hand. Off a webinar's stage only the hand is there: nothing is published.

import { h, icon, replaceChildren } from "../dom.js";
import { mediaErrorText } from "../media/local.js";
import { isPublishing } from "../store.js";

function toggleButton(testid, onClick) {
  return h("button", { type: "button", class: "ctrl-btn", "data-testid": testid, "aria-pressed": "false", on: { click: onClick } });
}

function paint(btn, { on, disabled, iconOn, iconOff, labelOn, labelOff, text }) {
  btn.disabled = disabled;
  btn.classList.toggle("is-off", !on);
  btn.setAttribute("aria-pressed", String(on));
  btn.setAttribute("aria-label", on ? labelOn : labelOff);
  btn.title = on ? labelOn : labelOff;
  replaceChildren(btn, icon(on ? iconOn : iconOff, { size: 20 }), h("span", { class: "ctrl-label" }, text));
}

export function mountControls(bar, ctx) {
  const { local, toasts } = ctx;
  const mic = toggleButton("toggle-mic", () => local.toggle("audio"));
  const cam = toggleButton("toggle-camera", () => local.toggle("video"));
  const screen = toggleButton("toggle-screen", async () => {
    if (local.screen) {
      local.stopScreen();
      return;
    }
    try {
      await local.startScreen();
    } catch (err) {
      // Closing the browser's picker is a choice, not an error.
      if (err?.name !== "NotAllowedError" && err?.name !== "AbortError") {
        toasts.show({ kind: "error", text: "Your screen could not be shared.", testid: "toast-error" });
      }
    }
  });
  const settings = h("button", {
    type: "button",
    class: "ctrl-btn",
    "data-testid": "open-settings",
    "aria-label": "Camera and microphone settings",
    title: "Camera and microphone settings",
    on: { click: () => openSettings() },
  }, icon("settings", { size: 20 }), h("span", { class: "ctrl-label" }, "Devices"));
  const canShare = Boolean(navigator.mediaDevices?.getDisplayMedia);
  const hand = h("button", {
    type: "button",
    class: "ctrl-btn",
    "data-testid": "hand-button",
    "aria-pressed": "false",
    on: { click: () => toggleHand() },
  });
  bar.append(mic, cam, canShare ? screen : null, settings, hand);

  function toggleHand() {
    const raised = Boolean(ctx.store.getState().you?.hand_raised_at);
    ctx.connection.request("self.update", { hand_raised: !raised }).catch(() => {}); // errors toast via the store
  }

  async function openSettings() {
    const devices = await local.devices();
    const select = (media, list, label, testid) => {
      const el = h("select", { class: "select", "data-testid": testid, "aria-label": label });
      for (const d of list) el.append(h("option", { value: d.deviceId }, d.label));
      el.value = devices.selected[media] || "";
      el.disabled = !list.length;
      el.addEventListener("change", () =>
        local.useDevice(media, el.value).catch((err) => toasts.show({ kind: "error", text: mediaErrorText(err), testid: "toast-error" })));
      return h("label", { class: "field" }, h("span", { class: "field-label" }, label), el);
    };
    const dialog = ctx.dialog;
    replaceChildren(dialog,
      h("form", { method: "dialog", class: "dialog-form" },
        h("h2", { class: "dialog-title", id: "dialog-title" }, "Camera and microphone"),
        select("video", devices.video, "Camera", "settings-camera"),
        select("audio", devices.audio, "Microphone", "settings-mic"),
        h("div", { class: "dialog-actions" }, h("button", { class: "btn btn-primary", value: "done", "data-testid": "settings-done" }, "Done")),
      ),
    );
    dialog.setAttribute("data-testid", "settings-dialog");
    if (dialog.open) dialog.close("");
    dialog.showModal();
  }

  return function render(state) {
    bar.hidden = state.phase !== "joined";
    const m = state.media.local;
    paint(mic, { on: m.audio, disabled: !m.hasAudio, iconOn: "mic", iconOff: "micOff", labelOn: "Mute microphone", labelOff: "Unmute microphone", text: m.audio ? "Mute" : "Unmute" });
    paint(cam, { on: m.video, disabled: !m.hasVideo, iconOn: "video", iconOff: "videoOff", labelOn: "Turn camera off", labelOff: "Turn camera on", text: m.video ? "Stop video" : "Start video" });
    paint(screen, {
      on: m.screen,
      disabled: !state.mediaMode,
      iconOn: "screen",
      iconOff: "screen",
      labelOn: "Stop sharing your screen",
      labelOff: "Share your screen",
      text: m.screen ? "Stop sharing" : "Share screen",
    });
    screen.classList.toggle("is-off", false);
    screen.classList.toggle("is-active", m.screen);
    // Off stage (a webinar's audience, its stream viewers): nothing to turn on or share.
    const publishing = isPublishing(state);
    for (const btn of [mic, cam, screen, settings]) btn.hidden = !publishing;
    const raised = Boolean(state.you?.hand_raised_at);
    hand.classList.toggle("is-active", raised);
    hand.setAttribute("aria-pressed", String(raised));
    hand.title = raised ? "Lower your hand" : "Raise your hand";
    replaceChildren(hand, icon("hand", { size: 20 }), h("span", { class: "ctrl-label" }, raised ? "Lower hand" : "Raise hand"));
  };
}
