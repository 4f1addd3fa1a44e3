// Large rooms: one RTCPeerConnection to the server's MCU. Your microphone and camera go up
// on it; the room comes down as one composite video and one audio mix (everyone but you).
// Active while the room's media mode is "mcu"; the mesh takes over when it is "p2p".

import { inboundStats } from "./stats.js";

const GATHER_TIMEOUT_MS = 3000;
const RETRY_MS = [1000, 2000, 4000, 8000];
// A resize settles (a window drag, a full-screen animation) before the node hears of it.
const RESIZE_SETTLE_MS = 500;
const MAX_HEIGHT = 4320;
/** The composite shows small tiles: sending more than this up is wasted bandwidth. */
const UPLINK_HEIGHT = 360;
const UPLINK_BITRATE = 500_000;

function preferVp8(transceiver) {
  const caps = RTCRtpReceiver.getCapabilities?.("video");
  if (!caps || !transceiver.setCodecPreferences) return;
  const vp8 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp8");
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== "video/vp8");
  transceiver.setCodecPreferences([...vp8, ...rest]);
}

/** The window's height in device pixels: the tallest the composite can be shown (the
 *  protocol's ceiling is 4320, an 8K screen; a taller HiDPI window asks for that). */
function playerHeight() {
  return Math.min(MAX_HEIGHT, Math.round(window.innerHeight * (window.devicePixelRatio || 1))) || undefined;
}

export class McuLink {
  constructor({ store, connection, local, audioSink, canPublish = () => true }) {
    this.store = store;
    /** Whether the next offer sends camera and microphone (false off a webinar's stage). */
    this.canPublish = canPublish;
    this.connection = connection;
    this.local = local;
    this.audioSink = audioSink;
    this.pc = null;
    this.audioEl = null;
    this.composite = null;
    this.enabled = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.sendVideo = true;
    this.senders = { audio: null, video: null, screen: null };
    this.maxHeight = undefined;
    this.resizeTimer = null;
    local.onChange(() => this.syncLocal());
    // A resized or full-screen player asks for the composite tier it can now show.
    window.addEventListener("resize", () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.syncSize(), RESIZE_SETTLE_MS);
    });
    store.subscribe((state, action, prev) => this.onAction(state, action, prev));
  }

  enable() {
    this.enabled = true;
    this.reconcile(this.store.getState());
  }

  onAction(state, action, prev) {
    switch (action.type) {
      case "media.answer":
        this.answered(action.sdp);
        return;
      case "media.failed":
        this.restart(true);
        return;
      case "media.visible":
        this.sendVideo = action.video;
        this.applyVideoActive();
        return;
      case "welcome":
        // A new session (a reconnect): its participant id changed, so the node needs a new offer.
        if (this.pc) this.restart(false);
        break;
      default:
        break;
    }
    if (state.terminal && !prev?.terminal) this.stop();
    else if (state.mediaMode !== prev?.mediaMode || state.phase !== prev?.phase) this.reconcile(state);
  }

  reconcile(state) {
    // A webinar's overflow viewer plays the room's live stream instead (media/stream.js).
    const wanted = this.enabled && !state.terminal && state.phase === "joined" && state.mediaMode === "mcu" && !state.you?.viewer;
    if (wanted && !this.pc) this.start();
    else if (!wanted && this.pc) this.stop();
  }

  async start() {
    clearTimeout(this.retryTimer);
    const state = this.store.getState();
    const pc = (this.pc = new RTCPeerConnection({ iceServers: state.iceServers || [], bundlePolicy: "max-bundle" }));
    if (this.canPublish()) this.addSenders(pc);
    else this.addReceivers(pc);
    pc.ontrack = ({ track, streams }) => this.received(track, streams[0]);
    pc.onconnectionstatechange = () => {
      this.store.dispatch({ type: "media/mcu", connection: pc.connectionState });
      if (pc === this.pc && pc.connectionState === "failed") this.restart(true);
      if (pc.connectionState === "connected") this.attempt = 0;
    };
    this.store.dispatch({ type: "media/mcu", connection: "connecting" });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await this.gathered(pc);
      if (pc !== this.pc) return;
      // The composite is never shown taller than the window: a small embed or a phone asks for
      // the 360p tier however fast its link (the node sends 720p only where it can be seen).
      this.maxHeight = playerHeight();
      await this.connection.request("media.offer", { sdp: pc.localDescription.sdp, max_height: this.maxHeight });
    } catch (err) {
      if (pc !== this.pc) return;
      console.warn("podium: MCU offer failed", err);
      this.restart(true);
    }
  }

  /** Off stage: receive the composite and the mix, send nothing (no device is even open). */
  addReceivers(pc) {
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    this.senders = { audio: null, video: null, screen: null };
  }

  /** Camera and microphone up (sendrecv), and the screen's section, ready for a share. */
  addSenders(pc) {
    const audio = pc.addTransceiver(this.local.track("audio") || "audio", { direction: "sendrecv", streams: [this.local.stream] });
    const camera = this.local.track("video");
    const height = camera?.getSettings().height || UPLINK_HEIGHT;
    const video = pc.addTransceiver(camera || "video", {
      direction: "sendrecv",
      streams: [this.local.stream],
      sendEncodings: [{ maxBitrate: UPLINK_BITRATE, scaleResolutionDownBy: Math.max(1, height / UPLINK_HEIGHT) }],
    });
    preferVp8(video);
    // A second video section for the screen, there from the start so sharing is a replaceTrack
    // (no new offer): the node makes it the composite's content tile while you share.
    const screen = pc.addTransceiver(this.screenTrack() || "video", { direction: "sendonly" });
    preferVp8(screen);
    this.senders = { audio: audio.sender, video: video.sender, screen: screen.sender };
  }

  /** Taken off stage: send nothing more on this connection (the node already decodes none of it,
   *  and a new offer would blank the picture for a moment). The next offer receives only. */
  stopSending() {
    for (const sender of Object.values(this.senders)) sender?.replaceTrack(null).catch(() => {});
    this.senders = { audio: null, video: null, screen: null };
  }

  /** Put on stage (or off the live stream onto a seat): offer again at once, now sending. */
  renegotiate() {
    if (this.pc) this.restart(false);
    else this.reconcile(this.store.getState());
  }

  /** The MCU takes no trickled candidates: the offer carries them all. */
  gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState !== "complete") return;
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_TIMEOUT_MS);
    });
  }

  async answered(sdp) {
    const pc = this.pc;
    if (!pc || pc.signalingState !== "have-local-offer") return;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp });
      this.applyVideoActive();
    } catch (err) {
      console.warn("podium: MCU answer rejected", err);
      this.restart(true);
    }
  }

  received(track, stream) {
    if (track.kind === "video") {
      this.composite = stream || new MediaStream([track]);
      this.store.dispatch({ type: "media/mcu", composite: true });
      return;
    }
    if (!this.audioEl) {
      this.audioEl = document.createElement("audio");
      this.audioEl.autoplay = true;
      this.audioEl.dataset.mcu = "mix";
      this.audioSink.append(this.audioEl);
    }
    this.audioEl.srcObject = new MediaStream([track]);
    this.audioEl.play().catch(() => this.store.dispatch({ type: "media/autoplay-blocked" }));
  }

  syncLocal() {
    if (!this.pc) return;
    for (const media of ["audio", "video", "screen"]) {
      const sender = this.senders[media];
      const track = media === "screen" ? this.screenTrack() : this.local.track(media);
      if (sender && sender.track !== track) sender.replaceTrack(track).catch(() => {});
    }
  }

  screenTrack() {
    return this.local.screen?.getVideoTracks()[0] || null;
  }

  /** Stop sending video while our tile is not on the composite (saves uplink and server decoding). */
  async applyVideoActive() {
    const sender = this.senders.video;
    if (!sender || !this.pc || this.pc.signalingState !== "stable") return;
    const params = sender.getParameters();
    if (!params.encodings?.length || params.encodings[0].active === this.sendVideo) return;
    params.encodings[0].active = this.sendVideo;
    await sender.setParameters(params).catch(() => {});
  }

  syncSize() {
    const height = playerHeight();
    if (!this.pc || height === undefined || height === this.maxHeight) return;
    this.maxHeight = height;
    this.connection.request("media.receive", { max_height: height }).catch(() => {});
  }

  restart(backoff) {
    this.stop(false);
    if (!this.enabled) return;
    const delay = backoff ? RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)] : 0;
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.reconcile(this.store.getState()), delay);
  }

  stop(clearState = true) {
    clearTimeout(this.retryTimer);
    if (this.pc) {
      this.pc.ontrack = this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    this.composite = null;
    if (this.audioEl) {
      this.audioEl.srcObject = null;
      this.audioEl.remove();
      this.audioEl = null;
    }
    if (clearState) this.store.dispatch({ type: "media/mcu", connection: "closed", composite: false });
  }

  /** Same shape as a mesh peer's stats, for tests and the SDK. */
  async stats() {
    return this.pc ? inboundStats(this.pc, "mcu", null) : null;
  }
}
