"""Joining a room over the realtime WebSocket: welcome, presence, replacement, capacity, leaving."""

from __future__ import annotations

import asyncio

from tests.support.client import Member, TenantClient, refused


async def test_welcome_snapshot_then_presence_events(acme: TenantClient) -> None:
    room = (await acme.room(name="Quarterly review"))["slug"]
    host = await acme.join(room, "hana", "host")
    assert host.first is not None
    assert host.first["room"]["name"] == "Quarterly review"
    assert host.first["media_mode"] == "p2p"
    assert "room.end" in host.first["permissions"]

    ann = await acme.join(room, "ann")
    welcome = ann.first
    assert welcome is not None
    assert {(p["identity"], p["role"]) for p in welcome["participants"]} == {
        ("hana", "host"),
        ("ann", "attendee"),
    }
    assert welcome["permissions"] == ["chat.everyone", "chat.moderators", "chat.private"]
    assert welcome["lobby"] == []

    joined = await host.next("participant.joined")
    assert joined["participant"]["id"] == ann.id
    assert joined["participant"]["name"] == "Ann"

    await ann.leave()
    left = await host.next("participant.left")
    assert (left["participant_id"], left["reason"]) == (ann.id, "left")
    listed = (await acme.http.get(f"/rooms/{room}/participants")).json()
    assert [p["identity"] for p in listed] == ["hana"]


async def test_abrupt_drop_is_reported_as_disconnected(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    bob = await acme.join(room, "bob")
    bob.socket.transport.abort()  # no close frame, as when a laptop lid shuts
    left = await host.next("participant.left")
    assert (left["participant_id"], left["reason"]) == (bob.id, "disconnected")


async def test_second_connection_with_same_identity_replaces_first(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    first = await acme.join(room, "ann")
    await host.next("participant.joined")
    second = await acme.join(room, "ann")
    assert await first.closed() == (4412, "replaced")
    left = await host.next("participant.left", participant_id=first.id)
    assert left["reason"] == "replaced"
    joined = await host.next("participant.joined")
    assert joined["participant"]["id"] == second.id
    assert second.first is not None
    assert [p["identity"] for p in second.first["participants"]].count("ann") == 1
    # The replacement is fully functional.
    reply = await second.request({"type": "chat.send", "text": "still here"})
    assert reply["type"] == "ack"


async def test_full_room_refuses_everyone_including_hosts(acme: TenantClient) -> None:
    room = (await acme.room(max_participants=2))["slug"]
    one = await acme.join(room, "one")
    two = await acme.join(room, "two")
    for identity, role in (("three", "attendee"), ("boss", "host")):
        close, reason, error = await refused(
            acme.ws_url, acme.slug, room, await acme.token(room, identity, role)
        )
        assert (close, reason, error["code"]) == (4409, "room_full", "room_full")
    await two.leave()
    await one.next("participant.left")
    three = await acme.join(room, "three")
    assert three.first is not None
    assert len(three.first["participants"]) == 2


async def test_capacity_holds_under_a_burst_of_joins(acme: TenantClient) -> None:
    room = (await acme.room(max_participants=3))["slug"]
    tokens = [await acme.token(room, f"user-{n}") for n in range(8)]
    members = await asyncio.gather(*(Member.connect(acme.ws_url, acme.slug, room, t) for t in tokens))
    firsts = await asyncio.gather(*(m.recv() for m in members))
    welcomed = [m for m, first in zip(members, firsts, strict=True) if first["type"] == "welcome"]
    refusals = [first["code"] for first in firsts if first["type"] == "error"]
    assert len(welcomed) == 3
    assert refusals == ["room_full"] * 5
    listed = (await acme.http.get(f"/rooms/{room}/participants")).json()
    assert len(listed) == 3


async def test_other_tenant_cannot_see_or_touch_the_room(acme: TenantClient, globex: TenantClient) -> None:
    room = (await acme.room())["slug"]
    member = await acme.join(room, "ann")
    for method, path in (
        ("GET", f"/rooms/{room}"),
        ("GET", f"/rooms/{room}/participants"),
        ("GET", f"/rooms/{room}/chat"),
        ("POST", f"/rooms/{room}/participants/{member.id}/kick"),
        ("POST", f"/rooms/{room}/end"),
        ("DELETE", f"/rooms/{room}"),
        ("POST", f"/rooms/{room}/tokens"),
    ):
        body = {"identity": "spy"} if path.endswith("tokens") else None
        response = await globex.http.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "room_not_found"
    # The room is untouched: the participant is still connected and listed.
    reply = await member.request({"type": "ping"})
    assert reply["type"] == "pong"
    assert [p["identity"] for p in (await acme.http.get(f"/rooms/{room}/participants")).json()] == ["ann"]
