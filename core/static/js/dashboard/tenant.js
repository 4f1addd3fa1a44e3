// API keys, embed origins, recordings and plugins.

import { h, replaceChildren } from "../dom.js";
import { schemaForm } from "./schema-form.js";
import { button, secretBox, section, table, when } from "./ui.js";

export function mountKeys(root, api) {
  let flash = null;
  return section(root, "API keys", async (ctx) => {
    const keys = await api.get("/keys");
    const fresh = h("div", {}, flash && secretBox(...flash));
    flash = null;
    const name = h("input", { maxlength: 200, placeholder: "name, e.g. production-2026", "data-testid": "key-name" });
    const form = h("form", { class: "inline-form" }, h("label", { class: "field" }, "Name", name), h("button", { type: "submit", class: "btn btn-primary" }, "Create key"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ctx.run(async () => {
        const issued = await api.post("/keys", { name: name.value });
        flash = [`Secret of ${issued.key_id}`, issued.secret];
        await ctx.reload();
      });
    });
    const rows = keys.map((k) => h("tr", { dataset: { key: k.key_id } },
      h("td", {}, h("code", {}, k.key_id)), h("td", {}, k.name), h("td", {}, when(k.created_at)),
      h("td", {}, k.revoked_at ? `revoked ${when(k.revoked_at)}` : "live"),
      h("td", { class: "actions" }, k.revoked_at ? null : button("Revoke", () => ctx.run(async () => {
        if (!window.confirm(`Revoke ${k.key_id}? Its secret and the join tokens it signed stop working at once.`)) return;
        await api.delete(`/keys/${k.key_id}`);
        await ctx.reload();
      }), { class: "btn-danger" }))));
    replaceChildren(ctx.body, form, fresh, table(["Key", "Name", "Created", "State", ""], rows, "keys-table"));
  });
}

export function mountOrigins(root, api) {
  return section(root, "Embed origins", async (ctx) => {
    const { origins } = await api.get("/embed/origins");
    const origin = h("input", { placeholder: "https://app.example.com", required: true, "data-testid": "origin-input" });
    const form = h("form", { class: "inline-form" }, h("label", { class: "field wide" }, "Origin", origin), h("button", { type: "submit", class: "btn btn-primary" }, "Allow"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ctx.run(async () => {
        await api.post("/embed/origins", { origin: origin.value });
        await ctx.reload();
      });
    });
    const rows = origins.map((o) => h("tr", {}, h("td", {}, h("code", {}, o)),
      h("td", { class: "actions" }, button("Remove", () => ctx.run(async () => {
        await api.delete(`/embed/origins?origin=${encodeURIComponent(o)}`);
        await ctx.reload();
      }), { class: "btn-danger" }))));
    replaceChildren(ctx.body,
      h("p", { class: "muted" }, "Pages on these origins may show your rooms in an iframe (Content-Security-Policy frame-ancestors). Podium's own pages always may."),
      form, table(["Origin", ""], rows, "origins-table"));
  });
}

export function mountRecordings(root, api) {
  return section(root, "Recordings", async (ctx) => {
    const found = await api.optional("/recordings?limit=200");
    if (found === null) {
      replaceChildren(ctx.body, h("p", { class: "muted", "data-testid": "recordings-unavailable" }, "This server does not record yet."));
      return;
    }
    const player = h("div", { class: "detail", "data-testid": "recording-player" });
    // Files need the API secret, so they are fetched here and handed to the player as blobs.
    const fetchFile = async (r) => {
      const url = await api.objectUrl(r.download_url);
      setTimeout(() => URL.revokeObjectURL(url), 10 * 60 * 1000);
      return url;
    };
    const rows = (found.recordings || []).map((r) => h("tr", { dataset: { recording: r.id, state: r.state } },
      h("td", {}, h("code", {}, r.id)), h("td", {}, r.room), h("td", {}, r.state, r.error ? ` — ${r.error}` : ""),
      h("td", {}, when(r.started_at)), h("td", {}, r.duration ? `${Math.round(r.duration)} s` : "—"),
      h("td", {}, r.size ? `${(r.size / 1e6).toFixed(1)} MB` : "—"),
      h("td", { class: "actions" },
        r.download_url ? button("Play", () => ctx.run(async () => {
          replaceChildren(player, h("h3", {}, `${r.room} · ${when(r.started_at)}`),
            h("video", { controls: true, autoplay: true, src: await fetchFile(r), style: "max-width:100%;max-height:60vh" }));
        })) : null,
        r.download_url ? button("Download", () => ctx.run(async () => {
          const a = h("a", { href: await fetchFile(r), download: `${r.room}-${r.id}.mp4` });
          document.body.append(a);
          a.click();
          a.remove();
        })) : null,
        button("Delete", () => ctx.run(async () => {
          if (!window.confirm("Delete this recording and its files?")) return;
          await api.delete(`/recordings/${r.id}`);
          await ctx.reload();
        }), { class: "btn-danger" })),
    ));
    replaceChildren(ctx.body, table(["Recording", "Room", "State", "Started", "Length", "Size", ""], rows, "recordings-table"), player);
  });
}

export function mountPlugins(root, api) {
  return section(root, "Plugins", async (ctx) => {
    const found = await api.optional("/plugins");
    if (found === null) {
      replaceChildren(ctx.body, h("p", { class: "muted" }, "This server has no plugins."));
      return;
    }
    const cards = (found.plugins || []).map((p) => {
      const enabled = h("input", { type: "checkbox", checked: p.enabled, "data-testid": `plugin-enabled-${p.name}` });
      const form = schemaForm(p.config_schema, p.config);
      const save = h("button", { type: "submit", class: "btn btn-primary", "data-testid": `plugin-save-${p.name}` }, "Save");
      const el = h("form", { class: "card plugin", dataset: { plugin: p.name } },
        h("h3", {}, p.title || p.name, p.version ? h("span", { class: "muted" }, ` ${p.version}`) : null),
        h("p", { class: "muted" }, p.description || ""),
        p.disabled_reason ? h("p", { class: "notice", dataset: { kind: "error" } }, p.disabled_reason) : null,
        h("label", { class: "check" }, enabled, "Enabled for my rooms"), form.el, save);
      el.addEventListener("submit", (e) => {
        e.preventDefault();
        ctx.run(async () => {
          await api.put(`/plugins/${p.name}`, { enabled: enabled.checked, config: form.read() });
          ctx.say(`${p.title || p.name} saved.`);
          await ctx.reload();
        });
      });
      return el;
    });
    replaceChildren(ctx.body, cards.length ? cards : h("p", { class: "muted" }, "No plugins installed."));
  });
}
