"""What plugins hand to Podium through their hooks: actions, layouts, client assets, webhook types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from podium.core.auth.permissions import Role
from podium.core.errors import PodiumError

__all__ = [
    "ALL_ROLES",
    "SLOTS",
    "STAFF",
    "ChatRejected",
    "ClientAssets",
    "Layout",
    "PluginAction",
    "Recording",
    "Slot",
    "WebhookEventType",
]

#: Where a plugin's client module may put its UI in the web client.
Slot = Literal["toolbar", "side_panel", "stage_overlay", "stage_content"]
SLOTS: tuple[Slot, ...] = ("toolbar", "side_panel", "stage_overlay", "stage_content")
ALL_ROLES: frozenset[Role] = frozenset(Role)
STAFF: frozenset[Role] = frozenset({Role.HOST, Role.MODERATOR})


@dataclass(frozen=True)
class PluginAction:
    """A client command a plugin accepts: ``{"type": "plugin", "plugin", "action", "data"}``.

    ``schema`` is the JSON Schema ``data`` must satisfy; ``roles`` may send it."""

    name: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    roles: frozenset[Role] = ALL_ROLES
    description: str = ""


@dataclass(frozen=True)
class Layout:
    """A stage layout offered to the MCU compositor (``compose``) and to the web client (by name)."""

    name: str
    title: str
    #: ``podium.media.layout.LayoutFn``: canvas rectangles for the visible participants; ``None``
    #: when the layout only exists in the browser.
    compose: Callable[[Any], list[Any]] | None = None


@dataclass(frozen=True)
class ClientAssets:
    """The plugin's browser side: an ES module (and CSS) served from ``directory``.

    The module's default export is ``setup(api)``; ``slots`` are the UI places it fills."""

    directory: Path
    module: str
    css: Sequence[str] = ()
    slots: Sequence[Slot] = ()
    #: A title for its toolbar button and side panel.
    title: str = ""


@dataclass(frozen=True)
class WebhookEventType:
    """An event type a plugin emits to the tenant's webhooks (``data`` follows ``schema``)."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


@dataclass(frozen=True)
class Recording:
    """A recording or live stream of a room, as the recording hooks see it."""

    id: str
    room_id: int
    kind: Literal["recording", "stream"]
    started_at: datetime
    stopped_at: datetime | None = None
    #: Where the file is (recordings) or the stream's public URL.
    location: str = ""


class ChatRejected(PodiumError):
    """Raised by a chat filter to refuse a message; the sender gets ``chat_rejected``."""

    def __init__(self, message: str) -> None:
        super().__init__("chat_rejected", message, status=422)
