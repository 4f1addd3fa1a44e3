"""Auto rooms move to the MCU at the 7th participant and back to peer-to-peer at 4."""

from __future__ import annotations

from tests.support.client import Member, TenantClient


async def _fill(acme: TenantClient, room: str, count: int) -> list[Member]:
    return [await acme.join(room, f"user-{n}") for n in range(count)]


async def test_an_auto_room_switches_to_the_mcu_and_back(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    members = await _fill(acme, room, 6)
    assert all(m.first is not None and m.first["media_mode"] == "p2p" for m in members)
    assert [x for m in members for x in await m.quiet(0.2) if x["type"] == "media.mode"] == []

    seventh = await acme.join(room, "user-6")
    for member in [*members, seventh]:
        assert (await member.next("media.mode"))["mode"] == "mcu"
    late = await acme.join(room, "user-7")
    assert late.first is not None and late.first["media_mode"] == "mcu"

    # Down to 5: still the MCU (the gap keeps a room near the limit from flapping) …
    for member in (members[0], members[1], late):
        await member.leave()
    stay = [*members[2:], seventh]
    assert [x for x in await stay[0].quiet(0.4) if x["type"] == "media.mode"] == []
    # … and at 4, back to peer-to-peer.
    await members[2].leave()
    for member in stay[1:]:
        assert (await member.next("media.mode"))["mode"] == "p2p"


async def test_forced_modes_never_switch(acme: TenantClient) -> None:
    p2p = (await acme.room(media_mode="p2p"))["slug"]
    members = await _fill(acme, p2p, 8)
    assert all(m.first is not None and m.first["media_mode"] == "p2p" for m in members)
    assert [x for x in await members[0].quiet(0.3) if x["type"] == "media.mode"] == []
    mcu = (await acme.room(media_mode="mcu"))["slug"]
    alone = await acme.join(mcu, "solo")
    assert alone.first is not None and alone.first["media_mode"] == "mcu"


async def test_an_mcu_offer_in_a_p2p_room_is_refused(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    ann = await acme.join(room, "ann")
    reply = await ann.request({"type": "media.offer", "sdp": "v=0\r\n"})
    assert reply["code"] == "not_mcu"


async def test_a_malformed_mcu_offer_gets_a_clear_error(acme: TenantClient) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    ann = await acme.join(room, "ann")
    reply = await ann.request({"type": "media.offer", "sdp": "this is not sdp"})
    assert (reply["type"], reply["code"]) == ("error", "invalid_sdp")
    huge = await ann.request({"type": "media.offer", "sdp": "a=x\r\n" * 8000})
    assert huge["code"] == "sdp_too_large"
    # The room goes on.
    assert (await ann.request({"type": "chat.send", "text": "still here"}))["type"] == "ack"
