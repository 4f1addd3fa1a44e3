"""Plugin tests: fresh tenants (so switching plugins on never leaks into other tests), helpers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.support.client import TenantClient
from tests.support.server import Deployment, Node

TenantFactory = Callable[..., Awaitable[TenantClient]]


@pytest.fixture
async def new_tenant(deployment: Deployment, node: Node) -> AsyncIterator[TenantFactory]:
    """Make a tenant of its own, optionally with plugins enabled: ``await new_tenant(polls={})``."""
    made: list[TenantClient] = []

    async def make(on: Node | None = None, **plugins: dict[str, Any]) -> TenantClient:
        server = on or node
        issued = deployment.create_tenant(f"T {uuid.uuid4().hex[:8]}")
        client = TenantClient(server.url, server.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
        made.append(client)
        for name, config in plugins.items():
            await enable(client, name, config)
        return client

    yield make
    for client in made:
        await client.close()


async def enable(client: TenantClient, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.http.put(f"/plugins/{name}", json={"enabled": True, "config": config or {}})
    assert response.status_code == 200, response.text
    return dict(response.json())


def plugin_state(welcome: dict[str, Any], name: str) -> Any:
    return next(p["state"] for p in welcome["plugins"] if p["name"] == name)


async def command(member: Any, plugin: str, action: str, data: Any = None) -> dict[str, Any]:
    """Send a plugin command and return its ``ack`` or ``error``."""
    message = {"type": "plugin", "plugin": plugin, "action": action}
    if data is not None:
        message["data"] = data
    reply: dict[str, Any] = await member.request(message)
    return reply


@pytest.fixture(scope="session")
def test_plugins_node(deployment: Deployment) -> Iterator[Node]:
    """A node that also loads the test plugins (probe, faulty), with a short hook budget."""
    server = Node(
        deployment,
        PODIUM_PLUGINS="tests.plugins.probe,tests.plugins.faulty",
        PODIUM_PLUGIN_HOOK_TIMEOUT="0.5",
        PODIUM_PLUGIN_MAX_FAILURES="3",
    )
    yield server
    server.stop()


async def event_where(member: Any, plugin: str, event: str, check: Callable[[Any], bool]) -> Any:
    """The ``data`` of the first ``plugin.event`` of that name for which ``check(data)`` holds."""
    while True:
        data = (await member.next("plugin.event", plugin=plugin, event=event))["data"]
        if check(data):
            return data
