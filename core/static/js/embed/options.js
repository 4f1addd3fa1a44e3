// Link options for embedders (podium-embed.js sets them; a plain join link may too):
// `chat=0` hides the chat, `layout=grid|speaker` picks the stage layout, `lang=xx` sets the
// page language, `name=…` the display name to join with. `prejoin=0`, `audio=0`, `video=0`
// are read by app.js itself.

export const LAYOUTS = ["grid", "speaker"];

const LANG = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/;

export function applyEmbedOptions({ store, options, app, mediaSync, doc = document }) {
  if (options.get("chat") === "0") {
    app.dataset.chat = "off";
    store.dispatch({ type: "ui/tab", tab: "participants" });
    store.dispatch({ type: "ui/view", view: "stage" });
  }
  const lang = options.get("lang");
  if (lang && LANG.test(lang)) doc.documentElement.lang = lang;
  const name = options.get("name");
  if (name && name.trim()) mediaSync.setName(name);

  const layout = {
    /** Switch the stage layout; returns the layout now shown. */
    set(value) {
      if (!LAYOUTS.includes(value)) throw { code: "invalid_layout", message: `layout must be one of ${LAYOUTS.join(", ")}` };
      app.dataset.layout = value;
      store.dispatch({ type: "ui/layout", layout: value });
      return value;
    },
  };
  const wanted = options.get("layout");
  layout.set(LAYOUTS.includes(wanted) ? wanted : "grid");
  return { layout };
}
