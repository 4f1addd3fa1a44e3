// A form generated from a plugin's JSON Schema (object with typed properties); anything the
// generator does not know is edited as JSON. The server validates the config again.

import { h } from "../dom.js";

function field(name, schema, value, required) {
  const id = `cfg-${name}`;
  const label = h("label", { for: id }, schema.title || name, required ? " *" : "");
  const help = schema.description ? h("small", { class: "help" }, schema.description) : null;
  let input;
  let read;
  if (Array.isArray(schema.enum)) {
    input = h("select", { id, name }, schema.enum.map((v) => h("option", { value: String(v), selected: v === value }, String(v))));
    read = () => schema.enum.find((v) => String(v) === input.value);
  } else if (schema.type === "boolean") {
    input = h("input", { id, name, type: "checkbox", checked: Boolean(value ?? schema.default) });
    read = () => input.checked;
  } else if (schema.type === "integer" || schema.type === "number") {
    input = h("input", { id, name, type: "number", step: schema.type === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum, value: value ?? schema.default ?? "" });
    read = () => (input.value === "" ? undefined : Number(input.value));
  } else if (schema.type === "string") {
    input = h("input", { id, name, type: "text", maxlength: schema.maxLength, value: value ?? schema.default ?? "" });
    read = () => (input.value === "" && !required ? undefined : input.value);
  } else if (schema.type === "array" && schema.items?.type === "string") {
    input = h("input", { id, name, type: "text", value: (value ?? schema.default ?? []).join(", "), placeholder: "comma-separated" });
    read = () => input.value.split(",").map((s) => s.trim()).filter(Boolean);
  } else {
    input = h("textarea", { id, name, rows: 3 }, JSON.stringify(value ?? schema.default ?? null, null, 2));
    read = () => JSON.parse(input.value || "null");
  }
  input.dataset.testid = `config-${name}`;
  return { el: h("div", { class: "field" }, label, input, help), read };
}

/** `{el, read()}`: the form, and a function returning the config object it holds. */
export function schemaForm(schema, value = {}) {
  if (!schema || schema.type !== "object" || !schema.properties) {
    const area = h("textarea", { rows: 6, "data-testid": "config-json" }, JSON.stringify(value || {}, null, 2));
    return { el: h("div", { class: "field" }, h("label", {}, "Configuration (JSON)"), area), read: () => JSON.parse(area.value || "{}") };
  }
  const required = new Set(schema.required || []);
  const fields = Object.entries(schema.properties).map(([name, sub]) => [name, field(name, sub, value?.[name], required.has(name))]);
  return {
    el: h("div", { class: "schema-form" }, fields.map(([, f]) => f.el)),
    read() {
      const out = {};
      for (const [name, f] of fields) {
        const v = f.read();
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
}
