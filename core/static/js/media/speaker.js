// Active speaker: who is talking, from audio levels — remote people's from the receivers'
// stats (`audioLevel`), your own from an analyser on your microphone. Levels are smoothed and
// the speaker changes only when someone else is clearly louder, so the highlight doesn't
// flicker between two people talking over each other.

const POLL_MS = 250;
/** Smoothed level (0..1) below which nobody counts as speaking. */
const THRESHOLD = 0.02;
/** A challenger must be this much louder than the current speaker to take over. */
const TAKEOVER = 1.5;
const SMOOTHING = 0.5;

export class SpeakerDetector {
  constructor({ store, mesh, local }) {
    this.store = store;
    this.mesh = mesh;
    this.local = local;
    this.levels = new Map();
    this.speaker = null;
    this.timer = null;
    this.analyser = null;
    this.context = null;
    this.buffer = null;
    local.onChange((event) => {
      if (event.kind === "track" && event.media === "audio") this.analyser = null;
    });
  }

  start() {
    if (!this.timer) this.timer = setInterval(() => this.poll().catch(() => {}), POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.context?.close().catch(() => {});
    this.context = this.analyser = null;
  }

  /** RMS level of your own microphone (0 while muted). */
  ownLevel() {
    const track = this.local.track("audio");
    if (!track || !track.enabled || !window.AudioContext) return 0;
    if (!this.analyser) {
      this.context ||= new AudioContext();
      this.context.resume().catch(() => {});
      const source = this.context.createMediaStreamSource(new MediaStream([track]));
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 512;
      this.buffer = new Float32Array(this.analyser.fftSize);
      source.connect(this.analyser);
    }
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const v of this.buffer) sum += v * v;
    return Math.sqrt(sum / this.buffer.length);
  }

  async poll() {
    const state = this.store.getState();
    // In MCU rooms the server mixes audio and names the speaker (media.speaker).
    if (state.phase !== "joined" || !state.you || state.mediaMode !== "p2p") return;
    const raw = new Map([[state.you.identity, this.ownLevel()]]);
    const { peers } = await this.mesh.stats();
    for (const peer of peers) raw.set(peer.identity, peer.audio.audioLevel);
    for (const [identity, level] of raw) {
      const muted = state.participants.find((p) => p.identity === identity)?.audio_muted;
      const previous = this.levels.get(identity) || 0;
      this.levels.set(identity, previous * SMOOTHING + (muted ? 0 : level) * (1 - SMOOTHING));
    }
    for (const identity of this.levels.keys()) if (!raw.has(identity)) this.levels.delete(identity);

    let loudest = null;
    let max = THRESHOLD;
    for (const [identity, level] of this.levels) {
      if (level > max) {
        max = level;
        loudest = identity;
      }
    }
    const current = this.speaker ? this.levels.get(this.speaker) || 0 : 0;
    const next = loudest && (current < THRESHOLD || max > current * TAKEOVER) ? loudest : current >= THRESHOLD ? this.speaker : null;
    if (next !== this.speaker) {
      this.speaker = next;
      this.store.dispatch({ type: "media/speaker", identity: next });
    }
  }
}
