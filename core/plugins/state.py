"""A plugin's shared state in a room (``plugin_state`` rows), the same on every node."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from piccolo.engine.postgres import PostgresEngine

from podium.core.db.tables import PluginState
from podium.core.tenants import utcnow

__all__ = ["RoomState"]

_LOCAL_LOCKS: dict[tuple[int, str], asyncio.Lock] = {}


class RoomState:
    """Key → JSON value, scoped to one room and one plugin."""

    def __init__(self, room_id: int, plugin: str) -> None:
        self.room_id = room_id
        self.plugin = plugin

    def _where(self, key: str) -> Any:
        return (
            (PluginState.room == self.room_id)
            & (PluginState.plugin == self.plugin)
            & (PluginState.key == key)
        )

    async def get(self, key: str, default: Any = None) -> Any:
        row = await PluginState.select(PluginState.value).where(self._where(key)).first()
        return default if row is None else msgspec.json.decode(row["value"])

    async def set(self, key: str, value: Any) -> None:
        text = msgspec.json.encode(value).decode()
        if await PluginState.exists().where(self._where(key)):
            await PluginState.update({PluginState.value: text, PluginState.updated_at: utcnow()}).where(
                self._where(key)
            )
        else:
            await PluginState.insert(
                PluginState(room=self.room_id, plugin=self.plugin, key=key, value=text, updated_at=utcnow())
            )

    async def delete(self, key: str) -> None:
        await PluginState.delete().where(self._where(key))

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Serialise read-modify-write of this plugin's state in this room across nodes."""
        engine = PluginState._meta.db
        if isinstance(engine, PostgresEngine):
            async with engine.transaction():
                # One 64-bit key (a space apart from the two-key room locks): room id, then plugin.
                key = (self.room_id << 32) | zlib.crc32(self.plugin.encode()) >> 1
                await PluginState.raw("SELECT pg_advisory_xact_lock({})", key)
                yield
        else:
            async with _LOCAL_LOCKS.setdefault((self.room_id, self.plugin), asyncio.Lock()):
                yield
