"""The HLS side of live streaming: the watch page, the live playlist and its segments.

``/watch/{tenant}/{stream}`` is a page that plays the room's HLS stream. The playlist and
segments need a viewer token for the room (``?token=``, role ``viewer``) unless the stream
was started ``public``. The playlist is rewritten on the way out so every segment URL
carries the same token (and viewer id): players that fetch segments themselves (Safari's
native HLS) need no help. Viewers are counted by the playlist refreshes each one makes.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Request, Response, get

from podium.core.auth.throttle import client_address
from podium.core.db.tables import RoomOutput
from podium.core.errors import PodiumError
from podium.core.services import Services

__all__ = ["watch_routes"]

STATIC = Path(__file__).parent.parent / "static"
_SEGMENT = re.compile(r"^segment-\d{6}\.ts$")


class WatchStatus(msgspec.Struct, frozen=True):
    #: live | stopped | failed
    state: str
    viewers: int


async def _stream(
    request: Request[Any, Any, Any], services: Services, tenant: str, stream: str, token: str | None
) -> tuple[dict[str, Any], Path]:
    row = (
        await RoomOutput.select(
            *RoomOutput.all_columns(),
            RoomOutput.tenant.slug.as_alias("tenant_slug"),
            RoomOutput.room.slug.as_alias("room_slug"),
        )
        .where((RoomOutput.uid == stream) & (RoomOutput.kind == "hls"))
        .first()
    )
    if row is None or row["tenant_slug"] != tenant:
        raise PodiumError("stream_not_found", "no such live stream", status=404)
    if not row["public"]:
        if not token:
            raise PodiumError("token_required", "watching this stream takes a viewer token", status=401)
        await services.verify_viewer(
            token, tenant=tenant, room=row["room_slug"], address=client_address(request)
        )
    return row, Path(row["path"])


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@get("/watch/{tenant:str}/{stream:str}", media_type=MediaType.HTML, include_in_schema=False)
async def watch_page(tenant: str, stream: str) -> Response[bytes]:
    """The watch page (it checks its token itself, through the status and playlist requests)."""
    html = await asyncio.to_thread((STATIC / "watch.html").read_bytes)
    return Response(html, media_type=MediaType.HTML, headers=_NO_STORE)


@get("/watch/{tenant:str}/{stream:str}/status", include_in_schema=False)
async def watch_status(
    request: Request[Any, Any, Any],
    tenant: str,
    stream: str,
    services: Services,
    token: str | None = None,
    v: str | None = None,
) -> WatchStatus:
    row, _ = await _stream(request, services, tenant, stream, token)
    live = row["state"] in ("live", "retrying")
    if live and v:
        await services.outputs.saw_viewer(row["room"], stream, v)
    return WatchStatus(state="live" if live else row["state"], viewers=services.outputs.viewer_count(stream))


@get("/watch/{tenant:str}/{stream:str}/index.m3u8", include_in_schema=False)
async def watch_playlist(
    request: Request[Any, Any, Any],
    tenant: str,
    stream: str,
    services: Services,
    token: str | None = None,
    v: str | None = None,
) -> Response[bytes]:
    """The live playlist, each segment URL carrying the caller's token."""
    row, directory = await _stream(request, services, tenant, stream, token)
    try:
        text = await asyncio.to_thread((directory / "index.m3u8").read_text)
    except OSError as exc:
        # Live but no segment yet: players retry a 404 playlist.
        raise PodiumError("stream_starting", "the stream has no segments yet", status=404) from exc
    if v and row["state"] in ("live", "retrying"):
        await services.outputs.saw_viewer(row["room"], stream, v)
    query = urlencode({k: val for k, val in (("token", token), ("v", v)) if val})
    if query:
        text = "\n".join(
            f"{line}?{query}" if line and not line.startswith("#") else line for line in text.splitlines()
        )
    return Response(
        text.encode(),
        media_type="application/vnd.apple.mpegurl",
        headers={**_NO_STORE, "Access-Control-Allow-Origin": "*"},
    )


@get("/watch/{tenant:str}/{stream:str}/{segment:str}", include_in_schema=False)
async def watch_segment(
    request: Request[Any, Any, Any],
    tenant: str,
    stream: str,
    segment: str,
    services: Services,
    token: str | None = None,
) -> Response[bytes]:
    if not _SEGMENT.match(segment):
        raise PodiumError("segment_not_found", "no such segment", status=404)
    _, directory = await _stream(request, services, tenant, stream, token)
    try:
        data = await asyncio.to_thread((directory / segment).read_bytes)
    except OSError as exc:
        raise PodiumError("segment_not_found", "the segment is gone (the playlist moved on)", 404) from exc
    return Response(
        data,
        media_type="video/mp2t",
        headers={"Cache-Control": "private, max-age=60", "Access-Control-Allow-Origin": "*"},
    )


watch_routes = [watch_page, watch_status, watch_playlist, watch_segment]
