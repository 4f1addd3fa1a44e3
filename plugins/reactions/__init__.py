"""Reactions.

Short-lived emoji reactions that float over the stage for everyone, rate-limited per person.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from podium.core import hookimpl
from podium.core.plugins import ClientAssets, PluginAction, PluginContext, PodiumError
from podium.core.realtime.protocol import LeaveReason, ParticipantInfo

HERE = Path(__file__).parent
SCHEMA: dict[str, Any] = json.loads((HERE / "config.schema.json").read_text())
#: The emoji a reaction may be (a fixed set keeps the stage readable and the wire small).
EMOJI = ("👍", "👏", "❤️", "😂", "😮", "🎉", "🤔", "👋")

# participant id → (tokens, last refill); a participant's commands always reach the node holding its socket.
_buckets: dict[str, tuple[float, float]] = {}


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return SCHEMA


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["emoji"],
        "properties": {"emoji": {"enum": list(EMOJI)}},
    }
    return [PluginAction("send", schema, description="float an emoji over everyone's stage")]


@hookimpl
def podium_client_assets() -> ClientAssets:
    return ClientAssets(
        HERE / "client",
        "reactions.js",
        css=["reactions.css"],
        slots=["toolbar", "stage_overlay"],
        title="Reactions",
    )


def allow(participant_id: str, burst: int, per_second: float, now: float | None = None) -> bool:
    """A token bucket per participant: ``burst`` at once, refilled at ``per_second``."""
    now = time.monotonic() if now is None else now
    tokens, last = _buckets.get(participant_id, (float(burst), now))
    tokens = min(float(burst), tokens + (now - last) * per_second)
    if tokens < 1:
        _buckets[participant_id] = (tokens, now)
        return False
    _buckets[participant_id] = (tokens - 1, now)
    return True


@hookimpl
async def podium_plugin_message(ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any) -> None:
    if not allow(sender.id, ctx.config["burst"], ctx.config["per_second"]):
        raise PodiumError("rate_limited", "you are sending reactions too fast", status=429)
    await ctx.send("reaction", {"emoji": data["emoji"], "participant_id": sender.id, "name": sender.name})


@hookimpl
async def podium_welcome(ctx: PluginContext) -> dict[str, Any]:
    return {"emoji": list(EMOJI), "duration_ms": ctx.config["duration_ms"]}


@hookimpl
def podium_participant_left(participant: ParticipantInfo, reason: LeaveReason) -> None:
    _buckets.pop(participant.id, None)
