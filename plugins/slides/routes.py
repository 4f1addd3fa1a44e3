"""REST routes of the slides plugin, under ``/api/v1/plugins/slides/``.

The presenter's browser uploads with its join token (``Authorization: Bearer <join token>``);
page images are served by deck id, an unguessable capability handed only to the room.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.response import File

from podium.core.api.openapi import errors
from podium.core.auth.throttle import client_address
from podium.core.errors import PodiumError
from podium.core.plugins import STAFF, PluginContext
from podium.core.services import Services

__all__ = ["page_image", "upload_deck"]

log = logging.getLogger(__name__)
#: The route's own ceiling; the tenant's ``max_upload_mb`` is checked below it.
HARD_LIMIT = 100 * 1024 * 1024
_DECK = re.compile(r"^[0-9a-f]{32}$")


async def _presenter_context(
    request: Request[Any, Any, Any], services: Services, tenant: str, room: str
) -> tuple[PluginContext, Any]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise PodiumError("token_missing", "send Authorization: Bearer <join token>", status=401)
    # The same checks as joining: a link spent by a kick or the room's end uploads nothing.
    claims, info = await services.admit_token(
        token.strip(), tenant=tenant, room=room, address=client_address(request)
    )
    if claims.role not in STAFF:
        raise PodiumError("forbidden", "only hosts and moderators upload slides", status=403)
    host = services.plugins
    enabled = await host.enabled(tenant)
    if "slides" not in enabled:
        raise PodiumError("plugin_not_enabled", "slides are not enabled for this room", status=403)
    return PluginContext(host, "slides", info, enabled["slides"]), claims


async def _read_pdf(request: Request[Any, Any, Any], max_mb: float) -> bytes:
    """The upload, refused with 413 as soon as it is known to be over ``max_mb``: by its
    Content-Length up front, else (a chunked body announces none) by the bytes that arrived,
    so nobody makes the node buffer ``HARD_LIMIT`` bytes to learn the tenant allows fewer."""
    limit = int(max_mb * 1024 * 1024)
    too_large = f"PDFs are limited to {max_mb:g} MiB"
    if (request.content_length or 0) > limit:
        raise PodiumError("slides_too_large", too_large, status=413)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise PodiumError("slides_too_large", too_large, status=413)
        chunks.append(chunk)
    return b"".join(chunks)


@post(
    "/{tenant:str}/{room:str}/decks",
    request_max_body_size=HARD_LIMIT,
    status_code=202,
    responses=errors(401, 403, 410, 413, 415, 429),
)
async def upload_deck(
    request: Request[Any, Any, Any], services: Services, tenant: str, room: str, name: str = "slides.pdf"
) -> dict[str, Any]:
    """Upload a PDF (the request body); pages are rendered by a job, then the room hears ``deck.ready``."""
    from podium.plugins.slides import render_deck
    from podium.plugins.slides.render import PdfError, count_pages

    ctx, claims = await _presenter_context(request, services, tenant, room)
    data = await _read_pdf(request, ctx.config["max_upload_mb"])
    if not data.startswith(b"%PDF"):
        raise PodiumError("slides_not_pdf", "the upload is not a PDF file", status=415)
    try:
        pages = await ctx.run_job(count_pages, data)
    except PdfError as exc:
        raise PodiumError("slides_not_pdf", f"the PDF could not be read: {exc}", status=415) from exc
    if pages > ctx.config["max_pages"]:
        raise PodiumError(
            "slides_too_many_pages",
            f"decks are limited to {ctx.config['max_pages']} pages; this one has {pages}",
            413,
        )
    deck = {
        "id": uuid.uuid4().hex,
        "name": name[:200],
        "pages": pages,
        "status": "rendering",
        "by": claims.name,
    }
    await render_deck(ctx, deck, data)
    return deck


@get("/decks/{deck:str}/pages/{page:int}", media_type="image/jpeg", responses=errors(404))
async def page_image(services: Services, deck: str, page: int) -> File:
    """One rendered page of a deck."""
    path = services.settings.data_dir / "plugins" / "slides" / deck / f"{page}.jpg"
    if not _DECK.match(deck) or not path.is_file():
        raise PodiumError("page_not_found", "no such page", status=404)
    return File(path, content_disposition_type="inline", headers={"Cache-Control": "private, max-age=86400"})
