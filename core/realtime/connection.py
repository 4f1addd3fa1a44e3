"""One participant's WebSocket on this node: an ordered outbound queue and its state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from litestar import WebSocket

from podium.core.auth.permissions import Role
from podium.core.chat import RateLimiter
from podium.core.metrics import WS_MESSAGES
from podium.core.presence import SessionStatus
from podium.core.realtime.protocol import Error, ParticipantInfo, ServerMessage, encode
from podium.core.rooms import RoomInfo

__all__ = ["CloseCode", "Connection"]

log = logging.getLogger(__name__)


class CloseCode:
    """WebSocket close codes Podium uses (documented in docs/realtime.md)."""

    TOO_BIG = 1009
    SERVER_ERROR = 1011
    #: "Service Restart": this node is shutting down; reconnect (a load balancer picks another node).
    RECONNECT = 1012
    SLOW_CONSUMER = 1013
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    ROOM_FULL = 4409
    ROOM_ENDED = 4410
    KICKED = 4411
    REPLACED = 4412
    LOBBY_DENIED = 4413
    #: Sent to a breakout room or back (``breakout.move`` said where): reconnect there.
    MOVED = 4414
    #: Too many failed joins from this address (``rate_limited``): wait ``Retry-After``-long.
    RATE_LIMITED = 4429


_HTTP_TO_CLOSE = {
    400: CloseCode.BAD_REQUEST,
    401: CloseCode.UNAUTHORIZED,
    403: CloseCode.FORBIDDEN,
    404: CloseCode.NOT_FOUND,
    409: CloseCode.ROOM_FULL,
    410: CloseCode.ROOM_ENDED,
    429: CloseCode.RATE_LIMITED,
}


def close_code_for(status: int) -> int:
    return _HTTP_TO_CLOSE.get(status, CloseCode.BAD_REQUEST)


class _CloseRequest:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


_SENT = WS_MESSAGES.labels(direction="out")

#: Frames queued for a client that does not read; past this it is cut off.
OUTBOX_LIMIT = 2048
#: Commands other than chat, plugin commands and ``ping`` (each limited on its own) one connection
#: may send: a burst, then a steady rate. Room for a browser's signalling (an offer and its
#: candidates to five peers at once), none for one participant flooding a room with events.
COMMAND_BURST = 200
COMMAND_RATE = 50.0


class Connection:
    """A participant's socket; everything sent goes through one queue, so order is kept."""

    def __init__(
        self, socket: WebSocket[Any, Any, Any], room: RoomInfo, me: ParticipantInfo, limiter: RateLimiter
    ) -> None:
        self.socket = socket
        self.room = room
        self.me = me
        self.status: SessionStatus = "waiting"
        self.limiter = limiter
        self.commands = RateLimiter(COMMAND_RATE, COMMAND_BURST)
        self.closed_by_server = False
        self._outbox: asyncio.Queue[str | _CloseRequest] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        #: Events that arrived before ``welcome`` was queued; sent right after it.
        self._early: list[str] | None = []

    @property
    def id(self) -> str:
        return self.me.id

    @property
    def role(self) -> Role:
        return self.me.role

    def start(self, first: ServerMessage) -> None:
        """Queue ``first`` (welcome or lobby.waiting), then whatever arrived meanwhile."""
        self._outbox.put_nowait(encode(first))
        for text in self._early or ():
            self._outbox.put_nowait(text)
        self._early = None
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.id}")

    def hold(self) -> None:
        """Buffer events again until the next ``start`` (admission from the lobby)."""
        if not self.closed_by_server:
            self._early = []

    def deliver(self, text: str) -> None:
        if self._early is not None:
            self._early.append(text)
        elif self._outbox.qsize() >= OUTBOX_LIMIT:
            log.warning("participant %s reads too slowly; closing", self.id)
            self._early = None
            self.close(CloseCode.SLOW_CONSUMER, "slow_consumer")
        else:
            self._outbox.put_nowait(text)

    def send(self, message: ServerMessage) -> None:
        self.deliver(encode(message))

    def error(self, code: str, message: str, ref: str | None = None) -> None:
        self.send(Error(code=code, message=message, ref=ref))

    def close(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been sent."""
        self.closed_by_server = True
        if self._early is not None:
            self._early = None
        self._outbox.put_nowait(_CloseRequest(code, reason))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.id}")

    async def _write(self) -> None:
        send = self.socket.send
        try:
            while True:
                item = await self._outbox.get()
                if isinstance(item, _CloseRequest):
                    await self.socket.close(code=item.code, reason=item.reason)
                    return
                await send({"type": "websocket.send", "text": item, "bytes": None})
                _SENT.inc()
        except Exception:  # the peer went away; the receive loop notices and cleans up
            log.debug("writer for %s stopped", self.id, exc_info=True)

    async def drain(self) -> None:
        """Wait for the writer to finish (after a close request)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=5)

    def stop(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
