// The pre-join screen: camera preview, microphone level, device choice, display name, and
// "Join". Nothing is sent to the room until Join; the choices carry into the room.

import { h, icon, replaceChildren, setText } from "../dom.js";

/** The unverified claims of a join token, only to greet the person by name before joining. */
export function peekToken(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(escape(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))));
    const claims = JSON.parse(json);
    return claims && typeof claims === "object" ? claims : {};
  } catch {
    return {};
  }
}

function deviceSelect(testid, label, onPick) {
  const select = h("select", { class: "select", "data-testid": testid, "aria-label": label, on: { change: () => onPick(select.value) } });
  return { select, field: h("label", { class: "field" }, h("span", { class: "field-label" }, label), select) };
}

function fillSelect(select, devices, selected) {
  const options = devices.length ? devices.map((d) => h("option", { value: d.deviceId }, d.label)) : [h("option", { value: "" }, "None found")];
  replaceChildren(select, options);
  select.disabled = devices.length === 0;
  if (selected && devices.some((d) => d.deviceId === selected)) select.value = selected;
}

export function mountPrejoin(root, ctx, { token, onJoin, viewOnly = false }) {
  const { store, local } = ctx;
  const claims = peekToken(token);
  const preview = h("video", { class: "prejoin-video", "data-testid": "prejoin-preview", autoplay: true, playsinline: true, muted: true });
  preview.muted = true;
  const off = h("div", { class: "prejoin-off", hidden: true }, icon("videoOff", { size: 32 }), h("span", {}, "Camera is off"));
  const meter = h("div", { class: "meter", "aria-hidden": "true" }, h("span", { class: "meter-fill" }));
  const micBtn = h("button", { type: "button", class: "round-btn", "data-testid": "prejoin-toggle-mic", on: { click: () => local.toggle("audio") } });
  const camBtn = h("button", { type: "button", class: "round-btn", "data-testid": "prejoin-toggle-camera", on: { click: () => local.toggle("video") } });
  const mic = deviceSelect("prejoin-mic", "Microphone", (id) => local.useDevice("audio", id).catch(showError));
  const cam = deviceSelect("prejoin-camera", "Camera", (id) => local.useDevice("video", id).catch(showError));
  const name = h("input", {
    class: "input",
    "data-testid": "prejoin-name",
    maxlength: "200",
    autocomplete: "name",
    value: claims.name || claims.sub || "",
    "aria-label": "Your name",
  });
  const error = h("p", { class: "prejoin-error", role: "alert", "data-testid": "prejoin-error", hidden: true });
  const join = h("button", { type: "submit", class: "btn btn-primary btn-lg", "data-testid": "prejoin-join" }, viewOnly ? "Join webinar" : "Join meeting");
  // A webinar's attendee joins the audience: no camera or microphone is opened (or asked for).
  const viewer = h("p", { class: "prejoin-viewer", "data-testid": "prejoin-viewer", hidden: !viewOnly },
    "You’re joining as a viewer: you’ll see and hear the speakers, and can chat and raise your hand. "
    + "If a host invites you on stage, your camera and microphone will turn on then.");
  const form = h("form", {
    class: "prejoin-form",
    on: {
      submit: (event) => {
        event.preventDefault();
        if (!name.value.trim()) {
          name.focus();
          return;
        }
        join.disabled = true;
        onJoin({ name: name.value.trim() });
      },
    },
  },
    h("div", { class: "prejoin-heading" },
      h("h2", { class: "prejoin-title", tabindex: "-1" }, "Ready to join?"),
      h("p", { class: "prejoin-room" }, claims.room ? `Room: ${claims.room}` : ""),
    ),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "Your name"), name),
    viewOnly ? viewer : null,
    viewOnly ? null : cam.field,
    viewOnly ? null : mic.field,
    error,
    join,
  );
  root.append(
    h("div", { class: "prejoin-card", "data-testid": "prejoin" },
      viewOnly ? null : h("div", { class: "prejoin-media" }, preview, off, h("div", { class: "prejoin-controls" }, micBtn, meter, camBtn)),
      form,
    ),
  );

  function showError(err) {
    error.hidden = false;
    setText(error, typeof err === "string" ? err : "That device could not be started.");
  }

  // The level meter: a small analyser on the microphone while this screen shows.
  let audioContext = null;
  let analyser = null;
  let raf = 0;
  const level = () => {
    const track = local.track("audio");
    if (track && track.enabled && window.AudioContext) {
      if (!analyser || analyser.track !== track) {
        audioContext ||= new AudioContext();
        analyser = audioContext.createAnalyser();
        analyser.fftSize = 256;
        analyser.track = track;
        audioContext.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      }
      const data = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(data);
      const rms = Math.sqrt(data.reduce((a, v) => a + v * v, 0) / data.length);
      meter.style.setProperty("--level", String(Math.min(1, rms * 6)));
    } else {
      meter.style.setProperty("--level", "0");
    }
    raf = requestAnimationFrame(level);
  };

  let shown = false;
  const render = (state) => {
    root.hidden = !state.ui.prejoin || Boolean(state.terminal);
    if (root.hidden) {
      if (shown) {
        cancelAnimationFrame(raf);
        audioContext?.close().catch(() => {});
        audioContext = analyser = null;
        preview.srcObject = null;
        shown = false;
      }
      return;
    }
    if (!shown) {
      shown = true;
      raf = requestAnimationFrame(level);
      root.querySelector(".prejoin-title")?.focus({ preventScroll: true });
    }
    const { local: flags, devices, error: mediaError } = state.media;
    // A viewer has no preview: a <video> given an empty stream would hold the page's load event.
    if (!viewOnly && preview.srcObject !== local.stream) preview.srcObject = local.stream;
    off.hidden = flags.video;
    preview.hidden = !flags.video;
    for (const [btn, on, has, onIcon, offIcon, what] of [
      [micBtn, flags.audio, flags.hasAudio, "mic", "micOff", "microphone"],
      [camBtn, flags.video, flags.hasVideo, "video", "videoOff", "camera"],
    ]) {
      btn.disabled = !has;
      btn.classList.toggle("is-off", !on);
      btn.setAttribute("aria-pressed", String(on));
      btn.setAttribute("aria-label", on ? `Turn off ${what}` : `Turn on ${what}`);
      replaceChildren(btn, icon(on ? onIcon : offIcon, { size: 20 }));
    }
    if (devices) {
      fillSelect(mic.select, devices.audio, devices.selected.audio);
      fillSelect(cam.select, devices.video, devices.selected.video);
    }
    if (mediaError) showError(`${mediaError} You can still join and listen.`);
  };
  return render;
}
