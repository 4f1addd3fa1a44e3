"""Fixtures: real Podium servers on SQLite + in-memory channels and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support.client import TenantClient
from tests.support.server import Deployment, Node
from tests.support.services import REDIS_URL, create_database, drop_database, require_servers
from tests.support.synthetic import SyntheticParticipant

BACKENDS = ["sqlite-memory", "postgres-redis"]


def make_deployment(backend: str, **extra: str) -> Deployment:
    if backend == "postgres-redis":
        require_servers()
        return Deployment(database_url=asyncio.run(create_database()), redis_url=REDIS_URL, extra=extra)
    return Deployment(extra=extra)


def dispose(deployment: Deployment) -> None:
    if deployment.database_url:
        asyncio.run(drop_database(deployment.database_url))


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Media work is CPU-heavy on a 2-core machine; the backend matrix is covered elsewhere.
    if "deployment" not in metafunc.fixturenames:
        return
    for marker, backend in (("embedded_only", "sqlite-memory"), ("scaled_only", "postgres-redis")):
        if metafunc.definition.get_closest_marker(marker):
            metafunc.definition.add_marker(pytest.mark.parametrize("deployment", [backend], indirect=True))


@pytest.fixture(scope="session", params=BACKENDS)
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A migrated database (and channel namespace) shared by the session's tests."""
    dep = make_deployment(request.param)
    dep.cli("migrate")
    yield dep
    dispose(dep)


@pytest.fixture(scope="session")
def node(deployment: Deployment) -> Iterator[Node]:
    server = Node(deployment)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tenant_keys(deployment: Deployment) -> dict[str, dict[str, Any]]:
    return {name: deployment.create_tenant(name) for name in ("Acme", "Globex")}


async def _client(node: Node, issued: dict[str, Any]) -> TenantClient:
    return TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])


@pytest.fixture
async def acme(node: Node, tenant_keys: dict[str, dict[str, Any]]) -> AsyncIterator[TenantClient]:
    client = await _client(node, tenant_keys["Acme"])
    yield client
    await client.close()


@pytest.fixture
async def globex(node: Node, tenant_keys: dict[str, dict[str, Any]]) -> AsyncIterator[TenantClient]:
    client = await _client(node, tenant_keys["Globex"])
    yield client
    await client.close()


@pytest.fixture
async def people() -> AsyncIterator[list[SyntheticParticipant]]:
    """Synthetic participants a test appends as they join; all leave when it ends."""
    joined: list[SyntheticParticipant] = []
    yield joined
    await asyncio.gather(*(p.leave() for p in joined), return_exceptions=True)
