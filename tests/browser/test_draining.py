"""A web node's SIGTERM in the real web client: the page moves to another node by itself.

Two ``podium serve`` nodes (PostgreSQL + Redis) sit behind a small load balancer that, like a
real one, sends each new connection to the first node whose ``/readyz`` answers 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from tests.conftest import dispose, make_deployment
from tests.support.browser import BrowserParticipant
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node


class ReadyBalancer:
    """TCP proxy: each connection goes to the first backend whose /readyz is 200."""

    def __init__(self, backends: list[Node]) -> None:
        self.backends = backends
        self.server: asyncio.Server | None = None
        self.port = 0
        self.routed: list[int] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pick(self) -> Node | None:
        async with httpx.AsyncClient(timeout=1) as http:
            for node in self.backends:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(node.url + "/readyz")).status_code == 200:
                        return node
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        node = await self._pick()
        if node is None:
            writer.close()
            return
        self.routed.append(node.port)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", node.port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[tuple[Deployment, list[Node], dict[str, Any]]]:
    deployment = make_deployment("postgres-redis")
    deployment.cli("migrate")
    issued = deployment.create_tenant("Draining")
    nodes = [Node(deployment, PODIUM_MEDIA_URL="off"), Node(deployment, PODIUM_MEDIA_URL="off")]
    yield deployment, nodes, issued
    for node in nodes:
        node.stop()
    dispose(deployment)


async def test_the_web_client_moves_to_another_node_when_its_node_drains(
    browser: Browser, two_nodes: tuple[Deployment, list[Node], dict[str, Any]]
) -> None:
    _, (first, second), issued = two_nodes
    balancer = ReadyBalancer([first, second])
    await balancer.start()
    url = f"http://127.0.0.1:{balancer.port}"
    tenant = TenantClient(
        url, url.replace("http", "ws"), issued["tenant"], issued["key_id"], issued["secret"]
    )
    direct = TenantClient(second.url, second.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    person: BrowserParticipant | None = None
    try:
        room = (await tenant.room(media_mode="p2p"))["slug"]
        host = await direct.join(room, "hana", "host")
        person = await BrowserParticipant.open(browser, tenant, room, "bea")
        await person.enter()
        before = await person.participant_id()
        assert balancer.routed[-1] == first.port  # the page's socket is on the first node
        await host.next("participant.joined")

        started = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        # Back in the room through the other node, without anyone clicking anything.
        await person.wait_for(
            "(old) => { const s = window.podium.store.getState();"
            " return s.you && s.you.id !== old && !s.terminal && s.connection.status === 'open'; }",
            before,
            timeout=20,
        )
        moved = time.monotonic() - started
        assert balancer.routed[-1] == second.port
        assert await person.where() == "joined"
        rejoined = await host.next("participant.joined", timeout=10)
        assert rejoined["participant"]["identity"] == "bea"
        assert moved < 10, f"the page took {moved:.1f}s to move"
        assert first.process.wait(timeout=15) is not None
        await host.leave()
    finally:
        if person is not None:
            await person.close()
        await tenant.close()
        await direct.close()
        await balancer.stop()
