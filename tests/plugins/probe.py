"""A test plugin that implements every hook and records what it saw (loaded with PODIUM_PLUGINS)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from litestar import get, post
from litestar.types import ControllerRouterHandler

from podium.core import hookimpl
from podium.core.auth.permissions import Role
from podium.core.breakouts import BreakoutsInfo
from podium.core.plugins import (
    STAFF,
    ChatRejected,
    ClientAssets,
    Layout,
    PluginAction,
    PluginContext,
    Recording,
    WebhookEventType,
)
from podium.core.realtime.protocol import ChatAudience, LeaveReason, ParticipantInfo
from podium.core.rooms import get_room
from podium.core.services import Services
from podium.media.layout import LayoutRequest, TileRect

#: room slug → hooks seen, in order.
LOG: dict[str, list[str]] = defaultdict(list)
WEBHOOKS: list[dict[str, Any]] = []


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"banned": {"type": "string", "default": "darn"}, "greeting": {"type": "string"}},
    }


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    echo = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string", "maxLength": 10}},
    }
    content = {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}}
    return [
        PluginAction("echo", echo),
        PluginAction("staff_only", {"type": "object"}, STAFF),
        PluginAction("content", content),
    ]


@hookimpl
async def podium_plugin_message(ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any) -> str:
    if action == "content":
        # ``data.size`` zero bytes as the composite's content image; the ack's id says if it was shown.
        return str(await ctx.set_media_content(bytes(data["size"])))
    await ctx.send("echo", {"action": action, "data": data, "from": sender.name})
    await ctx.emit_webhook("echoed", {"text": data.get("text")})
    return "echoed"


@hookimpl
async def podium_welcome(ctx: PluginContext, participant: ParticipantInfo) -> dict[str, Any]:
    return {"hello": participant.name, "greeting": ctx.config.get("greeting"), "tenant": ctx.tenant}


@hookimpl
def podium_chat_message(
    ctx: PluginContext, sender: ParticipantInfo, to: ChatAudience, text: str
) -> str | None:
    if ctx.config["banned"] in text:
        raise ChatRejected(f"please don't say {ctx.config['banned']!r}")
    if text.startswith("shout:"):
        return text.removeprefix("shout:").upper()
    return None


def _diagonal(request: LayoutRequest) -> list[TileRect]:
    return [TileRect(pid, 8 * i, 8 * i, 64, 36) for i, pid in enumerate(request.participants)]


@hookimpl
def podium_layouts() -> list[Layout]:
    return [Layout("probe-diagonal", "Diagonal", _diagonal)]


@hookimpl
def podium_webhook_events() -> list[WebhookEventType]:
    return [WebhookEventType("echoed", "someone used the echo action")]


@hookimpl
def podium_client_assets() -> ClientAssets:
    return ClientAssets(Path(__file__).parent / "probe_client", "probe.js", slots=["stage_overlay"])


def _record(ctx: PluginContext, hook: str) -> None:
    LOG[ctx.room.slug].append(hook)


@hookimpl
def podium_room_created(ctx: PluginContext) -> None:
    _record(ctx, "room_created")


@hookimpl
async def podium_room_started(ctx: PluginContext) -> None:
    _record(ctx, "room_started")


@hookimpl
async def podium_room_ended(ctx: PluginContext) -> None:
    _record(ctx, "room_ended")


@hookimpl
async def podium_participant_joined(ctx: PluginContext, participant: ParticipantInfo) -> None:
    _record(ctx, f"joined:{participant.identity}")


@hookimpl
async def podium_participant_left(
    ctx: PluginContext, participant: ParticipantInfo, reason: LeaveReason
) -> None:
    _record(ctx, f"left:{participant.identity}:{reason}")


@hookimpl
async def podium_participant_role_changed(ctx: PluginContext, participant_id: str, role: Role) -> None:
    _record(ctx, f"role:{role}")


@hookimpl
async def podium_participant_stage_changed(
    ctx: PluginContext, participant: ParticipantInfo, on_stage: bool
) -> None:
    _record(ctx, f"stage:{participant.identity}:{'on' if on_stage else 'off'}")


@hookimpl
async def podium_breakouts_opened(ctx: PluginContext, breakouts: BreakoutsInfo) -> None:
    _record(ctx, f"breakouts_opened:{len(breakouts.breakouts)}")


@hookimpl
async def podium_breakouts_closed(ctx: PluginContext, reason: str) -> None:
    _record(ctx, f"breakouts_closed:{reason}")


@hookimpl
async def podium_participant_moved(
    ctx: PluginContext, participant: ParticipantInfo, breakout: str | None
) -> None:
    _record(ctx, f"moved:{participant.identity}:{'main' if breakout is None else breakout.split('~')[1]}")


@hookimpl
async def podium_recording_started(ctx: PluginContext, recording: Recording) -> None:
    _record(ctx, f"recording_started:{recording.kind}")


@hookimpl
async def podium_recording_stopped(ctx: PluginContext, recording: Recording) -> None:
    _record(ctx, f"recording_stopped:{recording.kind}")


@get("/log/{room:str}")
async def hook_log(room: str) -> list[str]:
    return LOG.get(room, [])


@get("/webhooks")
async def captured_webhooks(services: Services) -> list[dict[str, Any]]:
    async def capture(tenant: str, event_type: str, data: dict[str, Any]) -> None:
        WEBHOOKS.append({"tenant": tenant, "type": event_type, "data": data})

    services.plugins.webhooks.sink = capture
    return WEBHOOKS


@post("/recording/{tenant:str}/{room:str}/{what:str}", status_code=204)
async def fake_recording(services: Services, tenant: str, room: str, what: str) -> None:
    """Stands in for the recording feature, which calls these two host methods."""
    from datetime import UTC, datetime

    info = await get_room(await services.tenant_by_slug(tenant), room)
    recording = Recording(id="r1", room_id=info.id, kind="recording", started_at=datetime.now(UTC))
    if what == "start":
        services.plugins.recording_started(info, recording)
    else:
        services.plugins.recording_stopped(info, recording)


@hookimpl
def podium_routes() -> list[ControllerRouterHandler]:
    return [hook_log, captured_webhooks, fake_recording]
