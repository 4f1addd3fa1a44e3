"""What an embedder's server and its users' browsers do, over real HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

TIMEOUT = 10.0


class TenantClient:
    """A tenant's server calling the REST API with its API secret."""

    def __init__(self, base_url: str, ws_url: str, slug: str, key_id: str, secret: str) -> None:
        self.base_url = base_url
        self.ws_url = ws_url
        self.slug = slug
        self.key_id = key_id
        self.secret = secret
        self.http = httpx.AsyncClient(
            base_url=base_url + "/api/v1", headers={"Authorization": f"Bearer {secret}"}, timeout=TIMEOUT
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def room(self, **settings: Any) -> dict[str, Any]:
        """A new room with a unique slug."""
        body = {"slug": f"room-{uuid.uuid4().hex[:10]}", "name": "Test room", **settings}
        response = await self.http.post("/rooms", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def token(self, room: str, identity: str, role: str = "attendee", **extra: Any) -> str:
        response = await self.http.post(
            f"/rooms/{room}/tokens",
            json={"identity": identity, "role": role, "name": identity.title(), **extra},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    async def join(self, room: str, identity: str, role: str = "attendee", expect: str = "welcome") -> Member:
        member = await Member.connect(self.ws_url, self.slug, room, await self.token(room, identity, role))
        await member.next(expect)
        return member


class Member:
    """A participant's WebSocket; ``next`` waits for a message type and keeps the rest."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []
        self.first: dict[str, Any] | None = None
        self.id = ""

    @classmethod
    async def connect(cls, ws_url: str, tenant: str, room: str, token: str) -> Member:
        socket = await websockets.connect(f"{ws_url}/ws/{tenant}/{room}?token={token}", max_size=None)
        return cls(socket)

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        if message["type"] in ("welcome", "lobby.waiting"):
            self.first = message
            self.id = message["you"]["id"]
        return message

    async def next(self, kind: str, timeout: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The next message of type ``kind`` (whose fields equal ``match``), skipping others."""
        for index, message in enumerate(self.seen):
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return self.seen.pop(index)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} {match or ''} within {timeout}s; saw {self.seen}")
            message = await self.recv(remaining)
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message
            self.seen.append(message)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a command with a ``ref``; return its ``ack`` or ``error``."""
        ref = uuid.uuid4().hex[:8]
        await self.send({**message, "ref": ref})
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while True:
            for index, seen in enumerate(self.seen):
                if seen["type"] in ("ack", "error", "pong") and seen.get("ref") == ref:
                    return self.seen.pop(index)
            reply = await self.recv(deadline - asyncio.get_running_loop().time())
            if reply["type"] in ("ack", "error", "pong") and reply.get("ref") == ref:
                return reply
            self.seen.append(reply)

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Read until the server closes; return ``(code, reason)``."""
        try:
            while True:
                self.seen.append(await self.recv(timeout))
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            return exc.rcvd.code, exc.rcvd.reason

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` (to assert that nothing did)."""
        got = list(self.seen)
        self.seen.clear()
        try:
            while True:
                got.append(await self.recv(seconds))
        except TimeoutError:
            return got

    async def leave(self) -> None:
        await self.socket.close()


async def refused(ws_url: str, tenant: str, room: str, token: str) -> tuple[int, str, dict[str, Any]]:
    """Connect with ``token`` and return the close code, reason and error message of the refusal."""
    member = await Member.connect(ws_url, tenant, room, token)
    error = await member.recv()
    code, reason = await member.closed()
    return code, reason, error
