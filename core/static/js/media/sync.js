// Tells the room what this page's media is doing (`self.update`): mic and camera on/off and
// screen sharing, on every (re)join and whenever it changes, plus the display name chosen on
// the pre-join screen. Tiles everywhere show these flags.

export function mountMediaSync({ store, connection }) {
  let wantedName = null;
  const announce = (state) => {
    const { you } = state;
    if (!you || state.phase !== "joined" || !connection.isOpen) return;
    const local = state.media.local;
    const update = {};
    if (you.audio_muted !== !local.audio) update.audio_muted = !local.audio;
    if (you.video_muted !== !local.video) update.video_muted = !local.video;
    if (Boolean(you.screen_sharing) !== local.screen) update.screen_sharing = local.screen;
    if (wantedName && you.name !== wantedName) update.name = wantedName;
    if (Object.keys(update).length) connection.request("self.update", update).catch(() => {});
  };
  store.subscribe((state, action, prev) => {
    if (action.type === "welcome" || (action.type === "media/local" && state.media.local !== prev.media.local)) announce(state);
  });
  return {
    /** The name typed on the pre-join screen (applied once joined). */
    setName(name) {
      wantedName = name && name.trim() ? name.trim().slice(0, 200) : null;
      announce(store.getState());
    },
  };
}
