"""What a room hook gets as ``ctx``: the room, the tenant's config for the plugin, and its powers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from podium.core.plugins.state import RoomState
from podium.core.realtime.protocol import ParticipantInfo, PluginEvent
from podium.core.rooms import RoomInfo

if TYPE_CHECKING:
    from podium.core.plugins.host import PluginHost

__all__ = ["PluginContext"]

T = TypeVar("T")


class PluginContext:
    """One plugin's view of one room, for the duration of a hook call."""

    def __init__(self, host: PluginHost, plugin: str, room: RoomInfo, config: dict[str, Any]) -> None:
        self._host = host
        #: The plugin's registered name.
        self.plugin = plugin
        self.room = room
        #: The tenant's config for this plugin, validated against its schema, defaults filled in.
        self.config = config
        #: Shared key → JSON state of this plugin in this room (the same on every node).
        self.state = RoomState(room.id, plugin)

    @property
    def tenant(self) -> str:
        """The slug of the room's tenant."""
        return self.room.tenant

    @property
    def data_dir(self) -> Path:
        """A directory for the plugin's files (shared by the deployment's nodes)."""
        path = self._host.settings.data_dir / "plugins" / self.plugin
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Hold this plugin's room lock across nodes, for read-modify-write of ``state``."""
        async with self.state.lock():
            yield

    async def send(
        self, event: str, data: Any = None, *, to: Literal["all", "staff"] | list[str] = "all"
    ) -> None:
        """Send ``plugin.event`` to everyone in, to hosts and moderators, or to participant ids."""
        message = PluginEvent(plugin=self.plugin, event=event, data=data)
        if isinstance(to, list):
            await self._host.hub.publish(self.room.id, message, audience="none", targets=to)
        else:
            await self._host.hub.publish(self.room.id, message, audience=to)

    async def participants(self) -> list[ParticipantInfo]:
        """Everyone joined right now, on every node."""
        return await self._host.presence.listing(self.room.id, "joined")

    async def emit_webhook(self, event_type: str, data: dict[str, Any]) -> None:
        """Send one of the plugin's declared webhook events (``podium_webhook_events``) to the tenant."""
        await self._host.webhooks.emit(self.plugin, self.room, event_type, data)

    async def set_media_layout(self, layout: str, pinned: list[str] | None = None) -> bool:
        """Switch the MCU composite's layout, if the room runs through the MCU now."""
        return await self._host.set_media_layout(self.room, layout, pinned or [])

    async def set_media_content(self, image: bytes | None) -> bool:
        """Show a JPEG/PNG (a slide) as the MCU composite's content tile, or clear it with ``None``.

        The content tile leads the layout (large in ``presentation`` and ``speaker``) and is in
        recordings and live streams. Keep it within 1280x720 and 1 MiB. Returns whether the room
        runs through the MCU now. Set while it does not, it is shown once it does: this web node
        puts the last content on every fresh session; re-apply it in ``podium_media_started``
        too, for sessions another web node sees open.
        """
        return await self._host.set_media_content(self.room, image)

    async def run_job(self, work: Callable[..., T], *args: Any) -> T:
        """Run CPU-heavy ``work(*args)`` off the event loop (page rendering and the like)."""
        return await asyncio.to_thread(work, *args)
