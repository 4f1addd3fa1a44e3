"""Moderation: the permission matrix, rank rules, and what everyone in the room sees."""

from __future__ import annotations

import pytest

from tests.support.client import Member, TenantClient


async def _room(acme: TenantClient) -> tuple[str, Member, Member, Member, Member]:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    mod = await acme.join(room, "mo", "moderator")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    return room, host, mod, ann, bob


async def _identities(acme: TenantClient, room: str) -> dict[str, str]:
    return {p["identity"]: p["role"] for p in (await acme.http.get(f"/rooms/{room}/participants")).json()}


async def test_moderator_kicks_attendee_and_everyone_sees_it(acme: TenantClient) -> None:
    room, host, mod, ann, bob = await _room(acme)
    assert (await mod.request({"type": "participant.kick", "participant_id": bob.id}))["type"] == "ack"
    assert (await bob.next("kicked"))["by"] == "Mo"
    assert await bob.closed() == (4411, "kicked")
    for member in (host, ann):
        left = await member.next("participant.left", participant_id=bob.id)
        assert left["reason"] == "kicked"
    assert "bob" not in await _identities(acme, room)


@pytest.mark.parametrize(
    ("actor", "message", "target"),
    [
        ("ann", {"type": "participant.kick"}, "bob"),
        ("ann", {"type": "participant.ask_mute", "kind": "audio"}, "bob"),
        ("ann", {"type": "participant.set_role", "role": "moderator"}, "ann"),
        ("ann", {"type": "participant.set_role", "role": "host"}, "bob"),
        ("ann", {"type": "room.end"}, None),
        ("mo", {"type": "room.end"}, None),
        ("mo", {"type": "participant.kick"}, "hana"),
        ("mo", {"type": "participant.kick"}, "mo2"),
        ("mo", {"type": "participant.set_role", "role": "host"}, "ann"),
        ("mo", {"type": "participant.set_role", "role": "attendee"}, "hana"),
    ],
)
async def test_acting_above_ones_role_is_refused_and_changes_nothing(
    acme: TenantClient, actor: str, message: dict[str, str], target: str | None
) -> None:
    room, host, mod, ann, bob = await _room(acme)
    mod2 = await acme.join(room, "mo2", "moderator")
    members = {"hana": host, "mo": mod, "ann": ann, "bob": bob, "mo2": mod2}
    before = await _identities(acme, room)
    command = dict(message)
    if target is not None:
        command["participant_id"] = members[target].id
    reply = await members[actor].request(command)
    assert reply["type"] == "error"
    assert reply["code"] in ("forbidden", "invalid_target")
    assert await _identities(acme, room) == before
    observed = await host.quiet(0.4)
    assert not [
        m for m in observed if m["type"] in ("participant.left", "participant.role_changed", "room.ended")
    ]


async def test_role_change_is_announced_and_grants_permissions(acme: TenantClient) -> None:
    room, host, _, ann, bob = await _room(acme)
    assert (
        await host.request({"type": "participant.set_role", "participant_id": ann.id, "role": "moderator"})
    )["type"] == "ack"
    changed = await bob.next("participant.role_changed")
    assert (changed["participant_id"], changed["role"], changed["by"]) == (ann.id, "moderator", "Hana")
    mine = await ann.next("participant.role_changed")
    assert "participant.kick" in mine["permissions"]
    # Ann now may moderate attendees, and receives staff-only chat.
    await bob.request({"type": "chat.send", "text": "to the staff", "to": "moderators"})
    assert (await ann.next("chat.message"))["message"]["text"] == "to the staff"
    assert (await ann.request({"type": "participant.kick", "participant_id": bob.id}))["type"] == "ack"
    assert (await _identities(acme, room))["ann"] == "moderator"


async def test_ask_to_mute_reaches_only_the_target(acme: TenantClient) -> None:
    _, _, mod, ann, bob = await _room(acme)
    await mod.request({"type": "participant.ask_mute", "participant_id": ann.id, "kind": "video"})
    asked = await ann.next("mute.requested")
    assert (asked["kind"], asked["by"]) == ("video", "Mo")
    assert not [m for m in await bob.quiet(0.4) if m["type"] == "mute.requested"]


async def test_host_ends_room_for_everyone(acme: TenantClient) -> None:
    room, host, mod, ann, bob = await _room(acme)
    assert (await host.request({"type": "room.end"}))["type"] == "ack"
    for member in (host, mod, ann, bob):
        assert (await member.next("room.ended"))["by"] == "Hana"
        assert await member.closed() == (4410, "room_ended")
    assert await _identities(acme, room) == {}


async def test_self_update_is_seen_by_others(acme: TenantClient) -> None:
    _, host, _, ann, _ = await _room(acme)
    await ann.request({"type": "self.update", "name": "Ann B.", "audio_muted": True})
    updated = (await host.next("participant.updated"))["participant"]
    assert (updated["id"], updated["name"], updated["audio_muted"], updated["role"]) == (
        ann.id,
        "Ann B.",
        True,
        "attendee",
    )


async def test_moderation_via_rest_reaches_the_room(acme: TenantClient) -> None:
    room, host, _, ann, bob = await _room(acme)
    assert (
        await acme.http.post(f"/rooms/{room}/participants/{ann.id}/mute", json={"kind": "audio"})
    ).status_code == 204
    assert (await ann.next("mute.requested"))["by"] is None
    response = await acme.http.post(f"/rooms/{room}/participants/{bob.id}/role", json={"role": "moderator"})
    assert response.status_code == 204
    assert (await host.next("participant.role_changed"))["role"] == "moderator"
    assert (await acme.http.post(f"/rooms/{room}/participants/{bob.id}/kick")).status_code == 204
    assert await bob.closed() == (4411, "kicked")
    gone = await acme.http.post(f"/rooms/{room}/participants/{bob.id}/kick")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "participant_not_found")
    ended = await acme.http.post(f"/rooms/{room}/end")
    assert ended.json() == {"disconnected": 3}
    assert await host.closed() == (4410, "room_ended")


async def test_participant_ids_of_another_room_are_unknown(acme: TenantClient) -> None:
    _, host, _, _, _ = await _room(acme)
    other_room = (await acme.room())["slug"]
    stranger = await acme.join(other_room, "stranger")
    reply = await host.request({"type": "participant.kick", "participant_id": stranger.id})
    assert (reply["type"], reply["code"]) == ("error", "participant_not_found")
    reply = await host.request(
        {"type": "chat.send", "text": "hi", "to": "participant", "recipient": stranger.id}
    )
    assert reply["code"] == "participant_not_found"
    assert (await stranger.request({"type": "ping"}))["type"] == "pong"
