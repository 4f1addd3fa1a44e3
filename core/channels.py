"""Redis pub/sub for Litestar channels that survives Redis going away and coming back.

Litestar's ``RedisChannelsPubSubBackend`` reads from one ``PubSub`` forever: when Redis
restarts, its reader raises and the node never hears another room event. This backend
keeps the set of channels it should be subscribed to, and when the connection breaks it
waits, opens a new ``PubSub`` and subscribes to all of them again. Events published while
Redis is down cannot be delivered (pub/sub keeps nothing): ``publish`` raises, so the
sender's command fails instead of being acknowledged; chat is in the database before it is
published, and every (re)joining client gets the recent history in ``welcome``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar.channels.backends.base import ChannelsBackend
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

__all__ = ["ResilientRedisPubSub"]

log = logging.getLogger(__name__)


class ResilientRedisPubSub(ChannelsBackend):
    """Channels over Redis pub/sub, resubscribing after an outage."""

    def __init__(self, redis: Any, *, retry_max: float = 1.0) -> None:
        self._redis = redis
        self._retry_max = retry_max
        self._channels: set[str] = set()
        self._pubsub: Any = None
        #: The current PubSub must be replaced (its connection broke) before it is read again.
        self._broken = False
        self._wanted: asyncio.Event | None = None
        #: False from a failed read until the channels are subscribed again.
        self.connected = True

    def _event(self) -> asyncio.Event:
        if self._wanted is None:
            self._wanted = asyncio.Event()
        return self._wanted

    def _ps(self) -> Any:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
        return self._pubsub

    async def on_startup(self) -> None:
        pass

    async def on_shutdown(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """Publish ``data``; raises ``RedisError`` while Redis is unreachable.

        Also while this node has not resubscribed yet: an event it acknowledges must reach
        its own sockets."""
        if not self.connected:
            raise RedisConnectionError("channels are resubscribing after a Redis outage")
        for channel in set(channels):
            await self._redis.publish(channel, data)

    async def subscribe(self, channels: Iterable[str]) -> None:
        new = set(channels)
        self._channels |= new
        self._event().set()
        if self._broken:
            return  # the reader subscribes to everything once Redis is back
        try:
            await self._ps().subscribe(*new)
        except (RedisError, OSError) as exc:
            log.warning("channels: subscribe failed (%s); will resubscribe when Redis is back", exc)
            self._broken = True

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = set(channels)
        self._channels -= gone
        if not self._channels:
            self._event().clear()
        if self._broken or self._pubsub is None:
            return
        try:
            await self._pubsub.unsubscribe(*gone)
        except (RedisError, OSError):
            self._broken = True

    async def _reconnect(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        self._pubsub = self._redis.pubsub()
        if self._channels:
            await self._pubsub.subscribe(*self._channels)
        self._broken = False

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        delay = 0.1
        while True:
            await self._event().wait()
            try:
                if self._broken:
                    await self._reconnect()
                    log.warning("channels: Redis is back; resubscribed to %d channels", len(self._channels))
                    self.connected = True
                if not self._ps().subscribed:
                    await asyncio.sleep(0.01)
                    continue
                message = await self._ps().get_message(ignore_subscribe_messages=True, timeout=1.0)
                delay = 0.1
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("channels: Redis connection lost (%s); reconnecting", exc)
                self.connected = False
                self._broken = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            if channel in self._channels:
                yield channel, message["data"]

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError("pub/sub keeps no history")
