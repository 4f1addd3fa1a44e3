// The peer-to-peer mesh: one PeerLink per other person in a p2p room, kept in step with the
// store. Links are keyed by *identity*, not participant id: a participant id changes when a
// WebSocket reconnects, but the peer connection (media flows browser to browser) survives it.
//
// Every signal carries the sending link's `instance` ("<page id>:<generation>") and, once known,
// the receiving link's (`to_instance`). A signal addressed to a link we have since replaced is
// stale and ignored; a signal from a new instance means the other side reloaded or started
// over (a link that never came up is recreated), so our side of the old connection is dead
// and we start a fresh one. Recovery therefore can't ping-pong.

import { PeerLink } from "./peer.js";

/** How long a link outlives its person's disappearance from the room (a reconnect, usually). */
const ABSENT_GRACE_MS = 10000;
/** Leave reasons that mean "gone on purpose": the link closes at once. */
const FINAL_REASONS = new Set(["left", "kicked", "ended", "denied"]);
/** Signals from a participant this page doesn't know yet wait this long for its `joined`. */
const EARLY_SIGNAL_MS = 5000;
/** A link not connected after this long starts over (signals lost in a reconnect, say). */
const STUCK_MS = 8000;


export class Mesh {
  /** @param {{store: any, connection: any, local: import("./local.js").LocalMedia, audioSink: HTMLElement}} options */
  constructor({ store, connection, local, audioSink }) {
    this.store = store;
    this.connection = connection;
    this.local = local;
    this.audioSink = audioSink;
    this.instance = crypto.randomUUID();
    /** identity → PeerLink */
    this.links = new Map();
    /** identity → timer closing an absent person's link */
    this.absent = new Map();
    /** identity → <audio> playing that person's microphone */
    this.audio = new Map();
    this.early = [];
    /** identity → our latest link generation */
    this.gens = new Map();
    this.enabled = false;
    this.watchdog = null;
    local.onChange(() => {
      for (const link of this.links.values()) link.syncLocal();
    });
    store.subscribe((state, action, prev) => this.onAction(state, action, prev));
  }

  /** Start connecting to peers (after the pre-join screen). */
  enable() {
    this.enabled = true;
    this.watchdog ||= setInterval(() => this.unstick(), 2000);
    this.reconcile(this.store.getState());
  }

  /** Start over links that never came up (their signals were lost or went to a stale id). */
  unstick() {
    const state = this.store.getState();
    const now = Date.now();
    for (const link of [...this.links.values()]) {
      if (!link.connected && !this.absent.has(link.identity) && now - link.createdAt > STUCK_MS) this.restart(state, link);
    }
  }

  restart(state, link) {
    const participant = state.participants.find((p) => p.identity === link.identity);
    this.drop(link.identity);
    if (participant && state.phase === "joined" && state.mediaMode === "p2p") this.open(state, participant);
  }

  onAction(state, action, prev) {
    if (action.type === "rtc.signal") {
      this.onSignal(state, action);
      return;
    }
    if (action.type === "participant.left" && FINAL_REASONS.has(action.reason)) {
      const gone = prev.participants.find((p) => p.id === action.participant_id);
      const back = gone && state.participants.some((p) => p.identity === gone.identity);
      if (gone && !back) this.drop(gone.identity);
    }
    if (state.terminal) {
      if (!prev?.terminal) this.closeAll();
      return;
    }
    if (state.participants !== prev?.participants || state.mediaMode !== prev?.mediaMode || state.phase !== prev?.phase) {
      this.reconcile(state);
    }
    if (action.type === "welcome" && prev?.connection.everJoined) {
      // Back after a WebSocket drop: signals sent meanwhile were lost; re-offer where needed.
      for (const link of this.links.values()) {
        if (!link.connected || link.pc.signalingState !== "stable") link.pc.restartIce();
      }
    }
  }

  /** Links for everyone present; absent people's links wind down after a grace period. */
  reconcile(state) {
    if (!this.enabled || state.phase !== "joined" || state.mediaMode !== "p2p" || !state.you) {
      if (state.mediaMode === "mcu") this.closeAll();
      return;
    }
    const present = new Set();
    for (const p of state.participants) {
      if (p.identity === state.you.identity) continue;
      present.add(p.identity);
      const link = this.links.get(p.identity);
      if (!link) {
        // The newer of two people makes the first offer; the other answers it. Offering from
        // both sides at once would work (perfect negotiation) but costs rounds and seconds.
        if (this.offersFirst(state.you, p)) this.open(state, p);
      } else if (link.participantId !== p.id) {
        // A new session of the same person: a link that never came up had its offer go to the old one.
        if (link.connected) link.participantId = p.id;
        else this.restart(state, link);
      }
      clearTimeout(this.absent.get(p.identity));
      this.absent.delete(p.identity);
    }
    for (const identity of this.links.keys()) {
      if (present.has(identity) || this.absent.has(identity)) continue;
      this.absent.set(identity, setTimeout(() => this.drop(identity), ABSENT_GRACE_MS));
    }
    this.flushEarly(state);
  }

  /** Whether `you` start the connection to `other`: the later joiner does (identity breaks ties). */
  offersFirst(you, other) {
    const mine = Date.parse(you.joined_at) || 0;
    const theirs = Date.parse(other.joined_at) || 0;
    return mine === theirs ? you.identity > other.identity : mine > theirs;
  }

  open(state, participant, { answerFirst = false } = {}) {
    const gen = (this.gens.get(participant.identity) || 0) + 1;
    this.gens.set(participant.identity, gen);
    const instance = `${this.instance}:${gen}`;
    const link = new PeerLink({
      identity: participant.identity,
      participantId: participant.id,
      // Any rule both ends compute alike works; identities are stable across reconnects.
      polite: state.you.identity < participant.identity,
      iceServers: state.iceServers || [],
      local: this.local,
      send: (signal) => {
        const to = link.remoteInstance ? { to_instance: link.remoteInstance } : {};
        this.connection.send("rtc.signal", { instance, ...to, ...signal });
      },
      onRemote: (l) => this.remoteChanged(l),
      onState: (l) => this.remoteChanged(l),
      answerFirst,
    });
    link.instance = instance;
    link.createdAt = Date.now();
    this.links.set(participant.identity, link);
    return link;
  }

  onSignal(state, signal) {
    if (!this.enabled || state.mediaMode !== "p2p" || !state.you) return;
    const from = state.participants.find((p) => p.id === signal.from);
    if (!from) {
      this.early.push({ signal, at: Date.now() });
      return;
    }
    let link = this.links.get(from.identity);
    if (signal.to_instance && signal.to_instance !== link?.instance) return; // for a link we replaced
    if (link && link.remoteInstance && link.remoteInstance !== signal.instance) {
      // They reloaded or started over: our side of the old connection is dead too.
      this.drop(from.identity);
      link = null;
    }
    if (!link) link = this.open(state, from, { answerFirst: signal.description?.type === "offer" });
    link.remoteInstance = signal.instance;
    link.participantId = from.id;
    link.receive(signal);
  }

  flushEarly(state) {
    if (!this.early.length) return;
    const now = Date.now();
    const waiting = this.early.filter((e) => now - e.at < EARLY_SIGNAL_MS);
    this.early = [];
    for (const { signal, at } of waiting) {
      if (state.participants.some((p) => p.id === signal.from)) this.onSignal(state, signal);
      else this.early.push({ signal, at });
    }
  }

  drop(identity) {
    clearTimeout(this.absent.get(identity));
    this.absent.delete(identity);
    const link = this.links.get(identity);
    if (!link) return;
    this.links.delete(identity);
    link.close();
    this.remoteChanged(link);
  }

  closeAll() {
    for (const identity of [...this.links.keys()]) this.drop(identity);
    if (this.store.getState().terminal) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }

  remoteChanged(link) {
    const live = this.links.get(link.identity) === link;
    const camera = live ? link.remote.camera : null;
    let el = this.audio.get(link.identity);
    if (camera && camera.getAudioTracks().length) {
      if (!el) {
        el = document.createElement("audio");
        el.autoplay = true;
        el.dataset.identity = link.identity;
        this.audioSink.append(el);
        this.audio.set(link.identity, el);
      }
      if (el.srcObject !== camera) {
        el.srcObject = camera;
        el.play().catch(() => this.store.dispatch({ type: "media/autoplay-blocked" }));
      }
    } else if (el) {
      el.srcObject = null;
      el.remove();
      this.audio.delete(link.identity);
    }
    this.store.dispatch({
      type: "media/remote",
      identity: link.identity,
      camera: Boolean(camera),
      screen: Boolean(live && link.remote.screen),
      connection: live ? link.pc.connectionState : "closed",
    });
  }

  /** `{camera, screen}` MediaStreams of a person, or nulls. */
  streamsOf(identity) {
    const link = this.links.get(identity);
    return link ? link.remote : { camera: null, screen: null };
  }

  /** Resume audio after the browser blocked autoplay (needs a click). */
  resumeAudio() {
    for (const el of this.audio.values()) el.play().catch(() => {});
  }

  /** Per-peer inbound media totals: `{peers: [{identity, participantId, connectionState, video, audio}]}`. */
  async stats() {
    const peers = await Promise.all([...this.links.values()].map((link) => link.stats()));
    return { peers };
  }
}
