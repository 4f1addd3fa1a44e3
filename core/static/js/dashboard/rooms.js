// Rooms: list, create, edit, live participants, end, try in the playground.

import { h, replaceChildren } from "../dom.js";
import { button, section, table, when } from "./ui.js";

const MODES = ["auto", "p2p", "mcu"];

function roomForm(room, onSubmit) {
  const f = (name, input) => h("label", { class: "field" }, name, input);
  const slug = h("input", { name: "slug", required: true, pattern: "[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", value: room?.slug || "", disabled: Boolean(room), "data-testid": "room-slug" });
  const name = h("input", { name: "name", required: true, maxlength: 200, value: room?.name || "", "data-testid": "room-name" });
  const max = h("input", { name: "max_participants", type: "number", min: 1, max: 100, value: room?.max_participants ?? 100 });
  const mode = h("select", { name: "media_mode" }, MODES.map((m) => h("option", { value: m, selected: m === (room?.media_mode || "auto") }, m)));
  const lobby = h("input", { type: "checkbox", name: "lobby", checked: Boolean(room?.lobby) });
  const recording = h("input", { type: "checkbox", name: "recording_allowed", checked: room ? room.recording_allowed : true });
  const webinar = h("input", { type: "checkbox", name: "webinar", checked: Boolean(room?.webinar), "data-testid": "room-webinar" });
  const form = h("form", { class: "inline-form", "data-testid": room ? "room-edit-form" : "room-create-form" },
    f("Slug", slug), f("Name", name), f("Max people", max), f("Media", mode),
    h("label", { class: "check" }, lobby, "Lobby"), h("label", { class: "check" }, recording, "Recording allowed"),
    h("label", { class: "check", title: "Attendees watch off stage until a host invites them; past Max people they watch the live stream" }, webinar, "Webinar"),
    h("button", { type: "submit", class: "btn btn-primary" }, room ? "Save" : "Create room"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { name: name.value, max_participants: Number(max.value), media_mode: mode.value, lobby: lobby.checked, recording_allowed: recording.checked, webinar: webinar.checked };
    if (!room) body.slug = slug.value;
    onSubmit(body);
  });
  return form;
}

export function mountRooms(root, api) {
  const s = section(root, "Rooms", async (ctx) => {
    const { rooms } = await api.get("/rooms?limit=200");
    const detail = h("div", { class: "detail", "data-testid": "room-detail" });
    const rows = rooms.map((room) => h("tr", { dataset: { slug: room.slug } },
      h("td", {}, h("strong", {}, room.name), h("div", { class: "muted" }, room.slug)),
      h("td", {}, room.media_mode, room.lobby ? " · lobby" : "", room.webinar ? " · webinar" : ""),
      h("td", {}, String(room.max_participants)),
      h("td", {}, when(room.ended_at)),
      h("td", { class: "actions" },
        button("Open", () => ctx.run(() => showRoom(ctx, detail, room))),
        h("a", { class: "btn btn-quiet", href: `/embed/playground#room=${encodeURIComponent(room.slug)}`, target: "_blank", rel: "noopener" }, "Try in playground")),
    ));
    replaceChildren(ctx.body,
      h("details", { class: "card" }, h("summary", { "data-testid": "new-room" }, "New room"),
        roomForm(null, (body) => ctx.run(async () => {
          await api.post("/rooms", body);
          ctx.say(`Room ${body.slug} created.`);
          await ctx.reload();
        }))),
      table(["Room", "Media", "Capacity", "Last ended", ""], rows, "rooms-table"),
      detail);
  });

  async function showRoom(ctx, detail, room) {
    const people = await api.get(`/rooms/${room.slug}/participants`);
    const lobby = await api.get(`/rooms/${room.slug}/lobby`);
    const rows = people.map((p) => h("tr", {}, h("td", {}, p.name), h("td", {}, p.identity), h("td", {}, p.role), h("td", {}, when(p.joined_at)),
      h("td", { class: "actions" }, button("Kick", () => ctx.run(async () => {
        await api.post(`/rooms/${room.slug}/participants/${p.id}/kick`);
        await showRoom(ctx, detail, room);
      })))));
    replaceChildren(detail,
      h("h3", {}, room.name),
      roomForm(room, (body) => ctx.run(async () => {
        await api.patch(`/rooms/${room.slug}`, body);
        ctx.say(`Room ${room.slug} saved.`);
        await ctx.reload();
      })),
      h("h4", {}, `In the room (${people.length})`, lobby.length ? ` · ${lobby.length} waiting` : ""),
      table(["Name", "Identity", "Role", "Joined", ""], rows, "live-participants"),
      h("div", { class: "row" },
        button("Refresh", () => ctx.run(() => showRoom(ctx, detail, room))),
        button("End meeting", () => ctx.run(async () => {
          const { disconnected } = await api.post(`/rooms/${room.slug}/end`);
          ctx.say(`Meeting ended; ${disconnected} disconnected.`);
          await showRoom(ctx, detail, room);
        }), { class: "btn-danger" }),
        button("Delete room", () => ctx.run(async () => {
          if (!window.confirm(`Delete ${room.slug} and its chat history?`)) return;
          await api.delete(`/rooms/${room.slug}`);
          ctx.say(`Room ${room.slug} deleted.`);
          await ctx.reload();
        }), { class: "btn-danger" })));
  }
  return s;
}
