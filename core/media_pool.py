"""MCU rooms across several media nodes: placement in Redis, one ``MediaClient`` per node.

With ``PODIUM_MEDIA_URL=registry`` media nodes register themselves in Redis
(``media/registry.py``). A room's first offer places it on the least-loaded live node
that is not draining (lowest participants per capacity, then fewest rooms) and the
placement is stored in Redis, so every web node sends that room's participants to the
same node. A node whose record has been missing for ``media_node_ttl`` seconds is dead:
its rooms lose their placement and are told ``media.failed``; participants offer again
and the offers place the room afresh. ``MediaPool`` answers the same calls as a single
``MediaClient``, so the rest of core does not care which one it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from redis.exceptions import RedisError

from podium.core.errors import PodiumError
from podium.core.media_client import EventHandler, MediaClient
from podium.media.registry import NodeRecord, failover_key, node_key, node_rooms_key, nodes_key, placement_key

__all__ = ["MediaPool", "MediaRegistry"]

log = logging.getLogger(__name__)
#: A placement outlives a forgotten room by this long; every offer renews it.
PLACEMENT_TTL = 24 * 3600

# Set KEYS[1] to ARGV[2] if it still holds ARGV[1] ('' = unset); return what it holds afterwards.
_SWAP = """
local v = redis.call('GET', KEYS[1])
if (v == false and ARGV[1] == '') or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return ARGV[2]
end
return v
"""
# Delete KEYS[1] if it holds ARGV[1].
_FORGET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_decoder = msgspec.json.Decoder(NodeRecord)


class MediaRegistry:
    """Reads the media nodes' records and keeps room placements, in Redis."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._swap = redis.register_script(_SWAP)
        self._forget = redis.register_script(_FORGET)

    async def live(self) -> list[NodeRecord]:
        """Every node whose heartbeat has not expired."""
        urls = sorted(u.decode() for u in await self.redis.smembers(nodes_key(self.prefix)))
        if not urls:
            return []
        raw = await self.redis.mget([node_key(self.prefix, u) for u in urls])
        records = []
        for blob in raw:
            if blob is not None:
                with contextlib.suppress(msgspec.MsgspecError):
                    records.append(_decoder.decode(blob))
        return records

    async def placement(self, room: str) -> str | None:
        value = await self.redis.get(placement_key(self.prefix, room))
        return value.decode() if value is not None else None

    async def place(self, room: str, expected: str | None, url: str) -> str:
        """Pin ``room`` to ``url`` unless another web node placed it first; the winner's URL."""
        got = await self._swap(
            keys=[placement_key(self.prefix, room)], args=[expected or "", url, PLACEMENT_TTL]
        )
        winner = got.decode() if isinstance(got, bytes) else str(got)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(node_rooms_key(self.prefix, winner), room)
            if expected and expected != winner:
                pipe.srem(node_rooms_key(self.prefix, expected), room)
            await pipe.execute()
        return winner

    async def renew(self, room: str) -> None:
        """Keep a room's placement while it is in use."""
        await self.redis.expire(placement_key(self.prefix, room), PLACEMENT_TTL)

    async def unplace(self, room: str, url: str) -> None:
        await self._forget(keys=[placement_key(self.prefix, room)], args=[url])
        await self.redis.srem(node_rooms_key(self.prefix, url), room)

    async def placed_counts(self, urls: list[str]) -> dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for url in urls:
                pipe.scard(node_rooms_key(self.prefix, url))
            counts = await pipe.execute()
        return dict(zip(urls, (int(c) for c in counts), strict=True))

    async def claim_failover(self, room: str, dead_url: str) -> bool:
        """True for exactly one caller per room and dead node (that one tells the room)."""
        return bool(await self.redis.set(failover_key(self.prefix, room, dead_url), 1, nx=True, ex=300))


def least_loaded(nodes: list[NodeRecord], placed: dict[str, int]) -> NodeRecord | None:
    """The node a new room goes to: not draining, not full, lowest load per capacity."""
    open_nodes = [n for n in nodes if not n.draining and n.participants < n.capacity]
    if not open_nodes:
        return None
    return min(
        open_nodes,
        key=lambda n: (n.participants / max(1, n.capacity), placed.get(n.url, n.rooms), n.cpu_percent, n.url),
    )


class MediaPool:
    """Places rooms on registered media nodes and routes each request to the room's node."""

    def __init__(
        self,
        registry: MediaRegistry,
        on_event: EventHandler,
        on_restart: Callable[[set[str]], Awaitable[None]],
        *,
        node_ttl: float,
        check_every: float,
    ) -> None:
        self.registry = registry
        self._on_event = on_event
        self._on_restart = on_restart
        self.node_ttl = node_ttl
        self.check_every = check_every
        self.clients: dict[str, MediaClient] = {}
        #: room → node URL, as last read or written; used while Redis is unreachable.
        self.placed: dict[str, str] = {}
        #: The latest records read from Redis, by URL (for /metrics).
        self.nodes: dict[str, NodeRecord] = {}
        self._missing_since: dict[str, float] = {}
        self._redis_failed_at = -1e9
        self._lock = asyncio.Lock()
        self._monitor: asyncio.Task[None] | None = None

    # ---- the MediaClient surface core uses ------------------------------------------------------------

    @property
    def rooms(self) -> set[str]:
        return {room for client in self.clients.values() for room in client.rooms}

    @property
    def connected(self) -> bool:
        return any(client.connected for client in self.clients.values())

    def start(self) -> None:
        self._monitor = asyncio.get_running_loop().create_task(self._watch(), name="media-pool")

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for client in list(self.clients.values()):
            await client.stop()

    async def connect(
        self,
        room: str,
        participant_id: str,
        name: str,
        sdp: str,
        *,
        audio_muted: bool,
        video_muted: bool,
        screen_sharing: bool = False,
        max_height: int | None = None,
        publish: bool = True,
    ) -> str:
        url = await self._node_for(room)
        try:
            return await self._client(url).connect(
                room,
                participant_id,
                name,
                sdp,
                audio_muted=audio_muted,
                video_muted=video_muted,
                screen_sharing=screen_sharing,
                max_height=max_height,
                publish=publish,
            )
        except PodiumError as exc:
            if exc.code == "node_draining":
                # Placed by a stale record: place it again on the next offer.
                self.placed.pop(room, None)
                with contextlib.suppress(RedisError):
                    await self.registry.unplace(room, url)
            raise

    async def disconnect(self, room: str, participant_id: str) -> None:
        client = self._holding(room)
        if client is not None and client.connected:
            await client.disconnect(room, participant_id)

    async def update(self, room: str, participant_id: str, **values: Any) -> None:
        client = self._holding(room)
        if client is not None:
            await client.update(room, participant_id, **values)

    async def set_layout(self, room: str, layout: str, pinned: list[str]) -> None:
        client = self._holding(room)
        if client is not None:
            await client.set_layout(room, layout, pinned)

    async def set_content(self, room: str, image: bytes | None) -> None:
        client = self._holding(room)
        if client is not None:
            await client.set_content(room, image)

    async def start_output(self, room: str, output: str, kind: str, target: str) -> None:
        """Start a recording or stream on the room's node (placing the room if it has none).

        ``target`` is a path under ``PODIUM_DATA_DIR``, which the web and media nodes share."""
        url = await self._node_for(room)
        await self._client(url).start_output(room, output, kind, target)

    async def stop_output(self, room: str, output: str) -> dict[str, float]:
        # By the room's placement in Redis: the web node stopping it need not be the one that started it.
        url = await self._node_for(room)
        return await self._client(url).stop_output(room, output)

    async def close_room(self, room: str) -> None:
        client = self._holding(room)
        url = self.placed.pop(room, None)
        if url is not None:
            with contextlib.suppress(RedisError):
                await self.registry.unplace(room, url)
        if client is not None:
            await client.close_room(room)

    # ---- placement -------------------------------------------------------------------------------------

    def _holding(self, room: str) -> MediaClient | None:
        url = self.placed.get(room)
        if url is not None and url in self.clients:
            return self.clients[url]
        return next((c for c in self.clients.values() if room in c.rooms), None)

    def _client(self, url: str) -> MediaClient:
        client = self.clients.get(url)
        if client is None:
            client = self.clients[url] = MediaClient(url, self._on_event, self._on_restart)
            client.start()
        return client

    async def _node_for(self, room: str) -> str:
        """The room's node: its placement, or a new one on the least-loaded live node."""
        async with self._lock:
            try:
                return await self._place(room)
            except RedisError as exc:
                cached = self.placed.get(room)
                if cached is not None:
                    return cached  # Redis is down; the room stays where it is
                raise PodiumError(
                    "media_unavailable", "media nodes cannot be reached right now", 503
                ) from exc

    async def _place(self, room: str) -> str:
        current = await self.registry.placement(room)
        nodes = {n.url: n for n in await self.registry.live()}
        self.nodes = nodes
        if current is not None and current in nodes:
            self.placed[room] = current
            await self.registry.renew(room)
            return current
        # No placement, or its node is gone. A live node still holding the room (the
        # placement was lost with Redis's data) keeps it; otherwise the least-loaded takes it.
        holder = next((n.url for n in nodes.values() if room in n.room_keys), None)
        cached = self.placed.get(room)
        if holder is None and cached is not None and cached in nodes:
            holder = cached
        if holder is None:
            best = least_loaded(list(nodes.values()), await self.registry.placed_counts(list(nodes)))
            if best is None:
                raise PodiumError("media_unavailable", "no media node has room for this meeting", 503)
            holder = best.url
        url = await self.registry.place(room, current, holder)
        if current is not None and current != url:
            log.info("room %s: media moved from %s to %s", room, current, url)
        self.placed[room] = url
        return url

    # ---- dead nodes ------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            try:
                await self.check()
            except RedisError:
                # No verdict while Redis is away: rooms stay where they are.
                self._redis_failed_at = time.monotonic()
            except Exception:
                log.exception("media node check failed")

    async def check(self) -> None:
        """Re-place the rooms of nodes whose heartbeat has been missing for ``node_ttl``."""
        nodes = {n.url: n for n in await self.registry.live()}
        self.nodes = nodes
        now = time.monotonic()
        for url in list(self.clients):
            if url in nodes:
                self._missing_since.pop(url, None)
                continue
            since = self._missing_since.setdefault(url, now)
            # A record missing right after a Redis outage (Redis may have come back empty), or
            # with no other node to move to, gets a full TTL to reappear before the node is dead.
            doubtful = now - self._redis_failed_at < 2 * self.node_ttl or not nodes
            if doubtful and now - since < self.node_ttl:
                continue
            await self._bury(url)

    async def _bury(self, url: str) -> None:
        client = self.clients.pop(url)
        self._missing_since.pop(url, None)
        rooms = set(client.rooms)
        client.rooms.clear()
        await client.stop()
        for room, where in list(self.placed.items()):
            if where == url:
                rooms.add(room)
                del self.placed[room]
        told = set()
        for room in rooms:
            with contextlib.suppress(RedisError):
                await self.registry.unplace(room, url)
                if await self.registry.claim_failover(room, url):
                    told.add(room)
        log.warning("media node %s is dead; %d rooms move to other nodes", url, len(rooms))
        if told:
            await self._on_restart(told)

    def status(self) -> dict[str, NodeRecord]:
        """The nodes as last seen in Redis."""
        return dict(self.nodes)
