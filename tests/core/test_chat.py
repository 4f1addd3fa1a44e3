"""Chat: audiences reach exactly the right people, limits hold, history is kept and scoped."""

from __future__ import annotations

import asyncio

from tests.support.client import Member, TenantClient


async def _room_of_four(acme: TenantClient) -> tuple[str, Member, Member, Member, Member]:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    mod = await acme.join(room, "mo", "moderator")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    return room, host, mod, ann, bob


SENTINEL = "-- end --"


async def _texts(member: Member) -> list[str]:
    """Chat texts received before the sentinel, which the test sends last to everyone.

    Events of a room reach each socket in publish order, so anything wrongly
    delivered would have arrived before the sentinel."""
    texts = []
    while (text := (await member.next("chat.message"))["message"]["text"]) != SENTINEL:
        texts.append(text)
    return texts


async def _end(sender: Member) -> None:
    assert (await sender.request({"type": "chat.send", "text": SENTINEL}))["type"] == "ack"


async def test_audiences_reach_exactly_the_right_people(acme: TenantClient) -> None:
    _, host, mod, ann, bob = await _room_of_four(acme)

    assert (await ann.request({"type": "chat.send", "text": "hello all"}))["type"] == "ack"
    assert (await ann.request({"type": "chat.send", "text": "psst staff", "to": "moderators"}))[
        "type"
    ] == "ack"
    private = {"type": "chat.send", "text": "just you, bob", "to": "participant", "recipient": bob.id}
    assert (await ann.request(private))["type"] == "ack"
    await _end(host)

    assert await _texts(host) == ["hello all", "psst staff"]
    assert await _texts(mod) == ["hello all", "psst staff"]
    assert await _texts(ann) == ["hello all", "psst staff", "just you, bob"]
    assert await _texts(bob) == ["hello all", "just you, bob"]


async def test_message_carries_sender_and_audience(acme: TenantClient) -> None:
    _, host, _, ann, _ = await _room_of_four(acme)
    await host.request({"type": "chat.send", "text": "for ann", "to": "participant", "recipient": ann.id})
    got = (await ann.next("chat.message"))["message"]
    assert (got["sender_id"], got["sender_name"], got["sender_role"]) == (host.id, "Hana", "host")
    assert (got["to"], got["recipient_id"], got["recipient_name"]) == ("participant", ann.id, "Ann")


async def test_html_is_stored_and_delivered_as_plain_text(acme: TenantClient) -> None:
    room, host, _, ann, _ = await _room_of_four(acme)
    evil = '<img src=x onerror="alert(1)"> & <b>bold</b>'
    await ann.request({"type": "chat.send", "text": evil})
    assert (await host.next("chat.message"))["message"]["text"] == evil
    history = (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]
    assert history[-1]["text"] == evil


async def test_limits_give_clear_errors_and_store_nothing(acme: TenantClient) -> None:
    room, host, _, ann, _ = await _room_of_four(acme)
    too_long = await ann.request({"type": "chat.send", "text": "x" * 2001})
    empty = await ann.request({"type": "chat.send", "text": "   "})
    nobody = await ann.request(
        {
            "type": "chat.send",
            "text": "hi",
            "to": "participant",
            "recipient": "7f0c9a52-0000-4000-8000-000000000000",
        }
    )
    no_recipient = await ann.request({"type": "chat.send", "text": "hi", "to": "participant"})
    assert [r["code"] for r in (too_long, empty, nobody, no_recipient)] == [
        "chat_too_long",
        "chat_empty",
        "participant_not_found",
        "recipient_required",
    ]
    await _end(host)
    assert await _texts(host) == []
    stored = (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]
    assert [m["text"] for m in stored] == [SENTINEL]


async def test_rate_limit_refuses_a_flood(acme: TenantClient) -> None:
    room, host, _, ann, _ = await _room_of_four(acme)
    for n in range(14):
        await ann.send({"type": "chat.send", "text": f"spam {n}", "ref": str(n)})
    replies = [await ann.next("ack" if n < 10 else "error", ref=str(n)) for n in range(14)]
    assert [r["type"] for r in replies] == ["ack"] * 10 + ["error"] * 4
    assert {r["code"] for r in replies[10:]} == {"rate_limited"}
    await _end(host)
    assert len(await _texts(host)) == 10
    assert len((await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]) == 11


async def test_history_in_welcome_and_rest_is_scoped_and_paginated(acme: TenantClient) -> None:
    room, host, _, ann, bob = await _room_of_four(acme)
    for n in range(5):
        await host.request({"type": "chat.send", "text": f"m{n}"})
    await ann.request({"type": "chat.send", "text": "staff only", "to": "moderators"})
    await ann.request({"type": "chat.send", "text": "to bob", "to": "participant", "recipient": bob.id})

    # A late attendee sees public chat only; the moderator also sees the staff message.
    late = await acme.join(room, "late")
    assert late.first is not None
    assert [m["text"] for m in late.first["chat"]] == [f"m{n}" for n in range(5)]
    late_mod = await acme.join(room, "late-mod", "moderator")
    assert late_mod.first is not None
    assert [m["text"] for m in late_mod.first["chat"]][-1] == "staff only"
    # Bob reconnects (new session, same identity) and keeps his private conversation.
    await bob.leave()
    bob_again = await acme.join(room, "bob")
    assert bob_again.first is not None
    assert [m["text"] for m in bob_again.first["chat"]][-1] == "to bob"

    first = (await acme.http.get(f"/rooms/{room}/chat", params={"limit": 4})).json()
    assert [m["text"] for m in first["messages"]] == ["m3", "m4", "staff only", "to bob"]
    older = (await acme.http.get(f"/rooms/{room}/chat", params={"limit": 4, "before": first["next"]})).json()
    assert [m["text"] for m in older["messages"]] == ["m0", "m1", "m2"]
    assert older["next"] is None


async def test_concurrent_chat_is_stored_and_seen_in_one_order(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    members = [await acme.join(room, f"p{i:02d}") for i in range(16)]
    sent = {i: [f"{i}-{n}" for n in range(5)] for i in range(len(members))}

    async def burst(index: int, sender: Member) -> None:
        for n, text in enumerate(sent[index]):
            await sender.send({"type": "chat.send", "text": text, "ref": str(n)})
        for n in range(len(sent[index])):
            assert (await sender.next("ack", ref=str(n)))["type"] == "ack"

    await asyncio.gather(*(burst(i, s) for i, s in enumerate(members)))
    await _end(members[0])
    seen = await asyncio.gather(*(_texts(m) for m in members))
    history = (await acme.http.get(f"/rooms/{room}/chat", params={"limit": 200})).json()["messages"]
    stored = [m["text"] for m in history]

    # Everything sent is stored and reaches everyone, everyone sees the same order, and each
    # sender's messages keep the order they were sent in, live and in history.
    assert sorted(stored[:-1]) == sorted(text for texts in sent.values() for text in texts)
    assert all(texts == seen[0] for texts in seen)
    assert sorted(seen[0]) == sorted(stored[:-1])
    for index, texts in sent.items():
        assert [t for t in seen[0] if t.startswith(f"{index}-")] == texts
        assert [t for t in stored if t.startswith(f"{index}-")] == texts
