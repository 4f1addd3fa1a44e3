"""State survives a restart; the CLI manages tenants, rooms, tokens and migrations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt

from tests.support.client import TenantClient
from tests.support.server import Deployment, Node


async def test_rooms_and_chat_survive_a_restart() -> None:
    deployment = Deployment()
    deployment.cli("migrate")
    issued: dict[str, Any] = deployment.create_tenant("Umbrella")
    node = Node(deployment)
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    room = (await client.room(name="Kept"))["slug"]
    host = await client.join(room, "hana", "host")
    await host.request({"type": "chat.send", "text": "remember me"})
    node.stop()
    await client.close()

    restarted = Node(deployment)
    client = TenantClient(
        restarted.url, restarted.ws_url, issued["tenant"], issued["key_id"], issued["secret"]
    )
    try:
        assert (await client.http.get(f"/rooms/{room}")).json()["name"] == "Kept"
        # Nobody is left "in" the room by the previous process.
        assert (await client.http.get(f"/rooms/{room}/participants")).json() == []
        again = await client.join(room, "hana", "host")
        assert again.first is not None
        assert [m["text"] for m in again.first["chat"]] == ["remember me"]
    finally:
        await client.close()
        restarted.stop()


def test_cli_tenant_room_token_and_idempotent_migrate() -> None:
    deployment = Deployment()
    shipped = len(list((Path(__file__).parents[2] / "core" / "db" / "migrations").glob("podium_*.py")))
    assert f"applied: {shipped}" in deployment.cli("migrate")
    assert "up to date" in deployment.cli("migrate")
    issued = deployment.create_tenant("Stark Industries")
    assert issued["tenant"] == "stark-industries"
    assert issued["secret"].startswith("sk_")
    room = json.loads(deployment.cli("room", "create", "stark-industries", "lab", "--name", "Lab", "--json"))
    assert room["slug"] == "lab"
    token = deployment.cli("token", "create", "stark-industries", "lab", "tony", "--role", "host").strip()
    claims = jwt.decode(token, issued["secret"], algorithms=["HS256"])
    assert (claims["iss"], claims["sub"], claims["role"], claims["room"]) == (
        issued["key_id"],
        "tony",
        "host",
        "lab",
    )


def test_demo_seed_prints_working_links() -> None:
    deployment = Deployment()
    deployment.cli("migrate")
    first = json.loads(deployment.cli("demo", "--json"))
    second = json.loads(deployment.cli("demo", "--json"))
    assert "api_secret (shown once)" in first
    assert "api_secret (shown once)" not in second
    for links in (first, second):
        assert links["host link"].startswith("http://127.0.0.1:8080/r/demo/town-hall?token=")
        token = links["host link"].split("token=")[1]
        claims = jwt.decode(token, first["api_secret (shown once)"], algorithms=["HS256"])
        assert claims["role"] == "host"
    assert (
        jwt.decode(
            second["attendee link 1"].split("token=")[1],
            first["api_secret (shown once)"],
            algorithms=["HS256"],
        )["role"]
        == "attendee"
    )
