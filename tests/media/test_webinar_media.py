"""Webinars on the media node: off stage, nothing of yours is decoded (even from a client that
sends anyway); on stage, your camera and voice reach everyone; past the interactive seats, the
room's live stream.

Participants are aiortc peers (tests/support/synthetic.py). The attendee below offers its
camera and tone like any participant, as a forged client would from an off-stage seat.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.analysis import PALETTE, TONES_HZ, tones_present
from tests.support.client import TenantClient, refused
from tests.support.hls import segments
from tests.support.metrics import metric
from tests.support.synthetic import AUDIO_RATE, SyntheticParticipant

HOST, ANN = "maroon", "cyan"
COLOURS = {HOST: PALETTE[HOST], ANN: PALETTE[ANN]}


async def _off_stage_decoded(acme: TenantClient) -> float:
    """Uplink frames the media node decoded from people off stage, so far (there must be none)."""
    value = await metric(acme.base_url, "podium_media_node_uplink_frames_total", stage="off")
    assert value is not None, "the node reports no uplink frames"
    return value


async def _hears(
    person: SyntheticParticipant, tones: dict[str, float], want: set[str], within: float = 10
) -> None:
    """``person``'s mix holds exactly the ``want`` tones (judged on 1.5 s of it)."""
    await person.audio_in.wait_seconds(person.audio_in.seconds_received + 1.5, timeout=within)
    deadline = time.monotonic() + within
    while (heard := tones_present(person.audio_samples(1.5), AUDIO_RATE, tones)) != want:
        assert time.monotonic() < deadline, f"{person.identity} hears {sorted(heard)}, not {sorted(want)}"
        await asyncio.sleep(0.5)


async def test_off_stage_nothing_is_decoded_on_stage_everyone_sees_and_hears_you(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(webinar=True))["slug"]
    join = SyntheticParticipant.join
    host = await join(acme, room, "hana", COLOURS[HOST], TONES_HZ[0], role="host", max_height=360)
    people.append(host)
    ann = await join(acme, room, "ann", COLOURS[ANN], TONES_HZ[1], max_height=360)
    people.append(ann)
    await asyncio.gather(host.wait_mcu_connected(30), ann.wait_mcu_connected(30))
    tones = {HOST: TONES_HZ[0], ANN: TONES_HZ[1]}
    before = await _off_stage_decoded(acme)
    viewers = await metric(acme.base_url, "podium_media_node_viewers")
    assert viewers is not None and viewers >= 1

    # Ann sends camera and tone, but sits off stage: the room sees and hears the host alone.
    await ann.wait_shares(COLOURS, {HOST: (0.3, 1), ANN: (0, 0)}, "only the host on the composite")
    await host.wait_shares(COLOURS, {HOST: (0.3, 1), ANN: (0, 0)}, "no tile for the attendee")
    await _hears(ann, tones, {HOST})
    await _hears(host, tones, set())
    assert await _off_stage_decoded(acme) == before

    # On stage: her next offer is received; her tile and voice reach everyone.
    ack = await host.member.request(
        {"type": "participant.stage", "participant_id": ann.member.id, "on_stage": True}
    )
    assert ack["type"] == "ack"
    ann.offer_again()
    await host.wait_shares(COLOURS, {HOST: (0.15, 1), ANN: (0.15, 1)}, "both on the composite", within=20)
    await _hears(host, tones, {ANN})

    # Off again, with her client still sending: the node drops her tile and stops decoding at once.
    ack = await host.member.request(
        {"type": "participant.stage", "participant_id": ann.member.id, "on_stage": False}
    )
    assert ack["type"] == "ack"
    await host.wait_shares(COLOURS, {HOST: (0.3, 1), ANN: (0, 0)}, "her tile went with the stage")
    decoded = await _off_stage_decoded(acme)
    await asyncio.sleep(1.5)
    assert await _off_stage_decoded(acme) == decoded == before
    await _hears(host, tones, set())


async def test_past_the_seats_attendees_watch_the_live_stream_and_keep_the_room(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(webinar=True, max_participants=2))["slug"]
    host = await SyntheticParticipant.join(
        acme, room, "hana", COLOURS[HOST], TONES_HZ[0], role="host", max_height=360
    )
    people.append(host)
    ann = await acme.join(room, "ann")
    cat = await acme.join(room, "cat")
    assert ann.first is not None and ann.first["you"]["viewer"] is False
    assert cat.first is not None and cat.first["you"]["viewer"] is True
    assert cat.first["you"]["on_stage"] is False
    watch = cat.first["watch"]
    assert watch is not None and watch["playlist"].startswith(
        f"/watch/{acme.slug}/{watch['stream']}/index.m3u8?token="
    )
    # The room went live for them (its first overflow viewer started the stream).
    live = await host.member.next("outputs", live=True)
    assert [o["id"] for o in live["outputs"] if o["kind"] == "hls"] == [watch["stream"]]

    async with httpx.AsyncClient(base_url=acme.base_url, timeout=10) as web:
        deadline = time.monotonic() + 25
        while (reply := await web.get(watch["playlist"])).status_code != 200 or not segments(reply.text):
            assert time.monotonic() < deadline, f"no segments: {reply.status_code} {reply.text[:200]}"
            await asyncio.sleep(0.5)

    # A viewer has no WebRTC seat, but the room is theirs as anyone's: chat, hands.
    offer = await cat.request({"type": "media.offer", "sdp": "v=0"})
    assert offer["code"] == "viewer_only"
    assert (await cat.request({"type": "chat.send", "text": "hello from the stream"}))["type"] == "ack"
    assert (await ann.next("chat.message"))["message"]["text"] == "hello from the stream"
    assert (await cat.request({"type": "self.update", "hand_raised": True}))["type"] == "ack"
    # Staff always need an interactive seat; a viewer goes on stage only into a free one.
    full = await refused(acme.ws_url, acme.slug, room, await acme.token(room, "mo", "moderator"))
    assert full[:2] == (4409, "room_full")
    stage = {"type": "participant.stage", "participant_id": cat.id, "on_stage": True}
    assert (await host.member.request(stage))["code"] == "room_full"
    await ann.leave()
    assert (await host.member.request(stage))["type"] == "ack"
    while (update := (await cat.next("participant.updated"))["participant"])["id"] != cat.id or update[
        "viewer"
    ]:
        pass
    assert (update["on_stage"], update["viewer"], update["hand_raised_at"]) == (True, False, None)
    await cat.leave()
