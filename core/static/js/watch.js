// The watch page: plays a room's live HLS stream (hls.js, or the browser's own HLS) and shows the
// viewer count. The page URL is /watch/<tenant>/<stream>?token=<viewer token> (no token: a public stream).
const video = document.getElementById("video");
const badge = document.getElementById("state");
const viewersEl = document.getElementById("viewers");
const message = document.getElementById("message");

const params = new URLSearchParams(location.search);
const viewer = sessionStorage.getItem("podium-viewer") || crypto.randomUUID();
sessionStorage.setItem("podium-viewer", viewer);
const query = new URLSearchParams({ v: viewer });
if (params.get("token")) query.set("token", params.get("token"));
const base = location.pathname.replace(/\/$/, "");
const playlist = `${base}/index.m3u8?${query}`;

function show(state, text) {
  badge.dataset.state = state;
  badge.textContent = text;
}

async function poll() {
  try {
    const reply = await fetch(`${base}/status?${query}`, { cache: "no-store" });
    if (!reply.ok) {
      const body = await reply.json().catch(() => ({}));
      show("ended", "Unavailable");
      message.textContent = (body.error && body.error.message) || `The stream is not available (${reply.status}).`;
      return false;
    }
    const status = await reply.json();
    viewersEl.textContent = `${status.viewers} watching`;
    if (status.state !== "live") {
      show("ended", "Ended");
      return false;
    }
    show("live", "LIVE");
  } catch {
    /* a network blip: try again at the next tick */
  }
  return true;
}

function play() {
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 10 });
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      console.warn("hls.js:", data.type, data.details, data.fatal ? "(fatal)" : "", data.reason || (data.error && data.error.message) || "");
      if (data.fatal && data.type === window.Hls.ErrorTypes.NETWORK_ERROR) setTimeout(() => hls.startLoad(), 2000);
      else if (data.fatal) hls.recoverMediaError();
    });
    hls.loadSource(playlist);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = playlist; // Safari: native HLS
  } else {
    message.textContent = "This browser cannot play live streams.";
    return;
  }
  video.play().catch(() => { /* autoplay may wait for a click */ });
}

video.addEventListener("error", () => console.warn("video error:", video.error && video.error.message));

(async () => {
  if (await poll()) play();
  const timer = setInterval(async () => {
    if (!(await poll())) clearInterval(timer);
  }, 5000);
})();
