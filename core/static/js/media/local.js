// This page's own camera, microphone and screen share. Mute is `track.enabled = false` (the
// peers keep their connection and get silence/black), so unmuting is instant; the room is
// told the state through `self.update` (see media/sync.js). Device switches replace the
// track in place and tell listeners, so peer connections swap it without renegotiating.

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24, max: 30 } };
const PREFS_KEY = "podium.devices";

/** Why the camera or microphone could not be opened, in words a person can act on. */
export function mediaErrorText(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Podium isn’t allowed to use your camera or microphone. Allow it in the browser’s address bar, then try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera or microphone was found.";
    case "NotReadableError":
      return "Your camera or microphone is in use by another application.";
    default:
      return "Your camera or microphone could not be started.";
  }
}

function loadPrefs(storage) {
  try {
    return JSON.parse(storage?.getItem(PREFS_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

export class LocalMedia {
  constructor(store, storage = window.localStorage) {
    this.store = store;
    this.storage = storage;
    /** Camera and microphone tracks, in one stream (its id tells peers "camera"). */
    this.stream = new MediaStream();
    /** The screen share, its own stream (its id tells peers "screen"). */
    this.screen = null;
    const prefs = loadPrefs(storage);
    this.deviceIds = { audio: prefs.audio || "", video: prefs.video || "" };
    this.listeners = new Set();
  }

  /** `fn(event)` for `{kind: "track", media: "audio"|"video", track}` and `{kind: "screen", stream|null}`. */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  track(media) {
    return (media === "audio" ? this.stream.getAudioTracks() : this.stream.getVideoTracks())[0] || null;
  }

  /** Open camera and microphone (each optional); failures are reported, never thrown. */
  async start({ audio = true, video = true } = {}) {
    const errors = [];
    for (const media of ["audio", "video"]) {
      const wanted = media === "audio" ? audio : video;
      if (!this.track(media)) {
        try {
          await this.open(media);
        } catch (err) {
          errors.push(err);
        }
      }
      this.setEnabled(media, wanted);
    }
    const error = errors.length && !this.track("audio") && !this.track("video") ? mediaErrorText(errors[0]) : null;
    this.store.dispatch({ type: "media/devices", devices: await this.devices(), error });
    return this.stream;
  }

  async open(media, deviceId = this.deviceIds[media]) {
    const constraints = media === "audio"
      ? { audio: deviceId ? { deviceId: { exact: deviceId } } : true }
      : { video: deviceId ? { ...VIDEO, deviceId: { exact: deviceId } } : VIDEO };
    let got;
    try {
      got = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      // A remembered device that is gone: fall back to the default one.
      if (!deviceId || err?.name !== "OverconstrainedError") throw err;
      got = await navigator.mediaDevices.getUserMedia({ [media]: media === "video" ? VIDEO : true });
    }
    const track = media === "audio" ? got.getAudioTracks()[0] : got.getVideoTracks()[0];
    const old = this.track(media);
    if (old) {
      track.enabled = old.enabled;
      this.stream.removeTrack(old);
      old.stop();
    }
    if (media === "video") track.contentHint = "motion";
    this.stream.addTrack(track);
    this.deviceIds[media] = track.getSettings().deviceId || deviceId || "";
    this.emit({ kind: "track", media, track });
    return track;
  }

  /** Switch to another camera or microphone, keeping its on/off state. */
  async useDevice(media, deviceId) {
    const wasOn = this.isEnabled(media);
    await this.open(media, deviceId);
    this.setEnabled(media, wasOn);
    try {
      this.storage?.setItem(PREFS_KEY, JSON.stringify(this.deviceIds));
    } catch {
      /* storage may be blocked in third-party iframes */
    }
    this.store.dispatch({ type: "media/devices", devices: await this.devices(), error: null });
  }

  /** `{audio: [{deviceId, label}], video: [...], selected: {audio, video}}` */
  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    const pick = (kind, noun) =>
      all.filter((d) => d.kind === kind && d.deviceId).map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${noun} ${i + 1}` }));
    return {
      audio: pick("audioinput", "Microphone"),
      video: pick("videoinput", "Camera"),
      selected: { ...this.deviceIds },
    };
  }

  isEnabled(media) {
    const track = this.track(media);
    return Boolean(track && track.enabled && track.readyState === "live");
  }

  setEnabled(media, on) {
    const track = this.track(media);
    if (track) track.enabled = Boolean(on);
    this.publishState();
  }

  toggle(media) {
    this.setEnabled(media, !this.isEnabled(media));
    return this.isEnabled(media);
  }

  async startScreen() {
    if (this.screen) return this.screen;
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const [track] = stream.getVideoTracks();
    track.contentHint = "detail";
    // The browser's own "Stop sharing" bar ends the track.
    track.addEventListener("ended", () => this.stopScreen());
    this.screen = stream;
    this.emit({ kind: "screen", stream });
    this.publishState();
    return stream;
  }

  stopScreen() {
    if (!this.screen) return;
    for (const track of this.screen.getTracks()) track.stop();
    this.screen = null;
    this.emit({ kind: "screen", stream: null });
    this.publishState();
  }

  /** Release every device (leaving, kicked, ended): the camera light goes off. */
  stop() {
    this.stopScreen();
    for (const track of this.stream.getTracks()) {
      track.stop();
      this.stream.removeTrack(track);
    }
    this.publishState();
  }

  publishState() {
    this.store.dispatch({
      type: "media/local",
      audio: this.isEnabled("audio"),
      video: this.isEnabled("video"),
      screen: Boolean(this.screen),
      hasAudio: Boolean(this.track("audio")),
      hasVideo: Boolean(this.track("video")),
    });
  }

  emit(event) {
    for (const fn of [...this.listeners]) {
      try {
        fn(event);
      } catch (err) {
        console.error("podium: local media listener failed", err);
      }
    }
  }
}
