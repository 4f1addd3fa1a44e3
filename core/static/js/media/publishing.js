// Whether this page publishes camera and microphone. Off a webinar's stage (an attendee until a
// host invites them up) it only watches and listens: no device is opened, the browser asks no
// permission, and the MCU connection only receives. Going on stage opens camera and microphone
// and offers again; leaving it releases them (the camera light goes off) and stops sending on the
// same connection, so the picture does not blink (the node decodes nothing of it from then on).

import { isPublishing } from "../store.js";
import { peekToken } from "../ui/prejoin.js";

/** Whether the page starts view-only: the server marked the room a webinar, and the join token
 *  is an attendee's (hosts and moderators join on stage). */
export function startsViewOnly(doc, token) {
  const webinar = doc.querySelector('meta[name="podium-webinar"]')?.content === "1";
  const role = peekToken(token).role;
  return webinar && role !== "host" && role !== "moderator";
}

export class Publishing {
  /** @param {{store, local, viewOnly: boolean, onChange: (publishing: boolean) => void}} options */
  constructor({ store, local, viewOnly, onChange }) {
    this.store = store;
    this.local = local;
    this.onChange = onChange;
    /** Before the room says (welcome), the page's own guess. */
    this.viewOnly = viewOnly;
    this.publishing = !viewOnly;
    this.wanted = { audio: true, video: true };
    store.subscribe((state, action, prev) => this.follow(state, prev));
  }

  /** Whether the next MCU offer sends camera and microphone. */
  allowed() {
    const state = this.store.getState();
    return state.you ? isPublishing(state) : !this.viewOnly;
  }

  /** Open camera and microphone unless this page starts off stage (then nothing is asked). */
  open(wanted = this.wanted) {
    this.wanted = wanted;
    return this.allowed() ? this.local.start(wanted) : Promise.resolve(this.local.stream);
  }

  async follow(state, prev) {
    if (!state.you || state.terminal || state.you === prev?.you) return;
    const now = isPublishing(state);
    const viewer = Boolean(state.you.viewer);
    const wasViewer = Boolean(prev?.you?.viewer);
    if (now === this.publishing && viewer === wasViewer) return;
    const changed = now !== this.publishing;
    this.publishing = now;
    if (changed && now) await this.local.start({ audio: true, video: true });
    else if (changed) this.local.stop();
    this.onChange(now);
  }
}
