"""Polls: hosts ask, everyone votes once, results live; per-tenant isolation."""

from __future__ import annotations

import asyncio

import pytest

from tests.plugins.conftest import TenantFactory, command, event_where, plugin_state
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node
from tests.support.webhooks import Receiver

QUESTION = {"question": "Lunch?", "options": ["Pizza", "Salad", "Soup"]}


async def test_a_poll_runs_live_and_votes_count_once(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(polls={})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "host", "host")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")

    created = await command(host, "polls", "create", QUESTION)
    assert created["type"] == "ack", created
    poll_id = created["id"]
    shown = (await bob.next("plugin.event", plugin="polls", event="poll"))["data"]
    assert shown["question"] == "Lunch?" and shown["counts"] == [0, 0, 0] and shown["status"] == "open"

    assert (await command(ann, "polls", "vote", {"poll_id": poll_id, "choices": [1]}))["type"] == "ack"
    live = await event_where(bob, "polls", "poll", lambda d: d["voters"] == 1)
    assert live["counts"] == [0, 1, 0] and "names" not in live
    staff = await event_where(host, "polls", "poll.staff", lambda d: d["voters"] == 1)
    assert staff["names"] == [[], ["Ann"], []]

    again = await command(ann, "polls", "vote", {"poll_id": poll_id, "choices": [0]})
    assert again["type"] == "error" and again["code"] == "already_voted"
    two = await command(bob, "polls", "vote", {"poll_id": poll_id, "choices": [0, 1]})
    assert two["code"] == "invalid_choice"  # single choice

    # Attendees may not run polls; bad data is refused by the action's schema.
    assert (await command(bob, "polls", "create", QUESTION))["code"] == "forbidden"
    bad = await command(host, "polls", "create", {"question": "x", "options": ["only one"]})
    assert bad["code"] == "invalid_message" and "options" in bad["message"]

    # A late joiner lands on the poll with the votes so far, and sees their own vote.
    await ann.leave()
    ann = await acme.join(room, "ann")
    state = plugin_state(ann.first or {}, "polls")
    assert state["polls"][0]["counts"] == [0, 1, 0] and state["my_votes"] == {poll_id: [1]}

    assert (await command(host, "polls", "close", {"poll_id": poll_id}))["type"] == "ack"
    closed = await event_where(bob, "polls", "poll", lambda d: d["status"] == "closed")
    assert closed["counts"] == [0, 1, 0]
    late = await command(bob, "polls", "vote", {"poll_id": poll_id, "choices": [2]})
    assert late["code"] == "poll_closed"


async def test_hidden_results_until_revealed(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(polls={"live_results": False})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "host", "host")
    ann = await acme.join(room, "ann")
    poll_id = (await command(host, "polls", "create", {**QUESTION, "anonymous": True}))["id"]
    await command(ann, "polls", "vote", {"poll_id": poll_id, "choices": [2]})
    seen = await event_where(ann, "polls", "poll", lambda d: d["voters"] == 1)
    assert seen["counts"] is None
    staff = await event_where(host, "polls", "poll.staff", lambda d: d["voters"] == 1)
    assert staff["counts"] == [0, 0, 1] and "names" not in staff  # anonymous
    await command(host, "polls", "reveal", {"poll_id": poll_id})
    revealed = await event_where(ann, "polls", "poll", lambda d: d["results_visible"])
    assert revealed["counts"] == [0, 0, 1]


async def test_a_tenant_without_polls_never_sees_them(new_tenant: TenantFactory) -> None:
    a = await new_tenant(polls={})
    b = await new_tenant()
    room_b = (await b.room())["slug"]
    host_b = await b.join(room_b, "host", "host")
    assert [p["name"] for p in (host_b.first or {})["plugins"]] == []
    refused = await command(host_b, "polls", "create", QUESTION)
    assert refused["type"] == "error" and refused["code"] == "plugin_not_enabled"

    room_a = (await a.room())["slug"]
    host_a = await a.join(room_a, "host", "host")
    assert "polls" in [p["name"] for p in (host_a.first or {})["plugins"]]
    await command(host_a, "polls", "create", QUESTION)
    assert [m for m in await host_b.quiet(0.5) if m["type"] == "plugin.event"] == []


async def test_closing_a_poll_sends_its_results_to_the_tenants_webhooks(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(polls={})
    assert (await acme.http.patch("/tenant", json={"webhook_development": True})).status_code == 200
    receiver = Receiver()
    try:
        endpoint = {"url": receiver.url, "events": ["plugin.polls.closed"]}
        assert (await acme.http.post("/webhooks/endpoints", json=endpoint)).status_code == 201
        room = await acme.room()
        host = await acme.join(room["slug"], "hana", "host")
        ann = await acme.join(room["slug"], "ann")
        poll_id = (await command(host, "polls", "create", QUESTION))["id"]
        await command(ann, "polls", "vote", {"poll_id": poll_id, "choices": [0]})
        await command(host, "polls", "close", {"poll_id": poll_id})

        (delivery,) = await receiver.wait(1, "plugin.polls.closed")
        data = delivery.payload["data"]
        assert data["room"]["slug"] == room["slug"]
        assert data["poll"]["question"] == "Lunch?" and data["poll"]["total_voters"] == 1
        assert data["poll"]["options"][0] == {"text": "Pizza", "votes": 1}
        assert data["poll"]["voters"] == [{"identity": "ann", "name": "Ann", "choices": [0]}]
    finally:
        receiver.close()


# Several nodes share a room only on PostgreSQL + Redis.
@pytest.mark.parametrize("deployment", ["postgres-redis"], indirect=True)
async def test_votes_on_two_nodes_count_once_each(
    new_tenant: TenantFactory, deployment: Deployment, test_plugins_node: Node
) -> None:
    assert deployment.database_url
    acme = await new_tenant(polls={})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")  # on the first node
    on_b = TenantClient(test_plugins_node.url, test_plugins_node.ws_url, acme.slug, acme.key_id, acme.secret)
    try:
        voters = [await on_b.join(room, f"voter-{i}") for i in range(4)]  # on the second node
        poll_id = (await command(host, "polls", "create", QUESTION))["id"]
        replies = await asyncio.gather(
            *(
                command(v, "polls", "vote", {"poll_id": poll_id, "choices": [i % 3]})
                for i, v in enumerate(voters)
            )
        )
        assert [r["type"] for r in replies] == ["ack"] * 4
        final = await event_where(host, "polls", "poll.staff", lambda d: d["voters"] == 4)
        assert final["counts"] == [2, 1, 1]
    finally:
        await on_b.close()
