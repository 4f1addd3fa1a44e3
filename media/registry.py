"""Media nodes in Redis: each node's heartbeat record, and where each MCU room is placed.

A node started with ``podium media --advertise ws://host:port`` writes a ``NodeRecord``
(capacity, current load, the rooms it holds, whether it is draining) under its own key
every few seconds with an expiry of a few beats, so a node that stops beating disappears
on its own. Web nodes read these records to place new MCU rooms on the least-loaded node
and to notice dead ones (``core/media_pool.py``). Media itself never waits on Redis: a
node whose Redis is gone keeps serving its rooms and registers again when Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "NodeRecord",
    "Registration",
    "failover_key",
    "node_key",
    "node_rooms_key",
    "nodes_key",
    "placement_key",
]

log = logging.getLogger(__name__)


class NodeRecord(msgspec.Struct, kw_only=True):
    """What a media node reports about itself on every heartbeat."""

    url: str
    #: Participants the node is sized for; a full node gets no new rooms.
    capacity: int
    rooms: int = 0
    participants: int = 0
    cpu_percent: float = 0.0
    #: Draining: keeps its rooms, takes no new ones.
    draining: bool = False
    #: Room keys it holds sessions for (so a placement lost with Redis's data can be restored).
    room_keys: list[str] = []
    #: Cumulative counters: ``packets_in``, ``packets_out``, ``encodes``, ``composites`` …
    stats: dict[str, float] = {}
    #: Per room (by room key): losses, NACKs, PLIs, forced keyframes, tier changes
    #: (``RoomSession.network_counters``).
    room_stats: dict[str, dict[str, float]] = {}
    pid: int = 0
    started_at: float = 0.0


def nodes_key(prefix: str) -> str:
    """A set of every node URL ever advertised (the records themselves expire)."""
    return f"{prefix}:media:nodes"


def node_key(prefix: str, url: str) -> str:
    return f"{prefix}:media:node:{url}"


def node_rooms_key(prefix: str, url: str) -> str:
    """The rooms placed on ``url``, so placements made between two heartbeats count too."""
    return f"{prefix}:media:placed:{url}"


def placement_key(prefix: str, room: str) -> str:
    return f"{prefix}:media:room:{room}"


def failover_key(prefix: str, room: str, dead_url: str) -> str:
    """Claimed by the one web node that tells the room its media node died."""
    return f"{prefix}:media:failover:{room}:{dead_url}"


_encoder = msgspec.json.Encoder()


class Registration:
    """Keeps one node's record alive in Redis until ``withdraw``."""

    def __init__(self, redis: Any, prefix: str, url: str, *, every: float, ttl: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.url = url
        self.every = every
        self.ttl = ttl

    async def beat(self, record: NodeRecord) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(node_key(self.prefix, self.url), _encoder.encode(record), px=int(self.ttl * 1000))
            pipe.sadd(nodes_key(self.prefix), self.url)
            await pipe.execute()

    async def run(self, snapshot: Callable[[], Any]) -> None:
        """Beat every ``every`` seconds; a Redis outage is logged once and ridden out."""
        failing = False
        while True:
            started = time.monotonic()
            try:
                await self.beat(await snapshot())
                if failing:
                    log.info("media registry: Redis is back; registered again as %s", self.url)
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("media registry: heartbeat failed (%s); media goes on, retrying", exc)
                failing = True
            await asyncio.sleep(max(0.0, self.every - (time.monotonic() - started)))

    async def withdraw(self) -> None:
        """Leave the registry now (web nodes re-place whatever rooms are still placed here)."""
        try:
            await self.redis.delete(node_key(self.prefix, self.url))
        except Exception as exc:
            log.warning("media registry: could not withdraw %s: %s", self.url, exc)
