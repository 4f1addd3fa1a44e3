"""Q&A.

Attendees submit questions, others upvote them, moderators mark them answered (or dismiss
them). Raising a hand is a core feature of every room (``self.update`` ``hand_raised``, the
People panel), so this plugin has no hand of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from podium.core import hookimpl
from podium.core.plugins import STAFF, ClientAssets, PluginAction, PluginContext, PodiumError
from podium.core.realtime.protocol import ParticipantInfo

HERE = Path(__file__).parent
SCHEMA: dict[str, Any] = json.loads((HERE / "config.schema.json").read_text())
#: Questions kept per room.
KEEP = 200


def _object(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": props}


_QID = {"type": "string", "minLength": 1, "maxLength": 40}


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return SCHEMA


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    return [
        PluginAction(
            "question.ask", _object(["text"], text={"type": "string", "minLength": 1, "maxLength": 2000})
        ),
        PluginAction("question.upvote", _object(["question_id"], question_id=_QID)),
        PluginAction("question.answer", _object(["question_id"], question_id=_QID), STAFF),
        PluginAction("question.dismiss", _object(["question_id"], question_id=_QID), STAFF),
    ]


@hookimpl
def podium_client_assets() -> ClientAssets:
    return ClientAssets(
        HERE / "client", "qa.js", css=["qa.css"], slots=["toolbar", "side_panel"], title="Q&A"
    )


def _question_view(q: dict[str, Any], anonymous: bool) -> dict[str, Any]:
    return {
        "id": q["id"],
        "text": q["text"],
        "author": None if anonymous else q["author"],
        "author_identity": q["author_identity"],
        "votes": len(q["voters"]),
        "voters": q["voters"],
        "status": q["status"],
        "asked_at": q["asked_at"],
    }


def _questions(ctx: PluginContext, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    live = [q for q in questions if q["status"] != "dismissed"]
    return [_question_view(q, ctx.config["anonymous_questions"]) for q in live]


@hookimpl
async def podium_plugin_message(
    ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any
) -> str | None:
    async with ctx.lock():
        return await _question(ctx, sender, action, data)


async def _question(ctx: PluginContext, sender: ParticipantInfo, action: str, data: dict[str, Any]) -> str:
    questions: list[dict[str, Any]] = await ctx.state.get("questions", [])
    if action == "question.ask":
        if not ctx.config["questions"]:
            raise PodiumError("questions_off", "questions are turned off in this room", status=403)
        text = data["text"].strip()
        if not text:
            raise PodiumError("question_empty", "the question is empty")
        if len(text) > ctx.config["max_question_length"]:
            raise PodiumError(
                "question_too_long",
                f"questions are limited to {ctx.config['max_question_length']} characters",
            )
        question = {
            "id": uuid.uuid4().hex[:12],
            "text": text,
            "author": sender.name,
            "author_identity": sender.identity,
            "voters": [],
            "status": "open",
            "asked_at": time.time(),
        }
        questions = [*questions, question][-KEEP:]
    else:
        found = next((q for q in questions if q["id"] == data["question_id"]), None)
        if found is None:
            raise PodiumError("question_not_found", "there is no such question", status=404)
        question = found
        if action == "question.upvote":
            if question["author_identity"] == sender.identity:
                raise PodiumError("own_question", "you cannot upvote your own question")
            if sender.identity in question["voters"]:
                raise PodiumError("already_voted", "you already upvoted this question", status=409)
            question["voters"].append(sender.identity)
        else:
            question["status"] = "answered" if action == "question.answer" else "dismissed"
    await ctx.state.set("questions", questions)
    await ctx.send("questions", _questions(ctx, questions))
    return str(question["id"])


@hookimpl
async def podium_welcome(ctx: PluginContext) -> dict[str, Any]:
    return {
        "questions": _questions(ctx, await ctx.state.get("questions", [])),
        "questions_enabled": ctx.config["questions"],
    }
