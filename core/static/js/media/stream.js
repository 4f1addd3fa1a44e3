// A webinar's overflow viewers watch the room's live stream (HLS) instead of a WebRTC connection:
// the same composite and mix, a few seconds later, at no cost to the media node. hls.js (vendored)
// is loaded only for them; Safari plays HLS natively. Chat, Q&A, polls, reactions and raising a
// hand go on over the room's WebSocket as for anyone.

const HLS_SCRIPT = "/static/vendor/hls.min.js";
/** One id per tab, so the room's viewer count counts this page once (as the watch page does). */
const VIEWER_KEY = "podium-viewer";

let loading = null;

/** `window.Hls`, loading the vendored script on first use. */
function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  loading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = HLS_SCRIPT;
    script.onload = () => resolve(window.Hls);
    script.onerror = () => reject(new Error("hls.js could not be loaded"));
    document.head.append(script);
  });
  return loading;
}

function viewerId() {
  try {
    const id = sessionStorage.getItem(VIEWER_KEY) || crypto.randomUUID();
    sessionStorage.setItem(VIEWER_KEY, id);
    return id;
  } catch {
    return crypto.randomUUID(); // storage blocked (a third-party iframe)
  }
}

export class StreamPlayer {
  constructor({ store }) {
    this.store = store;
    this.video = document.createElement("video");
    this.video.className = "stream-video";
    this.video.dataset.testid = "stream-video";
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.controls = false;
    this.playlist = null;
    this.hls = null;
    store.subscribe((state) => this.follow(state));
  }

  follow(state) {
    const wanted = !state.terminal && state.phase === "joined" && state.you?.viewer && state.watch ? state.watch.playlist : null;
    if (wanted === this.playlist) return;
    this.stop();
    if (wanted) this.play(wanted);
  }

  async play(playlist) {
    this.playlist = playlist;
    const url = `${playlist}${playlist.includes("?") ? "&" : "?"}v=${encodeURIComponent(viewerId())}`;
    try {
      const Hls = await loadHls();
      if (this.playlist !== playlist) return;
      if (Hls && Hls.isSupported()) {
        const hls = (this.hls = new Hls({ liveSyncDurationCount: 2 }));
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (!data.fatal || this.hls !== hls) return;
          if (data.type !== Hls.ErrorTypes.NETWORK_ERROR) {
            hls.recoverMediaError();
          } else if (!hls.levels?.length) {
            // The stream may have just started: its playlist is a 404 until the first segment is
            // written, and hls.js gives up on a 4xx at once. Ask again in a moment.
            setTimeout(() => this.hls === hls && hls.loadSource(url), 1000);
          } else {
            setTimeout(() => this.hls === hls && hls.startLoad(), 2000);
          }
        });
        hls.loadSource(url);
        hls.attachMedia(this.video);
      } else {
        this.video.src = url; // Safari: native HLS
      }
    } catch (err) {
      console.warn("podium: the live stream cannot be played", err);
      if (this.video.canPlayType("application/vnd.apple.mpegurl")) this.video.src = url;
    }
    this.video.play().catch(() => this.store.dispatch({ type: "media/autoplay-blocked" }));
  }

  stop() {
    this.playlist = null;
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute("src");
    this.video.load();
  }

  /** What a test (or the SDK) may want to know: is the stream playing, and how far along. */
  stats() {
    return { playing: Boolean(this.playlist) && !this.video.paused, currentTime: this.video.currentTime };
  }
}
