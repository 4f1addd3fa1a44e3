// One RTCPeerConnection to one remote person, negotiated with the "perfect negotiation"
// pattern (W3C WebRTC §10.7): both sides may offer at any time; on a collision the polite
// side rolls back and answers, the impolite side ignores the other's offer. Glare can't
// wedge a pair, and renegotiation (screen share on/off, ICE restart) needs no coordination.

import { inboundStats } from "./stats.js";

/** A disconnected ICE link gets this long to come back on its own before an ICE restart. */
const DISCONNECTED_GRACE_MS = 2500;

export class PeerLink {
  /**
   * @param {{identity: string, participantId: string, polite: boolean, iceServers: RTCIceServer[],
   *          local: import("./local.js").LocalMedia, send: (signal: object) => void,
   *          onRemote: (link: PeerLink) => void, onState: (link: PeerLink) => void,
   *          answerFirst?: boolean}} options
   *
   * `answerFirst`: the other side is making the first offer; our tracks join the transceivers
   * its offer creates (so one round trip sets up both directions, and nobody's offers collide).
   */
  constructor({ identity, participantId, polite, iceServers, local, send, onRemote, onState, answerFirst = false }) {
    this.identity = identity;
    this.participantId = participantId;
    this.polite = polite;
    this.local = local;
    this.sendSignal = send;
    this.onRemote = onRemote;
    this.onState = onState;
    /** The remote page's instance id, learnt from its first signal. */
    this.remoteInstance = null;
    /** Remote stream id → "camera" | "screen", as the remote side declared. */
    this.remoteKinds = new Map();
    this.remote = { camera: null, screen: null };
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.closed = false;
    this.queue = Promise.resolve();
    this.disconnectTimer = null;
    this.senders = { audio: null, video: null, screen: null };

    const pc = (this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" }));
    pc.onnegotiationneeded = () => this.negotiate();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send({ candidate: candidate.toJSON() });
    };
    pc.ontrack = (event) => this.addRemote(event);
    pc.onconnectionstatechange = () => this.connectionChanged();
    this.tracksAdded = false;
    if (!answerFirst) this.syncLocal();
  }

  /** Make the senders match the local tracks (device switch, screen share on/off). */
  syncLocal() {
    if (this.closed) return;
    this.tracksAdded = true;
    const { pc, local } = this;
    for (const media of ["audio", "video"]) {
      const track = local.track(media);
      if (this.senders[media]) {
        if (this.senders[media].track !== track) this.senders[media].replaceTrack(track).catch(() => {});
      } else if (track) {
        this.senders[media] = pc.addTrack(track, local.stream);
      }
    }
    const screenTrack = local.screen?.getVideoTracks()[0] || null;
    if (screenTrack && !this.senders.screen) {
      this.senders.screen = pc.addTrack(screenTrack, local.screen);
    } else if (!screenTrack && this.senders.screen) {
      pc.removeTrack(this.senders.screen);
      this.senders.screen = null;
    }
  }

  streamKinds() {
    const kinds = { [this.local.stream.id]: "camera" };
    if (this.local.screen) kinds[this.local.screen.id] = "screen";
    return kinds;
  }

  send(payload) {
    if (!this.closed) this.sendSignal({ to: this.participantId, ...payload });
  }

  async negotiate() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send({ description: this.pc.localDescription.toJSON(), streams: this.streamKinds() });
    } catch (err) {
      if (!this.closed) console.warn("podium: offer failed", this.identity, err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Handle one relayed signal; signals of a link are applied strictly in order. */
  receive(signal) {
    this.queue = this.queue.then(() => this.apply(signal)).catch((err) => {
      if (!this.closed) console.warn("podium: signal failed", this.identity, err);
    });
    return this.queue;
  }

  async apply({ description, candidate, streams }) {
    if (this.closed) return;
    const { pc } = this;
    if (streams) for (const [id, kind] of Object.entries(streams)) this.remoteKinds.set(id, kind);
    if (description) {
      const readyForOffer = !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === "answer";
      await pc.setRemoteDescription(description); // rolls back our own offer when polite
      this.settingRemoteAnswer = false;
      if (description.type === "offer") {
        if (!this.tracksAdded) this.syncLocal(); // reuses the transceivers the offer just created
        await pc.setLocalDescription();
        this.send({ description: pc.localDescription.toJSON(), streams: this.streamKinds() });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate.candidate ? candidate : null);
      } catch (err) {
        if (!this.ignoreOffer) throw err;
      }
    }
  }

  addRemote({ track, streams }) {
    const stream = streams[0] || new MediaStream([track]);
    const kind = this.remoteKinds.get(stream.id) || (track.kind === "audio" ? "camera" : this.remote.camera && this.remote.camera.id !== stream.id ? "screen" : "camera");
    this.remote[kind] = stream;
    const refresh = () => {
      if (this.remote[kind] === stream && stream.getTracks().length === 0) this.remote[kind] = null;
      this.onRemote(this);
    };
    stream.onremovetrack = refresh;
    track.addEventListener("ended", refresh);
    this.onRemote(this);
  }

  connectionChanged() {
    const state = this.pc.connectionState;
    clearTimeout(this.disconnectTimer);
    if (state === "failed") this.restartIce();
    else if (state === "disconnected") this.disconnectTimer = setTimeout(() => this.restartIce(), DISCONNECTED_GRACE_MS);
    this.onState(this);
  }

  /** New ICE credentials and candidates (after a network change); negotiation follows by itself. */
  restartIce() {
    if (this.closed) return;
    const state = this.pc.connectionState;
    if (state === "connected" || state === "closed") return;
    this.pc.restartIce();
  }

  get connected() {
    return this.pc.connectionState === "connected";
  }

  /** Inbound RTP totals by kind, and audio level, for tests, the SDK and the speaker detector. */
  stats() {
    return inboundStats(this.pc, this.identity, this.participantId);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.remote = { camera: null, screen: null };
  }
}
