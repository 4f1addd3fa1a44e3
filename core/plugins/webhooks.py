"""The webhook event types plugins declare, and the one door their events leave through.

Podium's webhook system (delivery, signing, retries) plugs in by setting ``sink``;
until it does, emitted events are only logged. Plugin event types are named
``plugin.{plugin}.{event}`` so they never collide with core events.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from podium.core.plugins.types import WebhookEventType
from podium.core.rooms import RoomInfo

__all__ = ["PluginWebhooks", "WebhookSink", "full_name"]

log = logging.getLogger(__name__)

#: ``sink(tenant_slug, event_type, data)`` stores the event for the tenant's endpoints.
WebhookSink = Callable[[str, str, dict[str, Any]], Awaitable[None]]


def full_name(plugin: str, event: str) -> str:
    return f"plugin.{plugin}.{event}"


class PluginWebhooks:
    """Registry of declared plugin event types, and emission through ``sink``."""

    def __init__(self) -> None:
        self.types: dict[str, WebhookEventType] = {}
        self.sink: WebhookSink | None = None

    def declare(self, plugin: str, kinds: list[WebhookEventType]) -> None:
        for kind in kinds:
            self.types[full_name(plugin, kind.name)] = kind

    async def emit(self, plugin: str, room: RoomInfo, event: str, data: dict[str, Any]) -> None:
        name = full_name(plugin, event)
        if name not in self.types:
            raise ValueError(
                f"plugin {plugin!r} emitted {event!r} without declaring it in podium_webhook_events"
            )
        body = {"room": {"id": room.id, "slug": room.slug, "name": room.name}, **data}
        if self.sink is None:
            log.info("webhook %s for %s (no webhook sink configured)", name, room.tenant)
            return
        await self.sink(room.tenant, name, body)
