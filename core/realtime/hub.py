"""This node's side of the realtime fan-out: room subscriptions, delivery and presence upkeep.

Every node subscribes to the channel of each room it holds sockets for; an
event published by any node reaches every node's sockets through Litestar's
channels backend (in memory on one node, Redis pub/sub across several).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket as pysocket
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin, Subscriber
from redis.exceptions import RedisError

from podium.core.auth.permissions import Role
from podium.core.errors import PodiumError
from podium.core.presence import Presence
from podium.core.realtime import envelope as env
from podium.core.realtime.connection import Connection
from podium.core.realtime.protocol import LobbyResolved, ParticipantLeft, ServerMessage

__all__ = ["Hub"]

log = logging.getLogger(__name__)
_STAFF = (Role.HOST, Role.MODERATOR)


class _RoomFeed:
    """This node's subscription to one room and the room's local sockets."""

    def __init__(self, subscriber: Subscriber, task: asyncio.Task[None]) -> None:
        self.subscriber = subscriber
        self.task = task
        self.connections: dict[str, Connection] = {}


class Hub:
    """Local sockets by room, fed from the room channels."""

    def __init__(self, channels: ChannelsPlugin, presence: Presence, prefix: str) -> None:
        self.channels = channels
        # Litestar's Redis pub/sub backend does not prefix channel names, so deployments
        # sharing one Redis (and reusing room ids) would hear each other without this.
        self._prefix = prefix
        self.presence = presence
        self.node_id = f"{pysocket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._feeds: dict[int, _RoomFeed] = {}
        self._feed_lock = asyncio.Lock()
        #: Run when an ``admit`` op reaches a local waiting socket (sends its welcome).
        self.on_admit: Callable[[Connection], Coroutine[Any, Any, None]] | None = None
        #: Run when a ``plugins_changed`` op reaches the room's local joined sockets.
        self.on_plugins_changed: Callable[[list[Connection]], Coroutine[Any, Any, None]] | None = None
        #: Run for each joined participant swept from a dead node (``room_id, participant_id``).
        self.on_swept: Callable[[int, str], Coroutine[Any, Any, None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def channel_of(self, room_id: int) -> str:
        return f"{self._prefix}:room.{room_id}"

    # ---- publishing ------------------------------------------------------------------------------------

    async def publish(
        self,
        room_id: int,
        event: ServerMessage | None,
        *,
        audience: env.Audience = "all",
        targets: list[str] | None = None,
        exclude: str | None = None,
        ops: list[env.Op] | None = None,
    ) -> None:
        payload = env.encode_envelope(event, audience=audience, targets=targets, exclude=exclude, ops=ops)
        try:
            await self.channels.wait_published(payload, self.channel_of(room_id))
        except RedisError as exc:
            # Redis is down or coming back: the command fails (not acknowledged); retry later.
            raise PodiumError("unavailable", "realtime delivery is reconnecting; try again", 503) from exc

    # ---- local sockets ---------------------------------------------------------------------------------

    async def attach(self, room_id: int, connection: Connection) -> None:
        """Register a socket; events for its room start reaching it (buffered until it starts)."""
        async with self._feed_lock:
            feed = self._feeds.get(room_id)
            if feed is None:
                subscriber = await self.channels.subscribe([self.channel_of(room_id)])
                task = asyncio.create_task(self._pump(room_id, subscriber), name=f"room-feed-{room_id}")
                feed = self._feeds[room_id] = _RoomFeed(subscriber, task)
            feed.connections[connection.id] = connection

    async def detach(self, room_id: int, connection: Connection) -> None:
        async with self._feed_lock:
            feed = self._feeds.get(room_id)
            if feed is None or feed.connections.get(connection.id) is not connection:
                return
            del feed.connections[connection.id]
            if not feed.connections:
                del self._feeds[room_id]
                await self.channels.unsubscribe(feed.subscriber, [self.channel_of(room_id)])
                feed.task.cancel()

    def local(self, room_id: int, participant_id: str) -> Connection | None:
        feed = self._feeds.get(room_id)
        return None if feed is None else feed.connections.get(participant_id)

    def local_ids(self) -> list[str]:
        return [pid for feed in self._feeds.values() for pid in feed.connections]

    def local_count(self) -> int:
        return sum(len(feed.connections) for feed in self._feeds.values())

    def connections(self) -> list[Connection]:
        """Every socket on this node."""
        return [conn for feed in self._feeds.values() for conn in feed.connections.values()]

    # ---- delivery --------------------------------------------------------------------------------------

    async def _pump(self, room_id: int, subscriber: Subscriber) -> None:
        async for payload in subscriber.iter_events():
            feed = self._feeds.get(room_id)
            if feed is None:
                return
            try:
                self._dispatch(feed, env.decode(payload))
            except Exception:
                log.exception("bad envelope on room %s", room_id)

    def _dispatch(self, feed: _RoomFeed, envelope: env.Envelope) -> None:
        text = env.event_text(envelope)
        if text is not None:
            audience, targets, exclude = envelope.audience, envelope.targets, envelope.exclude
            for pid, conn in feed.connections.items():
                if pid in targets or (
                    pid != exclude
                    and conn.status == "joined"
                    and (audience == "all" or (audience == "staff" and conn.role in _STAFF))
                ):
                    conn.deliver(text)
        for op in envelope.ops:
            self._apply(feed, op)

    def _apply(self, feed: _RoomFeed, op: env.Op) -> None:
        if isinstance(op, env.CloseRoom):
            for each in feed.connections.values():
                each.close(op.code, op.reason)
            return
        if isinstance(op, env.PluginsChanged):
            joined = [c for c in feed.connections.values() if c.status == "joined"]
            if joined and self.on_plugins_changed is not None:
                self._spawn(self.on_plugins_changed(joined), "plugins-changed")
            return
        conn = feed.connections.get(op.participant_id)
        if conn is None:
            return
        if isinstance(op, env.Close):
            conn.close(op.code, op.reason)
        elif isinstance(op, env.SetRole):
            conn.me = msgspec.structs.replace(conn.me, role=op.role)
        elif isinstance(op, env.Admit) and self.on_admit is not None:
            self._spawn(self.on_admit(conn), f"admit-{conn.id}")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- presence upkeep -------------------------------------------------------------------------------

    async def keep_presence(self, interval: float) -> None:
        """Refresh this node's sessions and sweep those of dead nodes, forever."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.presence.refresh(self.local_ids())
                for room_id, pid, was in await self.presence.sweep():
                    if was == "joined":
                        await self.publish(
                            room_id, ParticipantLeft(participant_id=pid, reason="disconnected")
                        )
                        if self.on_swept is not None:
                            await self.on_swept(room_id, pid)
                    else:
                        await self.publish(
                            room_id, LobbyResolved(participant_id=pid, outcome="left"), audience="staff"
                        )
            except Exception:
                log.exception("presence upkeep failed; retrying")

    async def close(self) -> None:
        for feed in list(self._feeds.values()):
            feed.task.cancel()
            for conn in feed.connections.values():
                conn.stop()
        self._feeds.clear()
