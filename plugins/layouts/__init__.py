"""Layouts.

Grid, speaker and presentation (the presenter large, a strip of everyone else),
offered to the MCU compositor and to the web client; a host sets the room's layout
for everyone, and late joiners land in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium.core import hookimpl
from podium.core.auth.permissions import Role
from podium.core.plugins import STAFF, ClientAssets, Layout, PluginAction, PluginContext, PodiumError
from podium.core.realtime.protocol import ParticipantInfo
from podium.media.layout import grid, speaker
from podium.plugins.layouts.compose import presentation

HERE = Path(__file__).parent
SCHEMA: dict[str, Any] = json.loads((HERE / "config.schema.json").read_text())
LAYOUTS = [
    Layout("grid", "Grid", grid),
    Layout("speaker", "Speaker", speaker),
    Layout("presentation", "Presentation", presentation),
]
NAMES = [layout.name for layout in LAYOUTS]


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return SCHEMA


@hookimpl
def podium_layouts() -> list[Layout]:
    return LAYOUTS


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["layout"],
        "properties": {
            "layout": {"enum": NAMES},
            # The participant the presentation layout shows large (default: whoever set it).
            "presenter": {"type": ["string", "null"], "maxLength": 64},
        },
    }
    return [PluginAction("set", schema, STAFF, "set the room's layout for everyone")]


@hookimpl
def podium_client_assets() -> ClientAssets:
    return ClientAssets(HERE / "client", "layouts.js", css=["layouts.css"], slots=["toolbar"], title="Layout")


async def _current(ctx: PluginContext) -> dict[str, Any]:
    current: dict[str, Any] = await ctx.state.get(
        "layout", {"layout": ctx.config["default"], "presenter": None}
    )
    return current


@hookimpl
async def podium_plugin_message(ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any) -> str:
    if sender.role is Role.MODERATOR and not ctx.config["moderators_may_set"]:
        raise PodiumError("forbidden", "only hosts may change the layout in this room", status=403)
    presenter = data.get("presenter") or (sender.id if data["layout"] == "presentation" else None)
    current = {"layout": data["layout"], "presenter": presenter, "by": sender.name}
    await ctx.state.set("layout", current)
    await ctx.send("changed", current)
    await _tell_media(ctx, current)
    return str(data["layout"])


async def _tell_media(ctx: PluginContext, current: dict[str, Any]) -> None:
    pinned = [current["presenter"]] if current.get("presenter") else []
    await ctx.set_media_layout(current["layout"], pinned)


@hookimpl
async def podium_welcome(ctx: PluginContext) -> dict[str, Any]:
    return {**await _current(ctx), "layouts": [{"name": x.name, "title": x.title} for x in LAYOUTS]}


@hookimpl
async def podium_media_started(ctx: PluginContext) -> None:
    # A fresh MCU session starts on the compositor's default: give it the room's layout.
    current = await _current(ctx)
    if current["layout"] != "grid" or current.get("presenter"):
        await _tell_media(ctx, current)
