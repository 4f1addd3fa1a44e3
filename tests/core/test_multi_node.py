"""Two ``podium serve`` processes sharing PostgreSQL and Redis act as one service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import dispose, make_deployment
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Deployment, Node, Node, dict[str, Any]]]:
    deployment = make_deployment("postgres-redis")
    deployment.cli("migrate")
    issued = deployment.create_tenant("Initech")
    first, second = Node(deployment), Node(deployment)
    yield deployment, first, second, issued
    for node in (first, second):
        node.stop()
    dispose(deployment)


@pytest.fixture
async def clients(
    cluster: tuple[Deployment, Node, Node, dict[str, Any]],
) -> AsyncIterator[tuple[TenantClient, TenantClient]]:
    _, first, second, issued = cluster
    pair = tuple(
        TenantClient(n.url, n.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
        for n in (first, second)
    )
    yield pair  # type: ignore[misc]
    for client in pair:
        await client.close()


async def test_participants_on_different_nodes_share_chat_and_presence(
    clients: tuple[TenantClient, TenantClient],
) -> None:
    via_a, via_b = clients
    room = (await via_a.room())["slug"]
    host = await via_a.join(room, "hana", "host")
    ann = await via_b.join(room, "ann")
    assert ann.first is not None
    assert {p["identity"] for p in ann.first["participants"]} == {"hana", "ann"}
    assert (await host.next("participant.joined"))["participant"]["id"] == ann.id

    await ann.request({"type": "chat.send", "text": "hello from node B"})
    assert (await host.next("chat.message"))["message"]["text"] == "hello from node B"
    assert (await ann.next("chat.message"))["message"]["text"] == "hello from node B"
    await host.request(
        {"type": "chat.send", "text": "private to ann", "to": "participant", "recipient": ann.id}
    )
    assert (await ann.next("chat.message"))["message"]["text"] == "private to ann"

    # Either node's REST API sees the whole room.
    for client in clients:
        listed = (await client.http.get(f"/rooms/{room}/participants")).json()
        assert {p["identity"] for p in listed} == {"hana", "ann"}

    await ann.leave()
    assert (await host.next("participant.left"))["participant_id"] == ann.id


async def test_moderation_and_replacement_cross_nodes(clients: tuple[TenantClient, TenantClient]) -> None:
    via_a, via_b = clients
    room = (await via_a.room())["slug"]
    host = await via_a.join(room, "hana", "host")
    bob = await via_b.join(room, "bob")
    await host.next("participant.joined")
    # The same identity connecting through the other node replaces the first socket.
    bob_again = await via_a.join(room, "bob")
    assert await bob.closed() == (4412, "replaced")
    await host.request({"type": "participant.kick", "participant_id": bob_again.id})
    assert await bob_again.closed() == (4411, "kicked")
    # Lobby admission decided on node A lets in a socket held by node B.
    await via_a.http.patch(f"/rooms/{room}", json={"lobby": True})
    carl = await via_b.join(room, "carl", expect="lobby.waiting")
    knock = await host.next("lobby.knock")
    assert knock["participant"]["id"] == carl.id
    await host.request({"type": "lobby.admit", "participant_id": carl.id})
    assert {p["identity"] for p in (await carl.next("welcome"))["participants"]} == {"hana", "carl"}


async def test_capacity_is_enforced_across_nodes(clients: tuple[TenantClient, TenantClient]) -> None:
    via_a, via_b = clients
    room = (await via_a.room(max_participants=4))["slug"]
    tokens = [await via_a.token(room, f"user-{n}") for n in range(10)]
    members = await asyncio.gather(
        *(Member.connect((via_a, via_b)[n % 2].ws_url, via_a.slug, room, t) for n, t in enumerate(tokens))
    )
    firsts = await asyncio.gather(*(m.recv() for m in members))
    assert sorted(f["type"] for f in firsts) == ["error"] * 6 + ["welcome"] * 4
    assert len((await via_b.http.get(f"/rooms/{room}/participants")).json()) == 4


async def test_a_dead_nodes_participants_are_swept(
    cluster: tuple[Deployment, Node, Node, dict[str, Any]], clients: tuple[TenantClient, TenantClient]
) -> None:
    deployment, _, _, issued = cluster
    via_a, _ = clients
    doomed = Node(deployment)
    via_doomed = TenantClient(doomed.url, doomed.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    room = (await via_a.room())["slug"]
    host = await via_a.join(room, "hana", "host")
    await via_doomed.join(room, "ghost")
    await host.next("participant.joined")
    doomed.stop(sig=9)  # no goodbye: the process just vanishes
    left = await host.next("participant.left", timeout=30)
    assert left["reason"] == "disconnected"
    assert [p["identity"] for p in (await via_a.http.get(f"/rooms/{room}/participants")).json()] == ["hana"]
    await via_doomed.close()


@pytest.fixture
def neighbours() -> Iterator[list[tuple[Node, dict[str, Any]]]]:
    """Two deployments on one Redis, each with a fresh database (so their room ids coincide)."""
    deployments = [make_deployment("postgres-redis") for _ in range(2)]
    nodes: list[tuple[Node, dict[str, Any]]] = []
    try:
        for dep in deployments:
            dep.cli("migrate")
            issued = dep.create_tenant("Hooli")
            nodes.append((Node(dep), issued))
        yield nodes
    finally:
        for node, _ in nodes:
            node.stop()
        for dep in deployments:
            dispose(dep)


async def test_deployments_sharing_one_redis_do_not_hear_each_other(
    neighbours: list[tuple[Node, dict[str, Any]]],
) -> None:
    first, second = (
        TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
        for node, issued in neighbours
    )
    for client in (first, second):
        assert (await client.http.post("/rooms", json={"slug": "lobby", "name": "Lobby"})).status_code == 201
    here = await first.join("lobby", "hana", "host")
    there = await second.join("lobby", "hana", "host")
    await here.request({"type": "chat.send", "text": "only for deployment one"})
    assert (await here.next("chat.message"))["message"]["text"] == "only for deployment one"
    assert [m for m in await there.quiet(0.5) if m["type"] == "chat.message"] == []
    for client in (first, second):
        await client.close()
