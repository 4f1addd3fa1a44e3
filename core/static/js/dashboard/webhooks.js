// Webhooks: endpoints (create, filter, test, enable, rotate, delete), the delivery log with
// every attempt, and redelivery.

import { h, replaceChildren } from "../dom.js";
import { button, secretBox, section, table, when } from "./ui.js";

export function mountWebhooks(root, api) {
  let types = [];
  /** A secret to show once, on the next render. */
  let flash = null;
  const s = section(root, "Webhooks", async (ctx) => {
    types = await api.get("/webhooks/event-types");
    const endpoints = await api.get("/webhooks/endpoints");
    const tenant = await api.get("/tenant");
    const log = h("div", { class: "detail", "data-testid": "delivery-log" });
    const rows = endpoints.map((ep) => h("tr", { dataset: { endpoint: ep.id } },
      h("td", {}, h("code", {}, ep.url), ep.description ? h("div", { class: "muted" }, ep.description) : null),
      h("td", {}, ep.events.join(", ")),
      h("td", { "data-testid": "endpoint-state" }, ep.enabled ? "enabled" : `disabled${ep.disabled_reason ? `: ${ep.disabled_reason}` : ""}`),
      h("td", { class: "actions" },
        button("Deliveries", () => ctx.run(() => showLog(ctx, log, ep))),
        button("Send test", () => ctx.run(async () => {
          await api.post(`/webhooks/endpoints/${ep.id}/test`);
          ctx.say("Test event queued.");
          await showLog(ctx, log, ep);
        })),
        button(ep.enabled ? "Disable" : "Enable", () => ctx.run(async () => {
          await api.patch(`/webhooks/endpoints/${ep.id}`, { enabled: !ep.enabled });
          await ctx.reload();
        })),
        button("Rotate secret", () => ctx.run(async () => {
          const r = await api.post(`/webhooks/endpoints/${ep.id}/rotate-secret`, {});
          replaceChildren(log, secretBox(`New secret (the old one signs too until ${when(r.previous_secret_valid_until)})`, r.secret));
        })),
        button("Delete", () => ctx.run(async () => {
          if (!window.confirm(`Delete the endpoint ${ep.url}?`)) return;
          await api.delete(`/webhooks/endpoints/${ep.id}`);
          await ctx.reload();
        }), { class: "btn-danger" })),
    ));
    const dev = h("input", { type: "checkbox", checked: tenant.webhook_development, disabled: !tenant.webhook_development_allowed, "data-testid": "webhook-development" });
    dev.addEventListener("change", () => ctx.run(async () => {
      await api.patch("/tenant", { webhook_development: dev.checked });
      ctx.say(dev.checked ? "Endpoints may now point at local addresses." : "Only public addresses are allowed.");
    }));
    const shown = flash && secretBox(...flash);
    flash = null;
    replaceChildren(ctx.body,
      shown,
      h("details", { class: "card" }, h("summary", { "data-testid": "new-endpoint" }, "New endpoint"), endpointForm(ctx, log)),
      h("label", { class: "check" }, dev, tenant.webhook_development_allowed
        ? "Development: allow loopback and private addresses (never in production)"
        : "Development mode (local receivers) is turned off on this server"),
      table(["URL", "Events", "State", ""], rows, "endpoints-table"),
      log);
  });

  function endpointForm(ctx, log) {
    const url = h("input", { type: "url", required: true, placeholder: "https://example.com/podium-webhooks", "data-testid": "endpoint-url" });
    const description = h("input", { maxlength: 200, placeholder: "optional" });
    const all = h("input", { type: "checkbox", checked: true, value: "*" });
    const boxes = types.map((t) => h("label", { class: "check", title: t.description },
      h("input", { type: "checkbox", value: t.name, "data-testid": `event-${t.name}` }), t.name, t.opt_in ? " (opt-in)" : ""));
    const form = h("form", { class: "inline-form", "data-testid": "endpoint-form" },
      h("label", { class: "field wide" }, "URL", url),
      h("label", { class: "field" }, "Description", description),
      h("fieldset", { class: "events" }, h("legend", {}, "Events"), h("label", { class: "check" }, all, "All (except opt-in)"), boxes),
      h("button", { type: "submit", class: "btn btn-primary" }, "Add endpoint"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const picked = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      const events = [...(all.checked ? ["*"] : []), ...picked];
      ctx.run(async () => {
        const created = await api.post("/webhooks/endpoints", { url: url.value, description: description.value, events: events.length ? events : ["*"] });
        flash = ["Signing secret", created.secret];
        await ctx.reload();
      });
    });
    return form;
  }

  async function showLog(ctx, log, ep) {
    const { messages } = await api.get(`/webhooks/endpoints/${ep.id}/messages?limit=50`);
    const attempts = h("div", { class: "attempts", "data-testid": "attempts" });
    const rows = messages.map((m) => h("tr", { dataset: { message: m.id, status: m.status } },
      h("td", {}, h("code", {}, m.id)),
      h("td", {}, m.event_type),
      h("td", { "data-testid": "message-status" }, m.status, m.last_status_code ? ` (${m.last_status_code})` : ""),
      h("td", {}, String(m.attempts)),
      h("td", {}, when(m.created_at)),
      h("td", { class: "actions" },
        button("Attempts", () => ctx.run(async () => {
          const full = await api.get(`/webhooks/messages/${m.id}`);
          replaceChildren(attempts,
            h("h4", {}, `${m.event_type} · ${m.id}`),
            h("pre", { class: "payload" }, JSON.stringify(full.payload, null, 2)),
            table(["#", "Started", "Took", "Answer", "Error"], full.attempt_log.map((a) => h("tr", {},
              h("td", {}, String(a.attempt)), h("td", {}, when(a.started_at)), h("td", {}, `${a.duration_ms} ms`),
              h("td", {}, a.status_code == null ? "—" : String(a.status_code)), h("td", {}, a.error || a.response_body || ""))), "attempt-table"));
        })),
        button("Redeliver", () => ctx.run(async () => {
          await api.post(`/webhooks/messages/${m.id}/redeliver`);
          ctx.say(`Message ${m.id} queued again.`);
          await showLog(ctx, log, ep);
        }))),
    ));
    replaceChildren(log,
      h("h3", {}, "Delivery log — ", h("code", {}, ep.url)),
      button("Refresh", () => ctx.run(() => showLog(ctx, log, ep))),
      table(["Message", "Event", "Status", "Attempts", "Created", ""], rows, "messages-table"),
      attempts);
  }
  return s;
}
