"""Every hook a Podium plugin can implement: the single spec file (see docs/plugins.md).

A plugin implements a hook by defining a function of the same name decorated with
``@podium.core.hookimpl``; it may take any subset of the arguments, by name. Room hooks
receive ``ctx`` (a ``PluginContext``: the room, the tenant's config for the plugin, its
state and ways to talk to the room) and run only for plugins the room's tenant enabled.
Hooks may be ``async``. A hook that raises, hangs past ``PODIUM_PLUGIN_HOOK_TIMEOUT`` or
returns the wrong type is logged and skipped; repeated failures disable the plugin for
that tenant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pluggy import HookspecMarker

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler

    from podium.core.auth.permissions import Role
    from podium.core.breakouts.messages import BreakoutsInfo
    from podium.core.plugins.context import PluginContext
    from podium.core.plugins.types import ClientAssets, Layout, PluginAction, Recording, WebhookEventType
    from podium.core.realtime.protocol import ChatAudience, LeaveReason, ParticipantInfo

hookspec = HookspecMarker("podium")

__all__ = ["hookspec"]

# ---- what the plugin is ------------------------------------------------------------------------------


@hookspec
def podium_config_schema() -> dict[str, Any] | None:
    """The JSON Schema of the plugin's per-tenant config; ``PUT /api/v1/plugins/{name}`` validates
    against it and defaults missing properties from its ``default`` values."""


@hookspec
def podium_plugin_actions() -> list[PluginAction] | None:
    """The client commands the plugin accepts: name, JSON Schema of ``data``, roles allowed."""


@hookspec
def podium_client_assets() -> ClientAssets | None:
    """The plugin's ES module and CSS for the web client, and the UI slots it fills."""


@hookspec
def podium_layouts() -> list[Layout] | None:
    """Stage layouts the plugin offers to the MCU compositor and the web client."""


@hookspec
def podium_routes() -> list[ControllerRouterHandler] | None:
    """Litestar route handlers, mounted under ``/api/v1/plugins/{name}/``."""


@hookspec
def podium_webhook_events() -> list[WebhookEventType] | None:
    """The webhook event types the plugin emits with ``ctx.emit_webhook``."""


# ---- room lifecycle ----------------------------------------------------------------------------------


@hookspec
async def podium_room_created(ctx: PluginContext) -> None:
    """A tenant created a room (``POST /api/v1/rooms``)."""


@hookspec
async def podium_room_started(ctx: PluginContext) -> None:
    """The first participant joined an empty room."""


@hookspec
async def podium_room_ended(ctx: PluginContext) -> None:
    """The room was ended (by a host or the tenant); everyone has been disconnected."""


# ---- participants ------------------------------------------------------------------------------------


@hookspec
async def podium_participant_joined(ctx: PluginContext, participant: ParticipantInfo) -> None:
    """``participant`` entered the room (joined, or admitted from the lobby)."""


@hookspec
async def podium_participant_left(
    ctx: PluginContext, participant: ParticipantInfo, reason: LeaveReason
) -> None:
    """``participant`` left the room; ``reason`` as in ``participant.left``."""


@hookspec
async def podium_participant_role_changed(ctx: PluginContext, participant_id: str, role: Role) -> None:
    """A host, moderator or the tenant gave ``participant_id`` a new ``role``."""


@hookspec
async def podium_participant_stage_changed(
    ctx: PluginContext, participant: ParticipantInfo, on_stage: bool
) -> None:
    """Webinars: a host, moderator or the tenant put ``participant`` on stage (``on_stage``: they
    may publish now) or took them off it (view-only again)."""


# ---- breakout rooms ----------------------------------------------------------------------------------


@hookspec
async def podium_breakouts_opened(ctx: PluginContext, breakouts: BreakoutsInfo) -> None:
    """A host opened breakout rooms of the room (``ctx`` is the main room's); everyone assigned
    is on the way there. Each breakout is a room of its own: the plugin's other hooks run there
    with that room's context (a poll started in a breakout stays in it)."""


@hookspec
async def podium_breakouts_closed(ctx: PluginContext, reason: str) -> None:
    """The room's breakouts closed: ``closed`` (a host or the API), ``timer``, or ``ended`` (the
    main room ended); everyone in them is on the way back."""


@hookspec
async def podium_participant_moved(
    ctx: PluginContext, participant: ParticipantInfo, breakout: str | None
) -> None:
    """``participant`` is moving to the breakout room ``breakout`` (its slug), or back to the
    main room (``None``). ``ctx`` is the main room's."""


# ---- messages, snapshot, chat ------------------------------------------------------------------------


@hookspec
async def podium_plugin_message(ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any) -> Any:
    """A client command for this plugin, already validated against the action's schema and
    permitted for the sender's role. Raise ``PodiumError`` to refuse it; a returned ``str`` or
    ``int`` becomes the ``ack``'s ``id``."""


@hookspec
async def podium_welcome(ctx: PluginContext, participant: ParticipantInfo) -> Any:
    """The plugin's part of ``welcome`` for ``participant`` (late joiners catch up from it):
    any JSON value, delivered as ``welcome.plugins[].state``."""


@hookspec
async def podium_chat_message(
    ctx: PluginContext, sender: ParticipantInfo, to: ChatAudience, text: str
) -> str | None:
    """Filter a chat message before it is stored: return new text to rewrite it, ``None`` to
    keep it, or raise ``ChatRejected`` to refuse it. Filters run in registration order."""


# ---- media -------------------------------------------------------------------------------------------


@hookspec
async def podium_media_started(ctx: PluginContext) -> None:
    """A media node opened a fresh MCU session for the room (it moved to the MCU, a recording
    started, or its node was replaced): put the room's layout (``ctx.set_media_layout``) and
    content (``ctx.set_media_content``) on the new composite."""


# ---- recording ---------------------------------------------------------------------------------------


@hookspec
async def podium_recording_started(ctx: PluginContext, recording: Recording) -> None:
    """A recording or live stream of the room started."""


@hookspec
async def podium_recording_stopped(ctx: PluginContext, recording: Recording) -> None:
    """A recording or live stream of the room stopped (``recording.stopped_at`` is set)."""
