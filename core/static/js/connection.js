// The room's WebSocket: feeds every server message into the store, sends commands,
// keeps the link alive, and reconnects (same token) after abnormal drops only.

import { TERMINAL_CLOSE } from "./store.js";

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 15000;
/** After this many failed attempts in a row the page stops and offers "Try again". */
const MAX_ATTEMPTS = 12;
const PING_EVERY_MS = 20000;
const PONG_TIMEOUT_MS = 10000;
const REQUEST_TIMEOUT_MS = 15000;
/** The server sent us to another room (`breakout.move` came first): connect there. */
export const CLOSE_MOVED = 4414;
/** Close code this client uses when it gives up on a silent socket (server logs "disconnected"). */
const CLOSE_STALE = 4000;
/** "Service restart": the server is draining; reconnect at once (another node takes the socket). */
export const CLOSE_RECONNECT = 1012;
/** The first reconnect after 1012 waits this much at most (jitter spreads a node's clients). */
const RECONNECT_SPREAD_MS = 500;

/** Whether a close code ends the session for good (kicked, ended, denied, full, bad token…). */
export function isTerminalClose(code) {
  return code in TERMINAL_CLOSE || (code >= 4001 && code < 5000) || code === 1008;
}

/** `ws(s)://<this host>/ws/{tenant}/{room}?token=…` */
export function socketUrl(location, tenant, room, token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = `/ws/${encodeURIComponent(tenant)}/${encodeURIComponent(room)}`;
  return `${scheme}//${location.host}${path}?token=${encodeURIComponent(token)}`;
}

export class RoomConnection {
  /** @param {{url: string, store: ReturnType<import("./store.js").createStore>}} options */
  constructor({ url, store }) {
    this.url = url;
    this.store = store;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.leaving = false;
    this.stopped = false;
    this.seq = 0;
    this.pending = new Map();
    /** Set by the page: the socket URL of the room a `breakout.move` named, or null. */
    this.movedTo = () => null;
    this.onOnline = () => {
      if (this.retryTimer) this.retryNow();
    };
    window.addEventListener("online", this.onOnline);
  }

  /** Open the socket (first connect). */
  start() {
    this.stopped = false;
    this.leaving = false;
    this.attempt = 0;
    this.open();
  }

  /** Start over after a terminal state (Rejoin, Try again): same token. */
  restart() {
    this.store.dispatch({ type: "client/restart" });
    this.start();
  }

  /** Leave on purpose: a normal close, which the server reports as `left`. */
  leave() {
    this.leaving = true;
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      ws.close(1000, "left");
    }
    this.detach();
    this.failPending("left");
    this.store.dispatch({ type: "client/left" });
  }

  /** Skip the back-off wait. */
  retryNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open();
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a command; returns its ref, or null when not connected. */
  send(type, payload = {}) {
    if (!this.isOpen) return null;
    const ref = `c${++this.seq}`;
    this.ws.send(JSON.stringify({ type, ...payload, ref }));
    return ref;
  }

  /** Send a command and wait for its `ack` (resolves with it) or `error` (rejects with it). */
  request(type, payload = {}) {
    return new Promise((resolve, reject) => {
      const ref = this.send(type, payload);
      if (ref === null) {
        reject({ code: "not_connected", message: "Not connected" });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject({ code: "timeout", message: "The server did not answer" });
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
    });
  }

  // ---- internals -------------------------------------------------------------------------------------

  open() {
    this.clearTimers();
    this.store.dispatch({ type: "client/connecting", attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.error("podium: cannot open socket", err);
      this.store.dispatch({ type: "client/closed", code: 4400, reason: "bad_url" });
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.store.dispatch({ type: "client/open" });
      this.schedulePing();
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event);
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn("podium: ignoring a frame that is not JSON");
      return;
    }
    if (!msg || typeof msg.type !== "string") return;
    if (msg.type === "welcome" || msg.type === "lobby.waiting") this.attempt = 0;
    if (msg.ref && this.pending.has(msg.ref) && (msg.type === "ack" || msg.type === "error")) {
      const { resolve, reject, timer } = this.pending.get(msg.ref);
      clearTimeout(timer);
      this.pending.delete(msg.ref);
      (msg.type === "ack" ? resolve : reject)(msg);
    }
    if (msg.type === "pong") clearTimeout(this.pongTimer);
    this.store.dispatch(msg);
  }

  closed(ws, event) {
    if (ws !== this.ws) return; // an older socket we already replaced
    this.clearTimers();
    this.detach();
    this.failPending("disconnected");
    if (this.leaving || this.stopped) return;
    const code = ws.staleClose ? 1006 : event.code;
    const next = code === CLOSE_MOVED ? this.movedTo() : null;
    if (next) {
      // Same page, same camera: only the room changes. Reconnects go to the new room from now on.
      this.url = next;
      this.attempt = 0;
      this.store.dispatch({ type: "client/moving" });
      this.open();
      return;
    }
    if (isTerminalClose(code) || this.store.getState().terminal) {
      this.stopped = true;
      this.store.dispatch({ type: "client/closed", code, reason: event.reason });
      return;
    }
    this.scheduleRetry(code === CLOSE_RECONNECT);
  }

  /** @param {boolean} moving the server asked us to reconnect (draining): go now, not after a back-off. */
  scheduleRetry(moving = false) {
    this.attempt += 1;
    if (this.attempt > MAX_ATTEMPTS) {
      this.stopped = true;
      this.store.dispatch({ type: "client/closed", code: 1006, reason: "unreachable" });
      return;
    }
    // Exponential back-off with jitter, so a restarted server is not stampeded.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
    const delay =
      moving && this.attempt === 1
        ? Math.round(Math.random() * RECONNECT_SPREAD_MS)
        : Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.store.dispatch({ type: "client/retrying", attempt: this.attempt, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  schedulePing() {
    this.pingTimer = setInterval(() => {
      if (!this.isOpen) return;
      this.ws.send(JSON.stringify({ type: "ping" }));
      clearTimeout(this.pongTimer);
      const ws = this.ws;
      this.pongTimer = setTimeout(() => {
        // No answer: the link is dead even if the browser has not noticed yet.
        ws.staleClose = true;
        ws.close(CLOSE_STALE, "no_pong");
        if (ws.readyState !== WebSocket.CLOSED) this.closed(ws, { code: 1006, reason: "no_pong" });
      }, PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  detach() {
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = null;
    ws.onclose = null;
    this.ws = null;
  }

  clearTimers() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.retryTimer);
    this.pingTimer = this.pongTimer = this.retryTimer = null;
  }

  failPending(code) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject({ code, message: "The connection closed before the server answered" });
    }
    this.pending.clear();
  }
}
