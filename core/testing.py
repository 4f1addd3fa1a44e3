"""Pytest fixtures for plugin authors: a real Podium with your plugin enabled, and participants.

Enable with ``pytest_plugins = ["podium.core.testing"]`` in your ``conftest.py``, then::

    async def test_hello(podium_room):
        room = await podium_room(plugins={"hello": {}})
        host = await room.join("ada", role="host")
        ack = await host.plugin("hello", "wave", {"to": "everyone"})
        assert ack["type"] == "ack"

``podium_server`` runs ``podium serve`` on SQLite in a temporary directory (one per test
session), so the plugin is loaded exactly as in production: through its entry point.
"""

# ruff: noqa: ASYNC109  (helpers take explicit timeouts, like the test clients they stand for)
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

__all__ = ["Participant", "PodiumServer", "TestRoom", "podium_room", "podium_server"]

TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PodiumServer:
    """A ``podium serve`` process with a tenant of its own."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        self.env.update(
            PODIUM_DATA_DIR=str(data_dir), PODIUM_MEDIA_URL="off", PODIUM_LOG_LEVEL="warning", **env
        )
        self.log = data_dir / "podium.log"
        self._cli("migrate")
        self.tenant = json.loads(self._cli("tenant", "create", f"Test {uuid.uuid4().hex[:6]}", "--json"))
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "podium.core.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"podium serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"podium serve did not start:\n{self.log.read_text()}")

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "podium.core.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"podium {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def api(self) -> httpx.AsyncClient:
        """The tenant's REST client (``/api/v1``, authenticated with its API secret)."""
        return httpx.AsyncClient(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.tenant['secret']}"},
            timeout=TIMEOUT,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Participant:
    """One person's WebSocket in a room."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.welcome: dict[str, Any] = {}
        self._kept: list[dict[str, Any]] = []

    @property
    def id(self) -> str:
        return str(self.welcome["you"]["id"])

    def plugin_state(self, name: str) -> Any:
        """The plugin's part of this participant's ``welcome``."""
        return next(p["state"] for p in self.welcome["plugins"] if p["name"] == name)

    async def _recv(self, timeout: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        return message

    async def next(self, kind: str, timeout: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The next message of type ``kind`` whose fields equal ``match`` (others are kept)."""
        for i, seen in enumerate(self._kept):
            if seen["type"] == kind and all(seen.get(k) == v for k, v in match.items()):
                return self._kept.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = await self._recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message
            self._kept.append(message)

    async def event(self, plugin: str, event: str, timeout: float = TIMEOUT) -> Any:
        """The ``data`` of the next ``plugin.event`` ``event`` from ``plugin``."""
        return (await self.next("plugin.event", timeout, plugin=plugin, event=event))["data"]

    async def plugin(self, plugin: str, action: str, data: Any = None) -> dict[str, Any]:
        """Send a plugin command; returns its ``ack`` or ``error``."""
        ref = uuid.uuid4().hex[:8]
        command = {"type": "plugin", "plugin": plugin, "action": action, "data": data, "ref": ref}
        await self.socket.send(json.dumps(command))
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, seen in enumerate(self._kept):
                if seen["type"] in ("ack", "error") and seen.get("ref") == ref:
                    return self._kept.pop(i)
            message = await self._recv(max(0.01, deadline - time.monotonic()))
            if message["type"] in ("ack", "error") and message.get("ref") == ref:
                return message
            self._kept.append(message)

    async def close(self) -> None:
        await self.socket.close()


class TestRoom:
    """A room of the test tenant, with its plugins enabled."""

    __test__ = False

    def __init__(self, server: PodiumServer, api: httpx.AsyncClient, slug: str) -> None:
        self.server = server
        self.api = api
        self.slug = slug
        self.people: list[Participant] = []

    async def join(self, identity: str, role: str = "attendee") -> Participant:
        """Connect ``identity`` and wait for ``welcome``."""
        response = await self.api.post(
            f"/rooms/{self.slug}/tokens", json={"identity": identity, "role": role}
        )
        response.raise_for_status()
        token = response.json()["token"]
        ws = self.server.url.replace("http", "ws", 1)
        socket = await websockets.connect(f"{ws}/ws/{self.server.tenant['tenant']}/{self.slug}?token={token}")
        person = Participant(socket)
        person.welcome = await person.next("welcome")
        self.people.append(person)
        return person


@pytest.fixture(scope="session")
def podium_server() -> Iterator[PodiumServer]:
    """One ``podium serve`` for the test session (SQLite, no media node)."""
    server = PodiumServer(Path(tempfile.mkdtemp(prefix="podium-plugin-test-")))
    yield server
    server.stop()


@pytest.fixture
async def podium_room(podium_server: PodiumServer) -> AsyncIterator[Callable[..., Awaitable[TestRoom]]]:
    """Make rooms: ``await podium_room(plugins={"name": config})`` enables those plugins first."""
    api = podium_server.api()
    rooms: list[TestRoom] = []

    async def make(plugins: dict[str, dict[str, Any]] | None = None, **settings: Any) -> TestRoom:
        for name, config in (plugins or {}).items():
            response = await api.put(f"/plugins/{name}", json={"enabled": True, "config": config})
            assert response.status_code == 200, response.text
        slug = f"room-{uuid.uuid4().hex[:10]}"
        response = await api.post("/rooms", json={"slug": slug, "name": "Test room", **settings})
        response.raise_for_status()
        room = TestRoom(podium_server, api, slug)
        rooms.append(room)
        return room

    yield make
    for room in rooms:
        for person in room.people:
            await person.close()
    await api.aclose()
