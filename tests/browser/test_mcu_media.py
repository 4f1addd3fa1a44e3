"""Large rooms in the browser: the composite from the server's MCU plays, and so does the mix."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.support.analysis import PALETTE, TONES_HZ
from tests.support.browser import BrowserParticipant, Meeting, eventually
from tests.support.metrics import wait_metric
from tests.support.synthetic import SyntheticParticipant

#: Connecting to the media node: gather ICE, offer through core, answer, DTLS, first keyframe.
CONNECT_WITHIN = 45.0  # 2-5 s idle; a benchmark beside the suite made it 15+


async def mcu_stats(person: BrowserParticipant) -> dict[str, Any]:
    """The MCU connection's inbound totals (empty while there is no connection)."""
    stats: dict[str, Any] | None = await person.page.evaluate("window.podium.mcu.stats()")
    return stats or {}


async def composite_flows(person: BrowserParticipant) -> dict[str, Any]:
    """The composite's frames and the mix's samples keep arriving, and the stage shows a picture."""
    first = await eventually(
        lambda: mcu_stats(person),
        lambda s: s.get("connectionState") == "connected" and s["video"]["framesDecoded"] > 0,
        f"{person.identity}: composite arriving",
        timeout=CONNECT_WITHIN,
    )
    await asyncio.sleep(1)
    later = await eventually(
        lambda: mcu_stats(person),
        lambda s: (
            s is not None
            and s["video"]["framesDecoded"] > first["video"]["framesDecoded"]
            and s["audio"]["totalSamplesReceived"] > first["audio"]["totalSamplesReceived"]
        ),
        f"{person.identity}: composite frames and mixed audio rising",
        timeout=10,
    )
    playing = await person.page.evaluate(
        """() => { const v = document.querySelector('[data-testid=composite] video');
                   return v && !v.paused && v.videoWidth > 0 ? [v.videoWidth, v.currentTime] : null; }"""
    )
    assert playing is not None and playing[0] >= 640, f"{person.identity}: the composite video is not playing"
    return later


async def test_two_browsers_in_an_mcu_room_get_the_composite_and_the_mix(meeting: Meeting) -> None:
    room = await meeting.room(media_mode="mcu")
    ann = await meeting.join(room, "ann", "host")
    bob = await meeting.join(room, "bob")
    for person in (ann, bob):
        stats = await composite_flows(person)
        assert stats["video"]["frameWidth"] in (640, 1280)  # one of the MCU's two tiers
        # The composite comes down in H.264 (the codec live streams and recordings reuse), while
        # the browser's camera goes up in VP8.
        assert stats["video"]["codec"] == "video/H264", stats
        # No peer-to-peer connections in an MCU room: everything goes through the server.
        assert (await person.mesh_stats())["peers"] == []
    # Chromium puts its microphone's level on every audio packet: the fake device's quiet
    # between beeps is left undecoded by the node.
    await wait_metric(meeting.tenant.base_url, "podium_media_node_audio_skipped_total", 50)
    await ann.screenshot("mcu-room")

    # A window 720 px tall shows the 720p tier; shrunk (an embed, a docked window) it gets
    # 360p, and 720p again once it grows (media.receive, no new connection).
    for height, tier in ((720, 720), (400, 360), (900, 720)):
        await ann.page.set_viewport_size({"width": 1280, "height": height})
        await ann.page.wait_for_function(
            """(tier) => document.querySelector('[data-testid=composite] video')?.videoHeight === tier""",
            arg=tier,
            timeout=15_000,
            polling=200,
        )


async def test_a_screen_shared_from_the_browser_takes_the_composite_stage(meeting: Meeting) -> None:
    room = await meeting.room(media_mode="mcu")
    ann = await meeting.join(room, "ann", "host")
    watcher = await SyntheticParticipant.join(
        meeting.tenant, room, "maroon", PALETTE["maroon"], TONES_HZ[0], latency_hz=0
    )
    try:
        await watcher.wait_mcu_connected(30)
        await composite_flows(ann)
        mine = {"maroon": PALETTE["maroon"]}
        # Two cameras in the grid: the watcher's is half of it.
        await watcher.wait_shares(mine, {"maroon": (0.15, 1)}, "a camera tile of the grid")

        share = ann.page.get_by_test_id("toggle-screen")
        await expect(share).to_be_enabled()
        await share.click()
        await expect(share).to_have_attribute("aria-pressed", "true")
        # The screen takes the stage: the watcher's camera shrinks into the strip below it.
        await watcher.wait_shares(mine, {"maroon": (0.001, 0.06)}, "a strip tile under the screen")
        await share.click()
        await watcher.wait_shares(mine, {"maroon": (0.15, 1)}, "back to a grid tile")
    finally:
        await watcher.leave()
