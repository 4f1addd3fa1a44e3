// Small building blocks shared by the dashboard's sections.

import { h, replaceChildren } from "../dom.js";

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

export function table(headers, rows, testid) {
  return h("table", { class: "table", "data-testid": testid },
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "Nothing yet."))),
  );
}

export const button = (label, onClick, extra = {}) =>
  h("button", { type: "button", class: `btn ${extra.class || "btn-quiet"}`, ...extra, on: { click: onClick } }, label);

/** A section's frame: title, an error/notice line, and a body re-rendered by `load`. */
export function section(root, title, load) {
  const notice = h("p", { class: "notice", role: "status", "data-testid": "notice", hidden: true });
  const body = h("div", { class: "section-body" });
  replaceChildren(root, h("h2", {}, title), notice, body);
  const ctx = {
    body,
    say(text, kind = "ok") {
      notice.hidden = !text;
      notice.textContent = text || "";
      notice.dataset.kind = kind;
    },
    async run(work) {
      try {
        await work();
      } catch (err) {
        ctx.say(`${err.code ? `${err.code}: ` : ""}${err.message}`, "error");
      }
    },
    reload: () => ctx.run(() => load(ctx)),
  };
  ctx.reload();
  return ctx;
}

/** Shows a secret once, with a copy button. */
export function secretBox(label, secret) {
  const code = h("code", { "data-testid": "secret" }, secret);
  return h("div", { class: "secret-once", role: "alert" },
    h("strong", {}, label), " — shown only this once: ", code, " ",
    button("Copy", () => navigator.clipboard?.writeText(secret)));
}
