// Verify a Podium webhook delivery in Node.js (Standard Webhooks signatures). No dependencies.
//
//   import { verifyWebhook } from "./verify-webhook.mjs";
//   app.post("/podium-webhooks", express.raw({ type: "application/json" }), (req, res) => {
//     const event = verifyWebhook(process.env.PODIUM_WEBHOOK_SECRET, req.headers, req.body);
//     …; res.sendStatus(204);
//   });
//
// Pass the body exactly as received (a Buffer or string): re-serialised JSON does not verify.

import { createHmac, timingSafeEqual } from "node:crypto";

export class WebhookVerificationError extends Error {}

/** Checks the `webhook-*` headers against the raw body; returns the parsed event or throws. */
export function verifyWebhook(secret, headers, body, { toleranceSeconds = 300, now = Date.now() / 1000 } = {}) {
  const header = (name) => (typeof headers.get === "function" ? headers.get(name) : headers[name] ?? headers[name.toLowerCase()]);
  const id = header("webhook-id");
  const stamp = header("webhook-timestamp");
  const signatures = header("webhook-signature");
  if (!id || !stamp || !signatures) throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature");
  const timestamp = Number.parseInt(stamp, 10);
  if (!Number.isFinite(timestamp) || String(timestamp) !== String(stamp).trim()) throw new WebhookVerificationError("webhook-timestamp is not an integer");
  if (Math.abs(now - timestamp) > toleranceSeconds) throw new WebhookVerificationError("webhook-timestamp is too far from now");
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const expected = Buffer.from("v1," + createHmac("sha256", key).update(`${id}.${timestamp}.`).update(raw).digest("base64"));
  for (const candidate of String(signatures).split(" ")) {
    const given = Buffer.from(candidate);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return JSON.parse(raw.toString("utf8"));
  }
  throw new WebhookVerificationError("no signature matches");
}
