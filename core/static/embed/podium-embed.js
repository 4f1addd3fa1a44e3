/*!
 * podium-embed.js — put a Podium room in your page and drive it from your own code.
 *
 *   <script src="https://podium.example.com/podium-embed.js"></script>
 *   const room = new PodiumEmbed(document.getElementById("room"), { url: joinUrl, token });
 *   room.on("participantJoined", ({ participant }) => …);
 *   await room.toggleAudio();
 *
 * Messages go to the iframe with its exact origin (never "*"), and only messages whose
 * `event.origin` is that origin and whose `event.source` is that iframe's window are read.
 * Reference: docs/embedding.md. Self-hosting: serve this file as is, from anywhere.
 */
(function (root) {
  "use strict";

  var PROTOCOL = "podium-embed/1";
  var ALLOW = "camera; microphone; display-capture; autoplay; fullscreen; clipboard-write; picture-in-picture";
  var COMMAND_TIMEOUT_MS = 15000;

  function EmbedError(code, message) {
    var err = new Error(message || code);
    err.name = "PodiumEmbedError";
    err.code = code;
    return err;
  }

  /** The room page's URL with the token and UI options in its query string. */
  function roomUrl(options, hostOrigin) {
    var base = options.url;
    if (!base) throw EmbedError("invalid_options", "PodiumEmbed needs options.url (a join URL or /r/{tenant}/{room} URL)");
    var url = new URL(base, root.location.href);
    if (!/^\/r\/[^/]+\/[^/]+\/?$/.test(url.pathname)) {
      throw EmbedError("invalid_options", "options.url must point at a room page: https://podium.example.com/r/{tenant}/{room}");
    }
    var q = url.searchParams;
    if (options.token) q.set("token", options.token);
    if (!q.get("token")) throw EmbedError("invalid_options", "PodiumEmbed needs a join token (options.token, or in options.url)");
    q.set("embed", hostOrigin);
    if (options.prejoin === false) q.set("prejoin", "0");
    if (options.startAudioMuted) q.set("audio", "0");
    if (options.startVideoMuted) q.set("video", "0");
    if (options.chat === false) q.set("chat", "0");
    if (options.lang) q.set("lang", String(options.lang));
    if (options.layout) q.set("layout", String(options.layout));
    if (options.name) q.set("name", String(options.name));
    return url;
  }

  /**
   * new PodiumEmbed(container, {url, token, prejoin, chat, startAudioMuted, startVideoMuted,
   *                             lang, layout, name, width, height, title, className})
   */
  function PodiumEmbed(container, options) {
    if (!(this instanceof PodiumEmbed)) return new PodiumEmbed(container, options);
    if (!container || typeof container.appendChild !== "function") {
      throw EmbedError("invalid_options", "PodiumEmbed needs a container element");
    }
    options = options || {};
    var url = roomUrl(options, root.location.origin);
    this.origin = url.origin;
    this.options = options;
    this.state = { joined: false, you: null, room: null, mediaMode: null };
    this._listeners = {};
    this._pending = {};
    this._seq = 0;
    this._destroyed = false;

    var frame = root.document.createElement("iframe");
    frame.src = url.href;
    frame.allow = ALLOW;
    frame.title = options.title || "Podium meeting";
    frame.referrerPolicy = "origin";
    frame.style.border = "0";
    frame.style.width = options.width || "100%";
    frame.style.height = options.height || "100%";
    if (options.className) frame.className = options.className;
    this.iframe = frame;

    var self = this;
    this.ready = new Promise(function (resolve) {
      self._resolveReady = resolve;
    });
    this._onMessage = function (event) {
      self._receive(event);
    };
    root.addEventListener("message", this._onMessage);
    container.appendChild(frame);
  }

  PodiumEmbed.version = "1";
  PodiumEmbed.ALLOW = ALLOW;

  PodiumEmbed.prototype._receive = function (event) {
    // Only the room in *our* iframe, served from the room's origin, is listened to.
    if (event.origin !== this.origin || event.source !== this.iframe.contentWindow) return;
    var msg = event.data;
    if (!msg || msg.protocol !== PROTOCOL) return;
    if (msg.kind === "result") {
      var pending = this._pending[msg.id];
      if (!pending) return;
      delete this._pending[msg.id];
      clearTimeout(pending.timer);
      if (msg.ok) pending.resolve(msg.result);
      else pending.reject(EmbedError(msg.error && msg.error.code, msg.error && msg.error.message));
      return;
    }
    if (msg.kind !== "event") return;
    var data = msg.data || {};
    if (msg.event === "ready") this._resolveReady(data);
    if (msg.event === "joined") {
      this.state = { joined: true, you: data.you, room: data.room, mediaMode: data.media_mode };
    } else if (msg.event === "left") {
      this.state = Object.assign({}, this.state, { joined: false });
    } else if (msg.event === "mediaModeChanged") {
      this.state = Object.assign({}, this.state, { mediaMode: data.mode });
    }
    this._emit(msg.event, data);
    this._emit("*", { event: msg.event, data: data });
  };

  PodiumEmbed.prototype._emit = function (name, data) {
    var list = (this._listeners[name] || []).slice();
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].call(this, data);
      } catch (err) {
        if (root.console) root.console.error("podium-embed: a listener for " + name + " failed", err);
      }
    }
  };

  /** Listen to an event (or "*" for every event as {event, data}); returns a function that stops listening. */
  PodiumEmbed.prototype.on = function (name, fn) {
    (this._listeners[name] = this._listeners[name] || []).push(fn);
    var self = this;
    return function () {
      self.off(name, fn);
    };
  };

  PodiumEmbed.prototype.off = function (name, fn) {
    var list = this._listeners[name] || [];
    var i = list.indexOf(fn);
    if (i !== -1) list.splice(i, 1);
  };

  /** Resolve with the next `name` event's data. */
  PodiumEmbed.prototype.once = function (name) {
    var self = this;
    return new Promise(function (resolve) {
      var stop = self.on(name, function (data) {
        stop();
        resolve(data);
      });
    });
  };

  /** Send a command to the room; resolves with its result, rejects with {code, message}. */
  PodiumEmbed.prototype.command = function (name, args) {
    if (this._destroyed) return Promise.reject(EmbedError("destroyed", "this embed was destroyed"));
    var self = this;
    var id = "m" + ++this._seq;
    return new Promise(function (resolve, reject) {
      // One deadline for the whole trip: a room that never loads (an origin the tenant did not
      // allow, a network failure) rejects commands instead of leaving them pending forever.
      var timer = setTimeout(function () {
        delete self._pending[id];
        reject(EmbedError("timeout", "the room did not answer " + name));
      }, COMMAND_TIMEOUT_MS);
      self._pending[id] = { resolve: resolve, reject: reject, timer: timer };
      self.ready.then(function () {
        if (!self._pending[id]) return;
        self.iframe.contentWindow.postMessage(
          { protocol: PROTOCOL, kind: "command", id: id, name: name, args: args || {} },
          self.origin
        );
      });
    });
  };

  var COMMANDS = {
    // media (this participant)
    toggleAudio: [],
    toggleVideo: [],
    setAudioMuted: ["muted"],
    setVideoMuted: ["muted"],
    startScreenShare: [],
    stopScreenShare: [],
    setDisplayName: ["name"],
    // chat
    sendChatMessage: ["text", "options"],
    // moderation (the server checks the role; a refusal rejects with code "forbidden")
    kickParticipant: ["participantId"],
    askToMute: ["participantId", "kind"],
    muteEveryone: ["kind"],
    setRole: ["participantId", "role"],
    admit: ["participantId"],
    deny: ["participantId"],
    // raised hands and a webinar's stage
    raiseHand: [],
    lowerHand: ["participantId"],
    setStage: ["participantId", "onStage"],
    getRaisedHands: [],
    // room
    setLayout: ["layout"],
    startRecording: ["options"],
    stopRecording: [],
    startStreaming: ["options"],
    stopStreaming: ["options"],
    pluginCommand: ["plugin", "action", "data"],
    // breakout rooms (hosts and moderators; joinBreakout(0) goes back to the main room)
    openBreakouts: ["options"],
    closeBreakouts: [],
    assignBreakout: ["participantId", "breakout"],
    broadcastToBreakouts: ["text"],
    joinBreakout: ["breakout"],
    getBreakouts: [],
    hangUp: [],
    endMeeting: [],
    // queries
    getParticipants: [],
    getRoomInfo: [],
    getMediaMode: [],
    getLocalMedia: [],
  };

  Object.keys(COMMANDS).forEach(function (name) {
    var params = COMMANDS[name];
    PodiumEmbed.prototype[name] = function () {
      var args = {};
      for (var i = 0; i < params.length; i++) if (arguments[i] !== undefined) args[params[i]] = arguments[i];
      return this.command(name, args);
    };
  });
  PodiumEmbed.COMMANDS = Object.keys(COMMANDS);

  /** Remove the iframe and stop listening; pending commands reject with "destroyed". */
  PodiumEmbed.prototype.destroy = function () {
    if (this._destroyed) return;
    this._destroyed = true;
    root.removeEventListener("message", this._onMessage);
    for (var id in this._pending) {
      clearTimeout(this._pending[id].timer);
      this._pending[id].reject(EmbedError("destroyed", "this embed was destroyed"));
    }
    this._pending = {};
    if (this.iframe.parentNode) this.iframe.parentNode.removeChild(this.iframe);
  };

  root.PodiumEmbed = PodiumEmbed;
})(typeof window !== "undefined" ? window : this);
