"""Slides.

A host or moderator uploads a PDF; a job renders its pages to images. The presenter
turns the pages and everyone follows; late joiners land on the current page.
Uploads are limited in size and pages, with clear errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from litestar.types import ControllerRouterHandler

from podium.core import hookimpl
from podium.core.plugins import STAFF, ClientAssets, PluginAction, PluginContext, PodiumError
from podium.core.realtime.protocol import ParticipantInfo

HERE = Path(__file__).parent
SCHEMA: dict[str, Any] = json.loads((HERE / "config.schema.json").read_text())
log = logging.getLogger(__name__)
_jobs: set[asyncio.Task[None]] = set()

_DECK_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}


@hookimpl
def podium_config_schema() -> dict[str, Any]:
    return SCHEMA


@hookimpl
def podium_plugin_actions() -> list[PluginAction]:
    def obj(required: list[str], **props: Any) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "required": required, "properties": props}

    page = {"type": "integer", "minimum": 1}
    return [
        PluginAction(
            "present", obj(["deck_id"], deck_id=_DECK_ID, page=page), STAFF, "show a deck to everyone"
        ),
        PluginAction("page", obj(["page"], page=page), STAFF, "turn to a page; everyone follows"),
        PluginAction("stop", obj([]), STAFF, "stop presenting"),
    ]


@hookimpl
def podium_routes() -> list[ControllerRouterHandler]:
    from podium.plugins.slides.routes import page_image, upload_deck

    return [upload_deck, page_image]


@hookimpl
def podium_client_assets() -> ClientAssets:
    return ClientAssets(
        HERE / "client",
        "slides.js",
        css=["slides.css"],
        slots=["toolbar", "side_panel", "stage_content"],
        title="Slides",
    )


def page_url(deck_id: str, page: int) -> str:
    return f"/api/v1/plugins/slides/decks/{deck_id}/pages/{page}"


async def render_deck(ctx: PluginContext, deck: dict[str, Any], data: bytes) -> None:
    """Record the deck and start its rendering job; staff hear ``deck.ready`` (or ``deck.failed``)."""
    from podium.plugins.slides.render import PdfError, render_pages

    async with ctx.lock():
        decks = await ctx.state.get("decks", {})
        decks[deck["id"]] = deck
        await ctx.state.set("decks", decks)
    await ctx.send("deck", deck, to="staff")
    folder = ctx.data_dir / deck["id"]

    async def job() -> None:
        error = None
        try:
            await ctx.run_job(render_pages, data, folder, ctx.config["page_width"])
        except PdfError as exc:  # the PDF itself: too big to render, or broken past its first pages
            log.warning("deck %s could not be rendered: %s", deck["id"], exc)
            error = str(exc)
        except Exception:
            log.exception("rendering deck %s failed", deck["id"])
            error = "the deck could not be rendered"
        async with ctx.lock():
            decks = await ctx.state.get("decks", {})
            if deck["id"] in decks:
                decks[deck["id"]]["status"] = "failed" if error else "ready"
                if error:
                    decks[deck["id"]]["error"] = error
                await ctx.state.set("decks", decks)
                await ctx.send("deck", decks[deck["id"]], to="staff")

    task = asyncio.create_task(job(), name=f"slides-render-{deck['id']}")
    _jobs.add(task)
    task.add_done_callback(_jobs.discard)


def _slide(deck: dict[str, Any], page: int, presenter: ParticipantInfo) -> dict[str, Any]:
    return {
        "deck_id": deck["id"],
        "name": deck["name"],
        "page": page,
        "pages": deck["pages"],
        "url": page_url(deck["id"], page),
        "presenter_id": presenter.id,
        "presenter": presenter.name,
    }


@hookimpl
async def podium_plugin_message(
    ctx: PluginContext, sender: ParticipantInfo, action: str, data: Any
) -> int | None:
    async with ctx.lock():
        current: dict[str, Any] | None = await ctx.state.get("current")
        if action == "stop":
            await ctx.state.delete("current")
            slide = None
        else:
            if action == "present":
                deck = (await ctx.state.get("decks", {})).get(data["deck_id"])
                if deck is None:
                    raise PodiumError("deck_not_found", "there is no such deck in this room", status=404)
                if deck["status"] != "ready":
                    raise PodiumError("deck_not_ready", "the deck is still being rendered", status=409)
                page = data.get("page", 1)
            else:
                if current is None:
                    raise PodiumError("not_presenting", "no deck is being presented", status=409)
                deck = {"id": current["deck_id"], "name": current["name"], "pages": current["pages"]}
                page = data["page"]
            if page > deck["pages"]:
                raise PodiumError("page_out_of_range", f"the deck has {deck['pages']} pages")
            slide = _slide(deck, page, sender)
            await ctx.state.set("current", slide)
    await ctx.send("slide", slide)
    await _show_on_composite(ctx, slide)
    return None if slide is None else int(slide["page"])


async def _show_on_composite(ctx: PluginContext, slide: dict[str, Any] | None) -> None:
    """In MCU rooms the slide is the composite's content tile (and so in recordings and streams)."""
    if slide is None:
        await ctx.set_media_content(None)
        return
    from podium.plugins.slides.render import stage_image

    path = ctx.data_dir / slide["deck_id"] / f"{slide['page']}.jpg"
    await ctx.set_media_content(await ctx.run_job(stage_image, path))


@hookimpl
async def podium_media_started(ctx: PluginContext) -> None:
    current: dict[str, Any] | None = await ctx.state.get("current")
    if current is not None:
        await _show_on_composite(ctx, current)


@hookimpl
async def podium_welcome(ctx: PluginContext, participant: ParticipantInfo) -> dict[str, Any]:
    state: dict[str, Any] = {"current": await ctx.state.get("current")}
    if participant.role in STAFF:
        state["decks"] = list((await ctx.state.get("decks", {})).values())
        state["max_upload_mb"] = ctx.config["max_upload_mb"]
        state["max_pages"] = ctx.config["max_pages"]
    return state


@hookimpl
async def podium_room_ended(ctx: PluginContext) -> None:
    # A new meeting in the same room starts without a slide on the stage.
    await ctx.state.delete("current")
