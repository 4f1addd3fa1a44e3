"""Rate limits on what attackers repeat: failed authentications per address, rooms per tenant.

Each test calls from its own client address: the nodes trust ``X-Forwarded-For`` from loopback
(uvicorn's ``proxy_headers``, as behind the documented nginx), so addresses stay apart although
every test client is on 127.0.0.1. The limits count in wall-clock minutes: a test starts early
in one, so its attempts all land in the same window.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.hardening.conftest import Tally
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node

AUTH_LIMIT = 5
ROOMS_LIMIT = 3


@pytest.fixture(scope="module")
def strict(deployment: Deployment) -> Iterator[list[Node]]:
    """Nodes with low limits: two sharing Redis on the scaled-out backend, one on SQLite."""
    limits = {
        "PODIUM_AUTH_FAILURES_PER_MINUTE": str(AUTH_LIMIT),
        "PODIUM_ROOMS_PER_MINUTE": str(ROOMS_LIMIT),
    }
    nodes = [Node(deployment, **limits) for _ in range(2 if deployment.redis_url else 1)]
    yield nodes
    for node in nodes:
        node.stop()


@pytest.fixture(scope="module")
def issued(deployment: Deployment) -> dict[str, Any]:
    return deployment.create_tenant(f"Limits {uuid.uuid4().hex[:6]}")


def _address() -> str:
    """A client address of this test's own (documentation range, never routed)."""
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


async def _fresh_window() -> None:
    """Wait, if need be, until a minute starts with at least 20 s left in it."""
    into = time.time() % 60
    if into > 40:
        await asyncio.sleep(60 - into + 0.2)


async def _get_rooms(node: Node, secret: str, address: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
        return await http.get(
            "/api/v1/rooms", headers={"Authorization": f"Bearer {secret}", "X-Forwarded-For": address}
        )


async def _join(node: Node, tenant: str, room: str, token: str, address: str) -> tuple[str, int, str]:
    """Connect from ``address``: ``("welcome", 0, "")`` or ``("closed", code, reason)``."""
    url = f"{node.ws_url}/ws/{tenant}/{room}?token={token}"
    async with websockets.connect(url, additional_headers={"X-Forwarded-For": address}) as socket:
        try:
            while True:
                message = await asyncio.wait_for(socket.recv(), 10)
                if '"type":"welcome"' in str(message).replace(" ", ""):
                    return "welcome", 0, ""
        except ConnectionClosed as exc:
            assert exc.rcvd is not None
            return "closed", exc.rcvd.code, exc.rcvd.reason


async def test_failed_api_secrets_lock_the_address_out_for_the_rest_of_the_minute(
    strict: list[Node], issued: dict[str, Any], tally: Tally
) -> None:
    node, attacker, neighbour = strict[0], _address(), _address()
    await _fresh_window()
    for _ in range(AUTH_LIMIT):
        guess = await _get_rooms(node, "sk_" + uuid.uuid4().hex * 2, attacker)
        assert guess.status_code == 401 and guess.json()["error"]["code"] == "api_key_invalid"
    over = await _get_rooms(node, "sk_" + uuid.uuid4().hex * 2, attacker)
    assert over.status_code == 429 and over.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(over.headers["retry-after"]) <= 60
    # Over the limit the real secret is refused too, so guesses learn nothing; others go on.
    assert (await _get_rooms(node, issued["secret"], attacker)).status_code == 429
    assert (await _get_rooms(node, issued["secret"], neighbour)).status_code == 200
    tally.tried(AUTH_LIMIT + 2)
    tally.held(AUTH_LIMIT + 2)


async def test_refused_join_tokens_count_and_close_with_4429(
    strict: list[Node], issued: dict[str, Any], tally: Tally
) -> None:
    node, attacker, neighbour = strict[0], _address(), _address()
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    room = (await client.room())["slug"]
    valid = await client.token(room, "ann")
    await client.close()
    forged = jwt.encode(
        {"sub": "mallory", "room": room, "role": "host", "exp": int(time.time()) + 60},
        "not-the-tenant-signing-secret-0123456789",
        headers={"kid": issued["key_id"]},
    )
    await _fresh_window()
    for _ in range(AUTH_LIMIT):
        assert (await _join(node, issued["tenant"], room, forged, attacker))[:2] == ("closed", 4401)
    assert await _join(node, issued["tenant"], room, forged, attacker) == ("closed", 4429, "rate_limited")
    assert await _join(node, issued["tenant"], room, valid, attacker) == ("closed", 4429, "rate_limited")
    assert (await _join(node, issued["tenant"], room, valid, neighbour))[0] == "welcome"
    tally.tried(AUTH_LIMIT + 2)
    tally.held(AUTH_LIMIT + 2)


@pytest.mark.scaled_only
async def test_failures_on_one_node_count_on_every_node(
    strict: list[Node], issued: dict[str, Any], tally: Tally
) -> None:
    assert len(strict) == 2
    attacker = _address()
    await _fresh_window()
    for index in range(AUTH_LIMIT):
        response = await _get_rooms(strict[index % 2], "sk_" + uuid.uuid4().hex * 2, attacker)
        assert response.status_code == 401
    for node in strict:
        assert (await _get_rooms(node, issued["secret"], attacker)).status_code == 429
    tally.tried(AUTH_LIMIT + 2)
    tally.held(AUTH_LIMIT + 2)


async def test_room_creation_is_limited_per_tenant(
    strict: list[Node], deployment: Deployment, tally: Tally
) -> None:
    node = strict[-1]
    busy, other = (deployment.create_tenant(f"Rooms {uuid.uuid4().hex[:6]}") for _ in range(2))
    clients = [
        TenantClient(node.url, node.ws_url, t["tenant"], t["key_id"], t["secret"]) for t in (busy, other)
    ]
    await _fresh_window()
    try:
        for _ in range(ROOMS_LIMIT):
            await clients[0].room()
        refused = await clients[0].http.post("/rooms", json={"slug": "one-too-many", "name": "x"})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert (await clients[0].http.get("/rooms/one-too-many")).status_code == 404
        await clients[1].room()  # another tenant is not slowed down
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    tally.tried(ROOMS_LIMIT + 2)
    tally.held(ROOMS_LIMIT + 2)
