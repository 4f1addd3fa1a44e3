// The embed playground: embeds a room with podium-embed.js exactly as a tenant's page would,
// with a console for every command and a live log of every event.

import { h, replaceChildren } from "./dom.js";
import { Api } from "./dashboard/api.js";

const $ = (id) => document.getElementById(id);
const KEY = "podium.dashboard.secret";
let embed = null;
let participants = [];

function log(kind, title, data) {
  const item = h("li", { dataset: { kind, event: title } }, `${new Date().toLocaleTimeString()} ${kind === "event" ? "◀" : "▶"} ${title}`,
    data === undefined ? "" : `\n${JSON.stringify(data, null, 1)}`);
  $("log").prepend(item);
}

async function listRooms() {
  const secret = $("secret").value.trim();
  if (!secret) return;
  sessionStorage.setItem(KEY, secret);
  try {
    const { rooms } = await new Api(secret).get("/rooms?limit=200");
    const wanted = new URLSearchParams(location.hash.slice(1)).get("room");
    replaceChildren($("room"), rooms.map((r) => h("option", { value: r.slug, selected: r.slug === wanted }, `${r.name} (${r.slug})`)));
  } catch (err) {
    log("error", "could not list rooms", { code: err.code, message: err.message });
  }
}

async function joinUrl() {
  const pasted = $("joinurl").value.trim();
  if (pasted) return { url: pasted };
  const api = new Api($("secret").value.trim());
  const issued = await api.post(`/rooms/${$("room").value}/tokens`, { identity: $("identity").value, name: $("name").value, role: $("role").value });
  return { url: issued.join_url.split("?")[0], token: issued.token };
}

function options(base) {
  return {
    ...base,
    prejoin: $("o-prejoin").checked,
    chat: $("o-chat").checked,
    startAudioMuted: $("o-audio").checked,
    startVideoMuted: $("o-video").checked,
    layout: $("o-layout").value,
    lang: $("o-lang").value || undefined,
  };
}

async function run(name, ...args) {
  log("command", `${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`);
  try {
    const result = await embed[name](...args);
    log("result", `${name} → ok`, result);
  } catch (err) {
    log("error", `${name} → ${err.code}`, { code: err.code, message: err.message });
  }
}

function consoleUi() {
  const who = h("select", { "data-testid": "pg-target" });
  const refreshPeople = () => replaceChildren(who, participants.map((p) => h("option", { value: p.id }, `${p.name} (${p.role})`)));
  const text = h("input", { placeholder: "chat message", "data-testid": "pg-chat-text" });
  const role = h("select", {}, ["attendee", "moderator", "host"].map((r) => h("option", {}, r)));
  const layout = h("select", {}, ["grid", "speaker"].map((r) => h("option", {}, r)));
  const plugin = h("input", { placeholder: "plugin", size: 8 });
  const action = h("input", { placeholder: "action", size: 8 });
  const data = h("input", { placeholder: '{"json": true}' });
  const b = (label, fn, testid) => h("button", { type: "button", class: "btn", "data-testid": testid, on: { click: fn } }, label);
  const target = () => who.value;
  replaceChildren($("console"),
    h("h3", { style: "margin-top:0" }, "Commands"),
    h("div", {}, b("Toggle mic", () => run("toggleAudio"), "cmd-toggle-audio"), b("Toggle camera", () => run("toggleVideo"), "cmd-toggle-video"),
      b("Share screen", () => run("startScreenShare")), b("Stop sharing", () => run("stopScreenShare"))),
    h("div", {}, text, b("Send chat", () => run("sendChatMessage", text.value), "cmd-chat")),
    h("div", {}, h("label", { class: "field" }, "Participant", who),
      b("Kick", () => run("kickParticipant", target())), b("Ask to mute", () => run("askToMute", target(), "audio")),
      b("Mute everyone", () => run("muteEveryone", "audio")), role, b("Set role", () => run("setRole", target(), role.value))),
    h("div", {}, b("Raise hand", () => run("raiseHand"), "cmd-raise-hand"), b("Lower hand", () => run("lowerHand")),
      b("Lower their hand", () => run("lowerHand", target())), b("Invite to stage", () => run("setStage", target(), true)),
      b("Remove from stage", () => run("setStage", target(), false)), b("Raised hands", () => run("getRaisedHands"))),
    h("div", {}, layout, b("Set layout", () => run("setLayout", layout.value), "cmd-layout")),
    h("div", {}, b("Start recording", () => run("startRecording")), b("Stop recording", () => run("stopRecording")),
      b("Start streaming", () => run("startStreaming")), b("Stop streaming", () => run("stopStreaming"))),
    h("div", {}, plugin, action, data, b("Plugin command", () => {
      let parsed = null;
      try { parsed = data.value ? JSON.parse(data.value) : null; } catch { log("error", "data is not JSON"); return; }
      run("pluginCommand", plugin.value, action.value, parsed);
    })),
    h("div", {}, b("Participants", () => run("getParticipants"), "cmd-participants"), b("Room info", () => run("getRoomInfo")),
      b("Media mode", () => run("getMediaMode")), b("Hang up", () => run("hangUp")), b("End meeting", () => run("endMeeting"))));
  return refreshPeople;
}

async function start(event) {
  event.preventDefault();
  embed?.destroy();
  let base;
  try {
    base = await joinUrl();
  } catch (err) {
    log("error", "could not mint a token", { code: err.code, message: err.message });
    return;
  }
  const opts = options(base);
  $("snippet").textContent = `<div id="room" style="height:600px"></div>\n<script src="${location.origin}/podium-embed.js"></script>\n<script>\n  const room = new PodiumEmbed(document.getElementById("room"), ${JSON.stringify({ ...opts, token: opts.token ? "<join token from your server>" : undefined }, null, 2)});\n  room.on("*", ({event, data}) => console.log(event, data));\n</script>`;
  embed = new window.PodiumEmbed($("stage"), opts);
  window.playgroundEmbed = embed;
  const refreshPeople = consoleUi();
  $("console").hidden = false;
  embed.on("*", ({ event: name, data }) => {
    log("event", name, data);
    if (["joined", "participantJoined", "participantLeft", "participantUpdated", "roleChanged"].includes(name)) {
      embed.getParticipants().then((list) => { participants = list; refreshPeople(); }).catch(() => {});
    }
  });
}

$("setup").addEventListener("submit", start);
$("destroy").addEventListener("click", () => { embed?.destroy(); embed = null; $("console").hidden = true; });
$("clear").addEventListener("click", () => replaceChildren($("log")));
$("secret").addEventListener("change", listRooms);
const saved = sessionStorage.getItem(KEY);
if (saved) {
  $("secret").value = saved;
  listRooms();
}
