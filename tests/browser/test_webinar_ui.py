"""Webinars in the browser: an attendee watches and listens without a camera or microphone, raises
a hand, is invited on stage (their camera joins the composite) and sent back; past the room's
interactive seats an attendee watches the live stream and chats like anyone."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.browser.test_mcu_media import composite_flows
from tests.support.browser import BrowserParticipant, Meeting, eventually
from tests.support.metrics import metric

#: Counts the page's calls for camera or microphone (none may happen off stage).
COUNT_GET_USER_MEDIA = """
window.__getUserMedia = 0;
const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.__getUserMedia += 1;
  return original(constraints);
};
"""

#: Share of the composite showing Chromium's fake camera (green) in its top band, and in the left
#: and right halves of its middle band. One camera fills the 16:9 canvas (the top band too); two
#: sit side by side, each in the middle band of its half, with the top band empty.
_COMPOSITE_BANDS = """() => {
  const video = document.querySelector('[data-testid=composite] video');
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  const [w, h] = [canvas.width, canvas.height] = [video.videoWidth, video.videoHeight];
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0);
  const share = (x0, y0, x1, y1) => {
    const { data } = context.getImageData(x0, y0, x1 - x0, y1 - y0);
    let green = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 1] > 40 && data[i + 1] > data[i] + 30 && data[i + 1] > data[i + 2] + 30) green++;
    }
    return green / (data.length / 4);
  };
  return { top: share(0, 0, w, Math.round(h * 0.15)),
           left: share(0, Math.round(h * 0.35), w / 2, Math.round(h * 0.65)),
           right: share(w / 2, Math.round(h * 0.35), w, Math.round(h * 0.65)) };
}"""


async def bands(person: BrowserParticipant) -> dict[str, float] | None:
    found: dict[str, float] | None = await person.page.evaluate(_COMPOSITE_BANDS)
    return found


def one_camera(b: dict[str, float] | None) -> bool:
    return b is not None and b["top"] > 0.3 and min(b["left"], b["right"]) > 0.3


def two_cameras(b: dict[str, float] | None) -> bool:
    return b is not None and b["top"] < 0.05 and min(b["left"], b["right"]) > 0.3


async def local_media(person: BrowserParticipant) -> dict[str, Any]:
    """What the page asked for and sends: getUserMedia calls, local tracks, MCU senders with a track."""
    got: dict[str, Any] = await person.page.evaluate(
        """() => {
          const pc = window.podium.mcu.pc;
          return { calls: window.__getUserMedia, tracks: window.podium.local.stream.getTracks().length,
                   sending: pc ? pc.getSenders().filter((s) => s.track).length : 0 };
        }"""
    )
    return got


async def off_stage_decoded(meeting: Meeting) -> float:
    value = await metric(meeting.tenant.base_url, "podium_media_node_uplink_frames_total", stage="off")
    assert value is not None
    return value


async def test_an_attendee_watches_raises_a_hand_and_is_invited_on_stage(meeting: Meeting) -> None:
    room = await meeting.room(webinar=True)
    host = await meeting.join(room, "hana", "host")
    ann = await meeting.open(room, "ann", init_script=COUNT_GET_USER_MEDIA)
    # Pre-join: joining as a viewer, no preview, nothing asked of the browser.
    await expect(ann.page.get_by_test_id("prejoin-viewer")).to_be_visible()
    await expect(ann.page.get_by_test_id("prejoin-preview")).to_have_count(0)
    await ann.enter()
    before = await off_stage_decoded(meeting)

    # Ann sees and hears the host's composite, and sends nothing: no device, no track, no sender.
    await composite_flows(ann)
    await eventually(lambda: bands(ann), one_camera, "the host's camera on Ann's composite")
    assert await local_media(ann) == {"calls": 0, "tracks": 0, "sending": 0}
    await expect(ann.page.get_by_test_id("toggle-mic")).to_be_hidden()
    await expect(ann.page.get_by_test_id("toggle-camera")).to_be_hidden()
    assert await off_stage_decoded(meeting) == before  # the node decodes nothing of hers

    # She raises her hand; the host sees it in the People panel and invites her on stage.
    await ann.page.get_by_test_id("hand-button").click()
    await expect(ann.page.get_by_test_id("hand-button")).to_have_attribute("aria-pressed", "true")
    hand = host.page.get_by_test_id("hand-row")
    await expect(hand).to_have_count(1)
    await expect(hand).to_contain_text("1. Ann")
    await hand.get_by_test_id("hand-invite").click()
    await expect(ann.page.get_by_test_id("toast-on-stage")).to_be_visible()
    await expect(ann.page.get_by_test_id("hand-button")).to_have_attribute("aria-pressed", "false")
    await expect(host.page.get_by_test_id("hands-section")).to_be_hidden()
    # Her camera opens now, and joins the composite beside the host's.
    await eventually(
        lambda: local_media(ann), lambda m: m["calls"] > 0 and m["sending"] >= 2, "Ann publishing"
    )
    await eventually(lambda: bands(host), two_cameras, "Ann's camera on the host's composite", timeout=60)

    # Back to the audience: her tile goes, and her camera is released.
    await host.row(await ann.participant_id()).get_by_test_id("participant-actions").click()
    await host.page.get_by_test_id("action-stage-off").click()
    await expect(ann.page.get_by_test_id("toast-off-stage")).to_be_visible()
    await eventually(lambda: bands(host), one_camera, "the host alone on the composite again", timeout=60)
    await eventually(
        lambda: local_media(ann), lambda m: m["tracks"] == 0 and m["sending"] == 0, "Ann sends nothing"
    )
    await asyncio.sleep(1)
    assert await off_stage_decoded(meeting) == before
    await ann.screenshot("webinar-attendee")


async def test_past_the_seats_an_attendee_watches_the_stream_and_chats(meeting: Meeting) -> None:
    room = await meeting.room(webinar=True, max_participants=2)
    host = await meeting.tenant.join(room, "hana", "host")
    seated = await meeting.tenant.join(room, "ann")
    cat = await meeting.join(room, "cat", init_script=COUNT_GET_USER_MEDIA)
    state = await cat.state()
    assert state["you"]["viewer"] is True and state["watch"]["playlist"].startswith("/watch/")

    # The live stream plays in the stage (hls.js), not a WebRTC connection.
    video = cat.page.get_by_test_id("stream-video")
    await expect(video).to_be_visible()
    first = await eventually(
        lambda: cat.page.evaluate("window.podium.stream.stats()"),
        lambda s: s["playing"] and s["currentTime"] > 0,
        "the live stream playing",
        timeout=60,
    )
    await eventually(
        lambda: cat.page.evaluate("window.podium.stream.stats()"),
        lambda s: s["currentTime"] > first["currentTime"] + 1,
        "the live stream advancing",
    )
    assert await cat.page.evaluate("window.podium.mcu.pc") is None
    assert await local_media(cat) == {"calls": 0, "tracks": 0, "sending": 0}

    # Chat works both ways over the room's WebSocket.
    await cat.send_chat("Hello from the stream")
    assert (await host.next("chat.message"))["message"]["text"] == "Hello from the stream"
    await host.request({"type": "chat.send", "text": "Welcome, Cat"})
    assert await cat.chat_texts(until="Welcome, Cat") == ["Hello from the stream", "Welcome, Cat"]
    await seated.leave()
    await host.leave()
