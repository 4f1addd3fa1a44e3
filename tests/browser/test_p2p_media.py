"""Peer-to-peer media in the browser: people see and hear each other, and it survives what rooms do.

"Flowing" is measured the way a person notices it: each remote peer's decoded video frames and
received audio samples (``window.podium.mesh.stats()``) keep rising, and the remote tiles' videos
have a picture and advance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from playwright.async_api import expect

from tests.support.browser import BrowserParticipant, Meeting, eventually, publish_screenshot

#: Seconds within which people who are in the same room must be connected to each other. Locally a
#: pair connects in well under a second; ten leaves room for a loaded machine, but not for a
#: connection that only comes up after the browser gives up on ICE and restarts it (~12 s).
CONNECT_WITHIN = 10.0


def _peers(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {peer["identity"]: peer for peer in stats["peers"]}


def _connected(stats: dict[str, Any]) -> set[str]:
    return {peer["identity"] for peer in stats["peers"] if peer["connectionState"] == "connected"}


def _only_peer(identity: str) -> Callable[[dict[str, Any]], bool]:
    return lambda stats: set(_peers(stats)) == {identity}


async def media_flows(person: BrowserParticipant, identities: set[str]) -> dict[str, dict[str, Any]]:
    """Wait until ``person`` is connected to exactly ``identities`` and gets rising video and audio
    from each; return the later of the two samples (per identity)."""
    first = await eventually(
        person.mesh_stats,
        lambda s: _connected(s) == identities == set(_peers(s)),
        f"{person.identity} connected to {sorted(identities)}",
        timeout=CONNECT_WITHIN,
    )
    before = _peers(first)
    await asyncio.sleep(1)

    def rising(stats: dict[str, Any]) -> bool:
        now = _peers(stats)
        return set(now) == identities and all(
            now[i]["video"]["framesDecoded"] > before[i]["video"]["framesDecoded"]
            and now[i]["video"]["frameWidth"] > 0
            and now[i]["audio"]["totalSamplesReceived"] > before[i]["audio"]["totalSamplesReceived"]
            for i in identities
        )

    later = await eventually(
        person.mesh_stats, rising, f"{person.identity}: video frames and audio samples rising", timeout=10
    )
    return _peers(later)


async def videos_play(person: BrowserParticipant, count: int) -> None:
    """Every remote tile on ``person``'s stage shows a video with a picture that advances."""
    first = await eventually(
        person.remote_videos,
        lambda vs: len(vs) == count and all(v["playing"] and v["width"] > 0 for v in vs),
        f"{person.identity} sees {count} remote videos playing",
    )
    times = {v["participantId"]: v["time"] for v in first}
    await eventually(
        person.remote_videos,
        lambda vs: len(vs) == count and all(v["time"] > times.get(v["participantId"], 0) for v in vs),
        f"{person.identity}'s remote videos advance",
    )


async def test_three_people_see_and_hear_each_other(meeting: Meeting) -> None:
    room = await meeting.room(name="Weekly design review")
    people = await meeting.join_all(room, ("ada", "host"), ("grace", "attendee"), ("alan", "attendee"))
    everyone = {p.identity for p in people}
    for person in people:
        await media_flows(person, everyone - {person.identity})
        await videos_play(person, 2)

    shot = await people[1].screenshot("room")
    publish_screenshot(shot, "docs/images/room.png")


async def test_prejoin_shows_the_camera_and_joins_with_the_choices_made(meeting: Meeting) -> None:
    room = await meeting.room()
    grace = await meeting.join(room, "grace")
    ada = await meeting.open(room, "ada")
    assert await ada.where() == "prejoin"
    page = ada.page

    # The preview shows the camera before anything is sent to the room.
    await ada.wait_for(
        "() => { const v = document.querySelector('[data-testid=prejoin-preview]');"
        " return v.videoWidth > 0 && v.currentTime > 0 && !v.paused; }"
    )
    cameras = await page.get_by_test_id("prejoin-camera").locator("option").all_inner_texts()
    mics = await page.get_by_test_id("prejoin-mic").locator("option").all_inner_texts()
    assert any("fake" in label.lower() for label in cameras), cameras
    assert any("fake" in label.lower() for label in mics), mics
    await grace.sees_participants({"grace"})  # nobody has joined yet
    await page.get_by_test_id("prejoin-name").fill("Ada Lovelace")
    await ada.screenshot("prejoin")

    # Join with microphone and camera off.
    for toggle in ("prejoin-toggle-mic", "prejoin-toggle-camera"):
        await expect(page.get_by_test_id(toggle)).to_have_attribute("aria-pressed", "true")
        await page.get_by_test_id(toggle).click()
        await expect(page.get_by_test_id(toggle)).to_have_attribute("aria-pressed", "false")
    await expect(page.get_by_test_id("prejoin-preview")).to_be_hidden()
    await page.get_by_test_id("prejoin-join").click()
    assert await ada.where() == "joined"

    ada_id = await ada.participant_id()
    tile = grace.tile(ada_id)
    await expect(tile).to_contain_text("Ada Lovelace")
    await expect(grace.row(ada_id)).to_contain_text("Ada Lovelace")
    await expect(tile.get_by_role("img", name="Microphone off")).to_be_visible()
    await expect(page.get_by_test_id("toggle-mic")).to_have_attribute("aria-pressed", "false")
    await expect(page.get_by_test_id("toggle-camera")).to_have_attribute("aria-pressed", "false")
    await media_flows(grace, {"ada"})  # connected all the same (black frames, silence)
    assert not (await grace.remote_videos())[0]["playing"]

    # Camera on from the room: Grace's tile for Ada starts playing.
    await page.get_by_test_id("toggle-camera").click()
    await expect(page.get_by_test_id("toggle-camera")).to_have_attribute("aria-pressed", "true")
    await videos_play(grace, 1)


async def test_a_removed_attendee_drops_out_of_everyones_mesh(meeting: Meeting) -> None:
    room = await meeting.room()
    hana, ann, bob = await meeting.join_all(room, ("hana", "host"), ("ann", "attendee"), ("bob", "attendee"))
    await media_flows(hana, {"ann", "bob"})
    await media_flows(ann, {"hana", "bob"})
    bob_id = await bob.participant_id()

    await hana.row(bob_id).get_by_test_id("participant-actions").click()
    await hana.page.get_by_test_id("participant-menu").get_by_test_id("action-kick").click()
    await hana.page.locator("[data-testid=confirm-kick]").get_by_test_id("dialog-confirm").click()

    await expect(bob.screen("kicked")).to_be_visible()
    for viewer, other in ((hana, "ann"), (ann, "hana")):
        await expect(viewer.tile(bob_id)).to_have_count(0)
        await eventually(viewer.mesh_stats, _only_peer(other), f"{viewer.identity} drops bob")
        await media_flows(viewer, {other})
    await eventually(bob.mesh_stats, lambda s: s["peers"] == [], "bob's peer connections closed")
    # His camera and microphone are released (the camera light goes off).
    await bob.wait_for(
        "() => window.podium.local.stream.getTracks().every((t) => t.readyState === 'ended')"
        " && window.podium.local.stream.getTracks().length === 0"
    )


async def test_media_keeps_flowing_through_a_websocket_drop(meeting: Meeting) -> None:
    room = await meeting.room()
    ann, bob, cat = await meeting.join_all(
        room, ("ann", "attendee"), ("bob", "attendee"), ("cat", "attendee")
    )
    before = {p.identity: await media_flows(p, {"ann", "bob", "cat"} - {p.identity}) for p in (ann, bob, cat)}

    await ann.page.evaluate("() => window.podium.connection.ws.close(4000, 'test drop')")
    await expect(ann.page.get_by_test_id("toast-reconnected")).to_be_visible()
    assert await ann.where() == "joined"
    await expect(ann.page.get_by_test_id("prejoin")).to_be_hidden()
    ann_id = await ann.participant_id()

    # The same peer connections carry on: their frame counts went on from where they were.
    after = {p.identity: await media_flows(p, {"ann", "bob", "cat"} - {p.identity}) for p in (ann, bob, cat)}
    for name, peers in after.items():
        for identity, peer in peers.items():
            assert peer["video"]["framesDecoded"] > before[name][identity]["video"]["framesDecoded"]
    for viewer in (bob, cat):
        assert after[viewer.identity]["ann"]["participantId"] == ann_id
        await viewer.sees_participants({"ann", "bob", "cat"})
        await expect(viewer.page.get_by_test_id("stage-tile")).to_have_count(3)
        await videos_play(viewer, 2)


async def test_a_shared_screen_shows_large_for_everyone_else(meeting: Meeting) -> None:
    room = await meeting.room()
    ann, bob, cat = await meeting.join_all(
        room, ("ann", "attendee"), ("bob", "attendee"), ("cat", "attendee")
    )
    await media_flows(bob, {"ann", "cat"})

    share = ann.page.get_by_test_id("toggle-screen")
    await expect(share).to_have_attribute("aria-pressed", "false")
    await share.click()
    await expect(share).to_have_attribute("aria-pressed", "true")

    for viewer in (bob, cat):
        screen = viewer.page.get_by_test_id("screen-tile")
        await expect(screen).to_have_count(1)
        await expect(screen).to_contain_text("Ann is presenting")
        await viewer.wait_for(
            "() => { const v = document.querySelector('[data-testid=screen-tile] video');"
            " return v && v.videoWidth > 0 && !v.paused && v.checkVisibility(); }"
        )
        screen_box = await screen.bounding_box()
        tile_box = await viewer.page.get_by_test_id("stage-tile").first.bounding_box()
        assert screen_box and tile_box
        assert screen_box["width"] * screen_box["height"] > 2 * tile_box["width"] * tile_box["height"]

    await share.click()
    await expect(share).to_have_attribute("aria-pressed", "false")
    for viewer in (bob, cat):
        await expect(viewer.page.get_by_test_id("screen-tile")).to_have_count(0)
        await videos_play(viewer, 2)  # the cameras carry on


async def test_the_one_unmuted_speaker_is_highlighted(meeting: Meeting) -> None:
    room = await meeting.room()
    ann, bob, cat = await meeting.join_all(
        room, ("ann", "attendee"), ("bob", "attendee"), ("cat", "attendee")
    )
    for person in (bob, cat):
        await person.page.get_by_test_id("toggle-mic").click()
        await expect(person.page.get_by_test_id("toggle-mic")).to_have_attribute("aria-pressed", "false")
    ids = {p.identity: await p.participant_id() for p in (ann, bob, cat)}
    for muted in ("bob", "cat"):
        await expect(ann.tile(ids[muted]).get_by_role("img", name="Microphone off")).to_be_visible()

    # Ann's (fake) microphone beeps; Bob and Cat hear it and see her tile light up.
    for viewer in (bob, cat):
        await expect(viewer.tile(ids["ann"])).to_have_attribute("data-speaking", "true")
        for muted in ("bob", "cat"):
            await expect(viewer.tile(ids[muted])).not_to_have_attribute("data-speaking", "true")
