"""Recordings and live streams over REST: start, stop, list, download (with ranges), delete.

``/api/v1/rooms/{slug}/recordings`` and ``…/streams`` start and stop outputs of a room;
``/api/v1/recordings`` lists the tenant's recordings, serves their files and deletes them;
``/api/v1/streaming/hosts`` is the tenant's RTMP allow-list; ``…/viewer-tokens`` mints
tokens that let someone watch a room's HLS stream and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream
from msgspec import Meta

from podium.core import rooms
from podium.core.api.openapi import errors
from podium.core.auth import tokens
from podium.core.db.tables import RoomOutput, StreamingHost
from podium.core.errors import PodiumError
from podium.core.outputs import RecordingInfo, StreamInfo
from podium.core.outputs.destinations import check_host_pattern
from podium.core.services import Services
from podium.core.tenants import Caller, utcnow

__all__ = ["RecordingController", "RoomOutputsController", "StreamingHostController"]

_CHUNK = 256 * 1024


class RecordingPage(msgspec.Struct, frozen=True):
    recordings: list[RecordingInfo]
    #: Pass as ``before`` for older recordings; null on the last page.
    next: str | None


class StreamStart(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """No ``destination``: the room's HLS stream. With one: push to that RTMP URL."""

    destination: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None
    #: HLS: watchable by anyone with the link (no viewer token).
    public: bool = False


class StreamingHosts(msgspec.Struct, forbid_unknown_fields=True):
    #: Host names (``a.rtmp.youtube.com``) or ``*.domain`` patterns RTMP destinations may use.
    hosts: Annotated[list[str], Meta(max_length=100)]


class ViewerTokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    identity: Annotated[str, Meta(min_length=1, max_length=200)] = "viewer"
    ttl: Annotated[int, Meta(ge=10)] = 3600


class ViewerToken(msgspec.Struct, frozen=True):
    token: str
    expires_at: int
    #: The room's watch page for this token (while the room is live).
    watch_url: str | None


class RoomOutputsController(Controller):
    path = "/rooms/{slug:str}"
    tags = ["recordings", "streaming"]

    @post("/recordings", status_code=201, responses=errors(403, 409, 503, 504))
    async def start_recording(self, caller: Caller, slug: str, services: Services) -> RecordingInfo:
        """Start recording the room (its composite and mixed audio); 409 if it already is."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.outputs.start_recording(room, "api")

    @post("/recordings/stop", status_code=200, responses=errors(409, 503, 504))
    async def stop_recording(self, caller: Caller, slug: str, services: Services) -> RecordingInfo:
        """Stop the room's recording; it is then ``processing`` until ``ready`` (or ``failed``)."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.outputs.stop_recording(room)

    @get("/streams")
    async def list_streams(self, caller: Caller, slug: str, services: Services) -> list[StreamInfo]:
        """The room's running live outputs: its HLS stream and RTMP destinations."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.outputs.streams(room, caller.tenant.slug)

    @post("/streams", status_code=201, responses=errors(409, 422, 503, 504))
    async def start_stream(
        self, caller: Caller, slug: str, data: StreamStart, services: Services
    ) -> StreamInfo:
        """Go live over HLS, or push to an RTMP destination (each one started on its own)."""
        room = await rooms.get_room(caller.tenant, slug)
        if data.destination is not None:
            return await services.outputs.add_destination(room, "api", data.destination)
        return await services.outputs.start_stream(room, "api", data.public)

    @post("/streams/stop", status_code=200, responses=errors(409))
    async def stop_streams(self, caller: Caller, slug: str, services: Services) -> list[StreamInfo]:
        """Stop every live output of the room."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.outputs.stop_stream(room, None)

    @post("/streams/{stream_id:str}/stop", status_code=200, responses=errors(409))
    async def stop_stream(self, caller: Caller, slug: str, stream_id: str, services: Services) -> StreamInfo:
        """Stop one live output; the others go on."""
        room = await rooms.get_room(caller.tenant, slug)
        return (await services.outputs.stop_stream(room, stream_id))[0]

    @post("/viewer-tokens", status_code=201, responses=errors(422))
    async def mint_viewer_token(
        self, caller: Caller, slug: str, data: ViewerTokenRequest, services: Services
    ) -> ViewerToken:
        """A token that lets its holder watch the room's HLS stream (role ``viewer``, read-only)."""
        room = await rooms.get_room(caller.tenant, slug)
        if data.ttl > services.settings.token_max_ttl:
            raise PodiumError("ttl_too_long", f"ttl may be at most {services.settings.token_max_ttl} s", 422)
        now = int(time.time())
        token = tokens.mint(
            key_id=caller.key_id,
            secret=caller.secret,
            identity=data.identity,
            room=room.slug,
            role=tokens.VIEWER,
            name=data.identity,
            ttl=data.ttl,
            now=now,
        )
        live = [s for s in await services.outputs.streams(room, caller.tenant.slug) if s.kind == "hls"]
        url = f"{live[0].watch_url}?token={token}" if live else None
        return ViewerToken(token=token, expires_at=now + data.ttl, watch_url=url)


class RecordingController(Controller):
    path = "/recordings"
    tags = ["recordings"]

    @get("/", responses=errors(404))
    async def list_recordings(
        self,
        caller: Caller,
        services: Services,
        room: Annotated[str | None, Parameter(max_length=64)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        before: Annotated[str | None, Parameter(max_length=40)] = None,
    ) -> RecordingPage:
        """The tenant's recordings, newest first, optionally of one room."""
        room_id = (await rooms.get_room(caller.tenant, room)).id if room else None
        before_id = None
        if before is not None:
            row = await services.outputs.row(caller.tenant, before, ("recording",))
            before_id = int(row["id"])
        page = await services.outputs.list_recordings(
            caller.tenant, room_id=room_id, limit=limit, before=before_id
        )
        return RecordingPage(recordings=page, next=page[-1].id if len(page) == limit else None)

    @get("/{recording_id:str}")
    async def get_recording(self, caller: Caller, recording_id: str, services: Services) -> RecordingInfo:
        row = await services.outputs.row(caller.tenant, recording_id, ("recording",))
        return services.outputs.recording_info(row, row["room_slug"])

    @get(
        "/{recording_id:str}/download",
        media_type="video/mp4",
        responses={
            **errors(409, 410, 416),
            206: ResponseSpec(bytes, description="the `Range` asked for", media_type="video/mp4"),
        },
    )
    async def download(
        self, caller: Caller, recording_id: str, request: Request[Any, Any, Any], services: Services
    ) -> Response[Any]:
        """The MP4 file (H.264 + Opus); honours ``Range: bytes=…`` (206) for seeking players."""
        row = await services.outputs.row(caller.tenant, recording_id, ("recording",))
        info = services.outputs.recording_info(row, row["room_slug"])
        if info.download_url is None:
            raise PodiumError("recording_not_ready", f"the recording is {row['state']}", status=409)
        path = Path(row["path"])
        # Recordings made before the switch to MP4 are WebM files.
        media_type = "video/webm" if path.suffix == ".webm" else "video/mp4"
        return await _file_response(
            path, request.headers.get("range"), f"{recording_id}{path.suffix}", media_type
        )

    @get("/{recording_id:str}/thumbnail", media_type="image/jpeg")
    async def thumbnail(self, caller: Caller, recording_id: str, services: Services) -> Response[bytes]:
        row = await services.outputs.row(caller.tenant, recording_id, ("recording",))
        path = services.outputs.thumbnail_path(caller.tenant.slug, recording_id)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise PodiumError(
                "thumbnail_not_found", f"no thumbnail (recording is {row['state']})", 404
            ) from exc
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @delete("/{recording_id:str}", responses=errors(409))
    async def delete_recording(self, caller: Caller, recording_id: str, services: Services) -> None:
        """Delete a finished recording and its files; 409 while it is still recording or processing."""
        row = await services.outputs.row(caller.tenant, recording_id, ("recording",))
        if row["state"] in ("recording", "processing"):
            raise PodiumError("recording_busy", f"the recording is {row['state']}; stop it first", status=409)
        outputs = services.outputs
        paths = [
            Path(row["path"]) if row["path"] else None,
            outputs.raw_path(caller.tenant.slug, recording_id),
            outputs.file_path(caller.tenant.slug, recording_id),
            outputs.thumbnail_path(caller.tenant.slug, recording_id),
        ]
        await asyncio.to_thread(_unlink, [p for p in paths if p is not None])
        await RoomOutput.delete().where(RoomOutput.id == row["id"])


class StreamingHostController(Controller):
    path = "/streaming/hosts"
    tags = ["streaming"]

    @get("/")
    async def get_hosts(self, caller: Caller) -> StreamingHosts:
        """The hosts this tenant may push RTMP streams to."""
        rows = await StreamingHost.select(StreamingHost.host).where(StreamingHost.tenant == caller.tenant.id)
        return StreamingHosts(hosts=sorted(r["host"] for r in rows))

    @put("/", responses=errors(422))
    async def set_hosts(self, caller: Caller, data: StreamingHosts) -> StreamingHosts:
        """Replace the allow-list (``["a.rtmp.youtube.com", "*.contribute.live-video.net"]``)."""
        hosts = sorted({check_host_pattern(h) for h in data.hosts})
        await StreamingHost.delete().where(StreamingHost.tenant == caller.tenant.id)
        if hosts:
            now = utcnow()
            await StreamingHost.insert(
                *[StreamingHost(tenant=caller.tenant.id, host=h, created_at=now) for h in hosts]
            )
        return StreamingHosts(hosts=hosts)


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of one ``bytes=`` range; ``None`` to send the whole file; raises if unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None  # multiple ranges: send it all, which HTTP allows
    start_s, _, end_s = spec.strip().partition("-")
    try:
        if start_s == "":
            length = int(end_s)
            if length <= 0:
                raise ValueError
            return max(0, size - length), size - 1
        first = int(start_s)
        last = int(end_s) if end_s else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        raise PodiumError("range_not_satisfiable", f"the file has {size} bytes", status=416)
    return first, min(last, size - 1)


async def _file_response(path: Path, range_header: str | None, name: str, media_type: str) -> Response[Any]:
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
    except OSError as exc:
        raise PodiumError("recording_file_missing", "the recording's file is gone", status=410) from exc
    chosen = _parse_range(range_header, size) if range_header else None
    first, last = chosen if chosen else (0, size - 1)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(last - first + 1),
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-transform",
    }
    if chosen:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"

    async def body() -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, first)
            left = last - first + 1
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    return Stream(body(), status_code=206 if chosen else 200, media_type=media_type, headers=headers)
