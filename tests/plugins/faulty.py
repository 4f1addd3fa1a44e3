"""A test plugin that misbehaves on purpose; its config picks how: raise, hang or garbage."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from podium.core import hookimpl
from podium.core.plugins import PluginAction, PluginContext
from podium.core.realtime.protocol import ParticipantInfo


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"mode": {"enum": ["raise", "hang", "garbage", "ok"], "default": "raise"}},
    }


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    return [PluginAction("poke")]


async def _misbehave(ctx: PluginContext) -> Any:
    mode = ctx.config["mode"]
    if mode == "raise":
        raise RuntimeError("faulty plugin raised on purpose")
    if mode == "hang":
        await asyncio.sleep(3600)
    if mode == "garbage":
        return object()
    return None


@hookimpl
async def podium_welcome(ctx: PluginContext) -> Any:
    return await _misbehave(ctx)


@hookimpl
async def podium_participant_joined(ctx: PluginContext) -> None:
    await _misbehave(ctx)


@hookimpl
def podium_chat_message(ctx: PluginContext, text: str) -> Any:
    # Synchronous on purpose: a blocking sync hook must be cut off like an async one.
    mode = ctx.config["mode"]
    if mode == "raise":
        raise RuntimeError("faulty chat filter raised on purpose")
    if mode == "hang":
        time.sleep(3)
    return 42 if mode == "garbage" else None


@hookimpl
async def podium_plugin_message(ctx: PluginContext, sender: ParticipantInfo) -> Any:
    return await _misbehave(ctx)
