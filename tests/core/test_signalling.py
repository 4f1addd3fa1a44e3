"""Peer-to-peer signalling: relayed only between joined participants of one room, never spoofed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from tests.support.client import Member, TenantClient
from tests.support.server import TURN_SECRET

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}


async def _trio(acme: TenantClient) -> tuple[str, Member, Member, Member]:
    room = (await acme.room())["slug"]
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    cat = await acme.join(room, "cat")
    return room, ann, bob, cat


async def test_a_description_and_candidates_reach_only_their_target(acme: TenantClient) -> None:
    _, ann, bob, cat = await _trio(acme)
    sent = {"type": "rtc.signal", "to": bob.id, "instance": "page-1", "description": OFFER}
    assert (await ann.request({**sent, "streams": {"cam-1": "camera"}}))["type"] == "ack"
    got = await bob.next("rtc.signal")
    assert (got["from"], got["instance"], got["description"]) == (ann.id, "page-1", OFFER)
    assert got["streams"] == {"cam-1": "camera"}
    candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0"}
    await ann.request({"type": "rtc.signal", "to": bob.id, "instance": "page-1", "candidate": candidate})
    assert (await bob.next("rtc.signal"))["candidate"]["candidate"] == candidate["candidate"]
    assert [m for m in await cat.quiet(0.4) if m["type"] == "rtc.signal"] == []


async def test_the_sender_cannot_be_spoofed(acme: TenantClient) -> None:
    _, ann, bob, cat = await _trio(acme)
    forged = {"type": "rtc.signal", "to": bob.id, "from": cat.id, "instance": "x", "description": OFFER}
    assert (await ann.request(forged))["code"] == "invalid_message"
    assert [m for m in await bob.quiet(0.4) if m["type"] == "rtc.signal"] == []


async def test_signals_never_cross_into_another_room(acme: TenantClient, globex: TenantClient) -> None:
    _, ann, _, _ = await _trio(acme)
    elsewhere = await acme.join((await acme.room())["slug"], "eve")
    other_tenant = await globex.join((await globex.room())["slug"], "gus")
    for target in (elsewhere, other_tenant):
        reply = await ann.request(
            {"type": "rtc.signal", "to": target.id, "instance": "x", "description": OFFER}
        )
        assert reply["code"] == "participant_not_found"
        assert [m for m in await target.quiet(0.3) if m["type"] == "rtc.signal"] == []


async def test_an_oversized_sdp_is_refused(acme: TenantClient) -> None:
    _, ann, bob, _ = await _trio(acme)
    huge = {"type": "offer", "sdp": "a=x\r\n" * 8000}  # 40 kB: under the frame limit, over the SDP limit
    reply = await ann.request({"type": "rtc.signal", "to": bob.id, "instance": "x", "description": huge})
    assert reply["code"] == "sdp_too_large"
    assert [m for m in await bob.quiet(0.3) if m["type"] == "rtc.signal"] == []
    # The connection goes on: a normal offer still gets through.
    assert (await ann.request({"type": "rtc.signal", "to": bob.id, "instance": "x", "description": OFFER}))[
        "type"
    ] == "ack"


async def test_malformed_signals_and_lobby_waiters_are_refused(acme: TenantClient) -> None:
    room, ann, bob, _ = await _trio(acme)
    both = {
        "type": "rtc.signal",
        "to": bob.id,
        "instance": "x",
        "description": OFFER,
        "candidate": {"candidate": ""},
    }
    assert (await ann.request(both))["code"] == "invalid_message"
    assert (await ann.request({"type": "rtc.signal", "to": ann.id, "instance": "x", "description": OFFER}))[
        "code"
    ] == "invalid_target"
    bad_type = {
        "type": "rtc.signal",
        "to": bob.id,
        "instance": "x",
        "description": {"type": "hello", "sdp": ""},
    }
    assert (await ann.request(bad_type))["code"] == "invalid_message"
    await acme.http.patch(f"/rooms/{room}", json={"lobby": True})
    dan = await acme.join(room, "dan", expect="lobby.waiting")
    reply = await dan.request({"type": "rtc.signal", "to": bob.id, "instance": "x", "description": OFFER})
    assert reply["code"] == "in_lobby"
    assert [m for m in await bob.quiet(0.3) if m["type"] == "rtc.signal"] == []


async def test_welcome_carries_ice_servers_with_per_participant_turn_credentials(acme: TenantClient) -> None:
    _, ann, _, _ = await _trio(acme)
    assert ann.first is not None
    stun, turn = ann.first["ice_servers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    expiry, identity = turn["username"].split(":")
    assert identity == "ann" and int(expiry) > time.time() + 3600
    expected = base64.b64encode(
        hmac.new(TURN_SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    )
    assert turn["credential"] == expected.decode()  # what a coturn with use-auth-secret checks


async def test_screen_sharing_state_is_announced_to_the_room(acme: TenantClient) -> None:
    _, ann, bob, _ = await _trio(acme)
    assert (await ann.request({"type": "self.update", "screen_sharing": True}))["type"] == "ack"
    updated = await bob.next("participant.updated")
    assert (updated["participant"]["id"], updated["participant"]["screen_sharing"]) == (ann.id, True)
