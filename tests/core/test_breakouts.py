"""Breakout rooms over the wire: open, move with a token of one's own, scoped chat, visits,
choices, reassignment, broadcasts, the timer, closing, and what tokens of closed breakouts do."""

from __future__ import annotations

from typing import Any

from tests.support.client import Member, TenantClient


async def follow(
    member: Member, acme: TenantClient, reason: str | None = None
) -> tuple[Member, dict[str, Any]]:
    """The move ``member`` is sent, its socket closing with 4414, and its new seat there."""
    move = await member.next("breakout.move")
    if reason is not None:
        assert move["reason"] == reason, move
    assert await member.closed() == (4414, "moved")
    moved = await Member.connect(acme.ws_url, acme.slug, move["room"]["slug"], move["token"])
    welcome = await moved.next("welcome")
    return moved, {"move": move, "welcome": welcome}


async def _meeting(acme: TenantClient, **settings: Any) -> tuple[str, Member, list[Member]]:
    room = (await acme.room(**settings))["slug"]
    host = await acme.join(room, "hana", "host")
    people = [await acme.join(room, name) for name in ("ann", "bob", "cid", "dee")]
    return room, host, people


async def test_attendees_go_to_their_breakouts_and_chat_stays_there(acme: TenantClient) -> None:
    room, host, people = await _meeting(acme)
    opened = await host.request({"type": "breakouts.open", "count": 2, "names": ["Red", "Blue"]})
    assert opened["type"] == "ack", opened
    moved = [await follow(p, acme, "assigned") for p in people]
    rooms = {m[1]["move"]["room"]["slug"] for m in moved}
    assert len(rooms) == 2 and all(slug.startswith(f"{room}~") for slug in rooms)
    # Evenly spread, each with a breakout room of its own; the host stays in the main room.
    by_room: dict[str, list[Member]] = {}
    for member, seen in moved:
        assert seen["welcome"]["room"]["parent"] is not None
        assert seen["welcome"]["you"]["role"] == "attendee"
        by_room.setdefault(seen["move"]["room"]["slug"], []).append(member)
    assert sorted(len(v) for v in by_room.values()) == [2, 2]
    for person in people:
        left = await host.next("participant.left", participant_id=person.id)
        assert left["reason"] == "moved"
    state = (await acme.http.get(f"/rooms/{room}/breakouts")).json()
    assert [b["name"] for b in state["breakouts"]] == ["Red", "Blue"]
    assert sorted(len(b["participants"]) for b in state["breakouts"]) == [2, 2]

    (first, second), others = by_room.values()
    await first.request({"type": "chat.send", "text": "only for us"})
    assert (await second.next("chat.message"))["message"]["text"] == "only for us"
    for outsider in (*others, host):
        assert [m for m in await outsider.quiet(0.5) if m["type"] == "chat.message"] == []


async def test_closing_brings_everyone_back_past_the_lobby_and_spends_breakout_tokens(
    acme: TenantClient,
) -> None:
    room = (await acme.room(lobby=True))["slug"]
    host = await acme.join(room, "hana", "host")
    # With a lobby, attendees knock first: the host lets them all in.
    people = [await acme.join(room, name, expect="lobby.waiting") for name in ("ann", "bob", "cid", "dee")]
    for person in people:
        assert (await host.request({"type": "lobby.admit", "participant_id": person.id}))["type"] == "ack"
        await person.next("welcome")
    await host.request({"type": "breakouts.open", "count": 2})
    moved = [await follow(p, acme, "assigned") for p in people]
    closed = await host.request({"type": "breakouts.close"})
    assert closed["type"] == "ack", closed
    back = [await follow(m, acme, "closed") for m, _ in moved]
    for _, seen in back:
        assert seen["welcome"]["room"]["slug"] == room  # straight in: no second knock
        assert seen["welcome"]["breakouts"] is None
    assert (await acme.http.get(f"/rooms/{room}/breakouts")).json()["error"]["code"] == "breakouts_not_open"
    # The breakout's token no longer opens its room.
    stale = await Member.connect(
        acme.ws_url, acme.slug, moved[0][1]["move"]["room"]["slug"], moved[0][1]["move"]["token"]
    )
    assert (await stale.recv())["code"] == "breakout_closed"
    assert await stale.closed() == (4410, "breakout_closed")
    for member, _ in back:
        await member.leave()


async def test_hosts_visit_attendees_go_back_and_choose_only_when_allowed(acme: TenantClient) -> None:
    room, host, people = await _meeting(acme)
    await host.request(
        {"type": "breakouts.open", "count": 2, "assignment": "manual", "assignments": {people[0].id: 1}}
    )
    ann, _ = await follow(people[0], acme, "assigned")
    # Nobody else moved.
    for person in people[1:]:
        assert all(m["type"] != "breakout.move" for m in await person.quiet(0.3))
    refused = await people[1].request({"type": "breakout.join", "breakout": 2})
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    # A host visits breakout 1 and comes back.
    assert (await host.request({"type": "breakout.join", "breakout": 1}))["type"] == "ack"
    visiting, seen = await follow(host, acme, "visit")
    assert seen["welcome"]["you"]["role"] == "host"
    assert any(p["identity"] == "ann" for p in seen["welcome"]["participants"])
    await visiting.request({"type": "breakout.join", "breakout": 0})
    host_back, seen = await follow(visiting, acme, "returned")
    assert seen["welcome"]["room"]["slug"] == room
    # Ann goes back to the main room herself.
    await ann.request({"type": "breakout.join", "breakout": 0})
    _, seen = await follow(ann, acme, "returned")
    assert seen["welcome"]["room"]["slug"] == room
    # Reassignment by the host, from the main room into breakout 2.
    await host_back.request({"type": "breakouts.assign", "participant_id": people[1].id, "breakout": 2})
    _, seen = await follow(people[1], acme, "assigned")
    assert seen["move"]["room"]["breakout"] == 2


async def test_attendees_pick_a_breakout_when_the_host_allows_it(acme: TenantClient) -> None:
    _, host, people = await _meeting(acme)
    await host.request({"type": "breakouts.open", "count": 3, "assignment": "manual", "allow_choice": True})
    assert (await people[2].request({"type": "breakout.join", "breakout": 3}))["type"] == "ack"
    _, seen = await follow(people[2], acme, "chosen")
    assert seen["welcome"]["breakouts"]["allow_choice"] is True
    assert seen["move"]["room"]["breakout"] == 3


async def test_a_reload_lands_in_ones_breakout_and_broadcasts_reach_every_room(acme: TenantClient) -> None:
    room, host, people = await _meeting(acme)
    await host.request({"type": "breakouts.open", "count": 2})
    moved = [await follow(p, acme, "assigned") for p in people]
    where = moved[0][1]["move"]["room"]["slug"]
    await moved[0][0].leave()
    # Ann opens her original link again: the main room sends her on to her breakout.
    again = await acme.join(room, "ann")
    _, seen = await follow(again, acme, "assigned")
    assert seen["move"]["room"]["slug"] == where
    await host.request({"type": "breakouts.broadcast", "text": "Five minutes left"})
    for member, _ in moved[1:]:
        message = await member.next("breakouts.message")
        assert message["text"] == "Five minutes left" and message["by"] == "Hana"
    assert (await host.next("breakouts.message"))["text"] == "Five minutes left"


async def test_the_timer_closes_the_breakouts(acme: TenantClient) -> None:
    room, host, people = await _meeting(acme)
    await host.request({"type": "breakouts.open", "count": 2, "duration": 5})
    moved = [await follow(p, acme, "assigned") for p in people[:2]]
    state = moved[0][1]["welcome"]["breakouts"]
    assert state["ends_at"] is not None
    back = await follow(moved[0][0], acme, "closed")  # within the 5 s and the timer's tick
    assert back[1]["welcome"]["room"]["slug"] == room
    await host.next("breakouts", timeout=10, breakouts=None)


async def test_breakouts_over_rest(acme: TenantClient) -> None:
    room, host, people = await _meeting(acme)
    opened = await acme.http.post(
        f"/rooms/{room}/breakouts",
        json={"count": 2, "assignment": "manual", "assignments": {people[0].id: 2, people[1].id: 1}},
    )
    assert opened.status_code == 201, opened.text
    assert [b["assigned"] for b in opened.json()["breakouts"]] == [["bob"], ["ann"]]
    again = await acme.http.post(f"/rooms/{room}/breakouts", json={"count": 2})
    assert again.status_code == 409 and again.json()["error"]["code"] == "breakouts_open"
    await follow(people[0], acme)
    await follow(people[1], acme)
    moved = await acme.http.post(
        f"/rooms/{room}/breakouts/assign", json={"participant_id": people[2].id, "breakout": 1}
    )
    assert moved.status_code == 200, moved.text
    await follow(people[2], acme)
    sent = await acme.http.post(f"/rooms/{room}/breakouts/broadcast", json={"text": "Wrap up", "by": "Ops"})
    assert sent.status_code == 202
    assert (await host.next("breakouts.message"))["by"] == "Ops"
    assert (await acme.http.post(f"/rooms/{room}/breakouts/close")).status_code == 200
    assert (await acme.http.post(f"/rooms/{room}/breakouts/close")).json()["error"][
        "code"
    ] == "breakouts_not_open"
    # Breakout rooms are not listed with the tenant's rooms.
    listed = (await acme.http.get("/rooms", params={"limit": 100})).json()
    assert all("~" not in r["slug"] for r in listed["rooms"])


async def test_ending_the_main_room_ends_the_breakouts(acme: TenantClient) -> None:
    room, host, people = await _meeting(acme)
    await host.request({"type": "breakouts.open", "count": 2})
    moved = [await follow(p, acme, "assigned") for p in people[:2]]
    await host.send({"type": "room.end"})
    for member, _ in moved:
        await member.next("room.ended")
        assert await member.closed() == (4410, "room_ended")
    assert (await acme.http.get(f"/rooms/{room}/breakouts")).json()["error"]["code"] == "breakouts_not_open"


async def test_a_kick_in_a_breakout_spends_the_main_rooms_link_too(acme: TenantClient) -> None:
    room, host, _ = await _meeting(acme)
    mod = await acme.join(room, "mo", "moderator")
    token = await acme.token(room, "eve")
    eve = await Member.connect(acme.ws_url, acme.slug, room, token)
    await eve.next("welcome")
    await host.request(
        {"type": "breakouts.open", "count": 1, "assignment": "manual", "assignments": {eve.id: 1}}
    )
    eve_there, _ = await follow(eve, acme, "assigned")
    await mod.request({"type": "breakout.join", "breakout": 1})
    mod_there, _ = await follow(mod, acme, "visit")
    assert (await mod_there.request({"type": "participant.kick", "participant_id": eve_there.id}))[
        "type"
    ] == "ack"
    assert await eve_there.closed() == (4411, "kicked")
    # Eve's original link to the main room is spent as well.
    again = await Member.connect(acme.ws_url, acme.slug, room, token)
    assert (await again.recv())["code"] == "participant_kicked"
