"""The lobby: attendees wait until a host or moderator admits or denies them."""

from __future__ import annotations

from tests.support.client import TenantClient


async def test_attendee_waits_then_is_admitted(acme: TenantClient) -> None:
    room = (await acme.room(lobby=True))["slug"]
    host = await acme.join(room, "hana", "host")
    await host.request({"type": "chat.send", "text": "before you came"})
    ann = await acme.join(room, "ann", expect="lobby.waiting")

    knock = await host.next("lobby.knock")
    assert knock["participant"]["id"] == ann.id
    # Waiting is not being in the room: no chat, not listed, no room events.
    refused = await ann.request({"type": "chat.send", "text": "let me in"})
    assert refused["code"] == "in_lobby"
    assert [p["identity"] for p in (await acme.http.get(f"/rooms/{room}/participants")).json()] == ["hana"]
    assert [p["identity"] for p in (await acme.http.get(f"/rooms/{room}/lobby")).json()] == ["ann"]

    assert (await host.request({"type": "lobby.admit", "participant_id": ann.id}))["type"] == "ack"
    welcome = await ann.next("welcome")
    assert [m["text"] for m in welcome["chat"]] == ["before you came"]
    assert {p["identity"] for p in welcome["participants"]} == {"hana", "ann"}
    assert (await host.next("participant.joined"))["participant"]["id"] == ann.id
    assert (await host.next("lobby.resolved"))["outcome"] == "admitted"
    assert (await ann.request({"type": "chat.send", "text": "thanks"}))["type"] == "ack"


async def test_moderator_denies_and_staff_never_wait(acme: TenantClient) -> None:
    room = (await acme.room(lobby=True))["slug"]
    mod = await acme.join(room, "mo", "moderator")  # joins straight in
    bob = await acme.join(room, "bob", expect="lobby.waiting")
    await mod.next("lobby.knock")
    late_host = await acme.join(room, "hana", "host")
    assert late_host.first is not None
    assert [p["id"] for p in late_host.first["lobby"]] == [bob.id]

    assert (await mod.request({"type": "lobby.deny", "participant_id": bob.id}))["type"] == "ack"
    await bob.next("lobby.denied")
    assert await bob.closed() == (4413, "lobby_denied")
    assert (await late_host.next("lobby.resolved"))["outcome"] == "denied"
    assert (await acme.http.get(f"/rooms/{room}/lobby")).json() == []


async def test_attendees_cannot_admit_and_admission_respects_capacity(acme: TenantClient) -> None:
    room = (await acme.room(lobby=True, max_participants=2))["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann", expect="lobby.waiting")
    await host.request({"type": "lobby.admit", "participant_id": ann.id})
    await ann.next("welcome")
    bob = await acme.join(room, "bob", expect="lobby.waiting")

    assert (await ann.request({"type": "lobby.admit", "participant_id": bob.id}))["code"] == "forbidden"
    assert (await host.request({"type": "lobby.admit", "participant_id": bob.id}))["code"] == "room_full"
    response = await acme.http.post(f"/rooms/{room}/lobby/{bob.id}/admit")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "room_full")
    await ann.leave()
    assert (await acme.http.post(f"/rooms/{room}/lobby/{bob.id}/admit")).status_code == 204
    await bob.next("welcome")
    not_waiting = await host.request({"type": "lobby.admit", "participant_id": bob.id})
    assert not_waiting["code"] == "not_in_lobby"


async def test_leaving_the_lobby_is_shown_to_staff(acme: TenantClient) -> None:
    room = (await acme.room(lobby=True))["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann", expect="lobby.waiting")
    await host.next("lobby.knock")
    await ann.leave()
    resolved = await host.next("lobby.resolved")
    assert (resolved["participant_id"], resolved["outcome"]) == (ann.id, "left")


async def test_an_admitted_attendee_who_drops_comes_back_without_knocking(acme: TenantClient) -> None:
    room = (await acme.room(lobby=True))["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann", expect="lobby.waiting")
    await host.request({"type": "lobby.admit", "participant_id": ann.id})
    await ann.next("welcome")
    ann.socket.transport.abort()  # the connection drops, as on a train
    assert (await host.next("participant.left"))["reason"] == "disconnected"
    back = await acme.join(room, "ann")  # straight to welcome, no lobby
    assert back.first is not None and back.first["type"] == "welcome"
    # Someone who left on purpose, or was never admitted, still knocks.
    await back.leave()
    assert (await host.next("participant.left", participant_id=back.id))["reason"] == "left"
    await acme.join(room, "ann", expect="lobby.waiting")
    await acme.join(room, "bob", expect="lobby.waiting")
