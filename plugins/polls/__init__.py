"""Polls.

A host or moderator asks a question with single- or multiple-choice answers,
optionally anonymous; everyone votes once and sees the results live (or when
the host reveals them); closing a poll sends its results to the tenant's webhooks.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from podium.core import hookimpl
from podium.core.plugins import (
    STAFF,
    ClientAssets,
    PluginAction,
    PluginContext,
    PodiumError,
    WebhookEventType,
)
from podium.core.realtime.protocol import ParticipantInfo
from podium.plugins.polls.model import Poll, public_view, results, staff_view

__all__ = ["SCHEMA"]

HERE = Path(__file__).parent
SCHEMA: dict[str, Any] = json.loads((HERE / "config.schema.json").read_text())
#: Polls kept per room (the oldest closed ones go first).
KEEP = 20

_POLL_ID = {"type": "string", "minLength": 1, "maxLength": 40}


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return SCHEMA


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    return [
        PluginAction(
            "create",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["question", "options"],
                "properties": {
                    "question": {"type": "string", "minLength": 1, "maxLength": 300},
                    "options": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 20,
                        "items": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                    "multiple": {"type": "boolean"},
                    "anonymous": {"type": "boolean"},
                },
            },
            STAFF,
            "open a poll; the ack's id is the poll id",
        ),
        PluginAction(
            "vote",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["poll_id", "choices"],
                "properties": {
                    "poll_id": _POLL_ID,
                    "choices": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 20,
                        "items": {"type": "integer", "minimum": 0},
                    },
                },
            },
            description="vote once in an open poll (option indexes)",
        ),
        PluginAction("close", _poll_ref(), STAFF, "stop the voting; results go to the webhooks"),
        PluginAction("reveal", _poll_ref(), STAFF, "show the results to attendees"),
    ]


def _poll_ref() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["poll_id"],
        "properties": {"poll_id": _POLL_ID},
    }


@hookimpl
def podium_webhook_events() -> list[WebhookEventType]:
    return [
        WebhookEventType(
            "closed",
            "a poll was closed; `poll` holds the question, each option's votes and,"
            " unless the poll was anonymous, who voted for what",
        )
    ]


@hookimpl
def podium_client_assets() -> ClientAssets:
    return ClientAssets(
        HERE / "client", "polls.js", css=["polls.css"], slots=["toolbar", "side_panel"], title="Polls"
    )


async def _polls(ctx: PluginContext) -> list[Poll]:
    return [Poll.from_json(p) for p in await ctx.state.get("polls", [])]


async def _save(ctx: PluginContext, polls: list[Poll]) -> None:
    while len(polls) > KEEP:
        oldest_closed = next((p for p in polls if p.status == "closed"), polls[0])
        polls.remove(oldest_closed)
    await ctx.state.set("polls", [p.to_json() for p in polls])


async def _announce(ctx: PluginContext, poll: Poll) -> None:
    await ctx.send("poll", public_view(poll), to="all")
    await ctx.send("poll.staff", staff_view(poll), to="staff")


@hookimpl
async def podium_plugin_message(ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any) -> str:
    async with ctx.lock():
        polls = await _polls(ctx)
        if action == "create":
            poll = _create(ctx, sender, data)
            polls.append(poll)
        else:
            poll = next((p for p in polls if p.id == data["poll_id"]), None)  # type: ignore[assignment]
            if poll is None:
                raise PodiumError("poll_not_found", "there is no such poll in this room", status=404)
            if action == "vote":
                _vote(poll, sender, data["choices"])
            elif action == "close":
                if poll.status == "closed":
                    raise PodiumError("poll_closed", "this poll is already closed")
                poll.status = "closed"
            elif action == "reveal":
                poll.results_visible = True
        await _save(ctx, polls)
    await _announce(ctx, poll)
    if action == "vote":
        await ctx.send("voted", {"poll_id": poll.id, "choices": data["choices"]}, to=[sender.id])
    if action == "close":
        await ctx.emit_webhook("closed", {"poll": results(poll)})
    return poll.id


def _create(ctx: PluginContext, sender: ParticipantInfo, data: dict[str, Any]) -> Poll:
    options = [o.strip() for o in data["options"]]
    if len(options) > ctx.config["max_options"]:
        raise PodiumError(
            "poll_too_many_options", f"a poll may have at most {ctx.config['max_options']} options"
        )
    if len(set(options)) != len(options) or not all(options):
        raise PodiumError("poll_bad_options", "options must be different and not blank")
    anonymous = bool(data.get("anonymous", False))
    if anonymous and not ctx.config["allow_anonymous"]:
        raise PodiumError("poll_anonymous_off", "anonymous polls are turned off for this room")
    return Poll(
        id=uuid.uuid4().hex[:12],
        question=data["question"].strip(),
        options=options,
        multiple=bool(data.get("multiple", False)),
        anonymous=anonymous,
        results_visible=bool(ctx.config["live_results"]),
        created_by=sender.name,
    )


def _vote(poll: Poll, sender: ParticipantInfo, choices: list[int]) -> None:
    if poll.status != "open":
        raise PodiumError("poll_closed", "this poll is closed")
    if sender.identity in poll.votes:
        raise PodiumError("already_voted", "you have already voted in this poll", status=409)
    unique = sorted(set(choices))
    if any(c >= len(poll.options) for c in unique):
        raise PodiumError("invalid_choice", "no such option")
    if not poll.multiple and len(unique) != 1:
        raise PodiumError("invalid_choice", "this poll takes exactly one choice")
    poll.votes[sender.identity] = {"choices": unique, "name": sender.name}


@hookimpl
async def podium_welcome(ctx: PluginContext, participant: ParticipantInfo) -> dict[str, Any]:
    polls = await _polls(ctx)
    staff = participant.role in STAFF
    return {
        "polls": [staff_view(p) if staff else public_view(p) for p in polls],
        "my_votes": {
            p.id: p.votes[participant.identity]["choices"] for p in polls if participant.identity in p.votes
        },
        "max_options": ctx.config["max_options"],
        "allow_anonymous": ctx.config["allow_anonymous"],
    }
