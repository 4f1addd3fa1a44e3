"""The Redis channels backend across a Redis restart (a private redis-server, never the shared one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from litestar.channels import ChannelsPlugin
from redis.asyncio import Redis
from redis.exceptions import RedisError

from podium.core.channels import ResilientRedisPubSub
from tests.support.cluster import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
async def plugin(redis_server: RedisServer) -> AsyncIterator[tuple[ChannelsPlugin, ResilientRedisPubSub]]:
    backend = ResilientRedisPubSub(Redis.from_url(redis_server.url, socket_connect_timeout=1))
    channels = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
    await channels._on_startup()
    yield channels, backend
    await channels._on_shutdown()


async def _until(check: Callable[[], bool], within: float = 5) -> bool:
    for _ in range(int(within / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def _next(queue: asyncio.Queue[bytes], timeout: float = 5) -> bytes:
    return await asyncio.wait_for(queue.get(), timeout)


async def test_events_flow_again_after_redis_restarts(
    redis_server: RedisServer, plugin: tuple[ChannelsPlugin, ResilientRedisPubSub]
) -> None:
    channels, backend = plugin
    subscriber = await channels.subscribe(["room.1"])
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def read() -> None:
        async for event in subscriber.iter_events():
            received.put_nowait(event)

    reader = asyncio.create_task(read())
    try:
        await channels.wait_published(b"before", "room.1")
        assert await _next(received) == b"before"

        redis_server.stop()
        assert await _until(lambda: not backend.connected), "the reader did not notice Redis going away"
        # Publishing fails loudly while Redis is down (the caller does not acknowledge).
        with pytest.raises(RedisError):
            await channels.wait_published(b"during", "room.1")
        # A room joined meanwhile is subscribed once Redis is back.
        late = await channels.subscribe(["room.2"])

        redis_server.start()
        assert await _until(lambda: backend.connected), "the backend never resubscribed"
        await channels.wait_published(b"after", "room.1")
        assert await _next(received) == b"after"
        await channels.wait_published(b"late", "room.2")
        assert await asyncio.wait_for(anext(aiter(late.iter_events())), 5) == b"late"
        assert received.empty()
    finally:
        reader.cancel()
