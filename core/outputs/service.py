"""Recordings and live streams of rooms: core's side (state, files, events, jobs).

Core keeps each output's state in ``room_output`` and asks the room's media node to run
it (``output.start``/``output.stop``, docs/media-control.md); the node reports back with
``output`` events. A recording is ``recording`` while the node writes it, ``processing``
while a job finishes the file, then ``ready`` or ``failed``; a recording cut short (the
media node died, a write failed) is processed too, and ends ``failed`` with what it kept.

Peer-to-peer rooms have no composite, so starting an output moves the room's live
media to the MCU (participants publish to the media node, which composites for the
outputs and everyone); when the last output stops, the room's own rule applies again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec

from podium.core.db.tables import Room, RoomOutput, StreamingHost
from podium.core.errors import PodiumError
from podium.core.jobs import InProcessJobs, JobQueue
from podium.core.media_client import MediaClient
from podium.core.media_pool import MediaPool
from podium.core.outputs.destinations import check_destination, redact
from podium.core.outputs.jobs import OutputJobs
from podium.core.outputs.recordings import FINALIZE_JOB, RecordingInfo, RecordingStore
from podium.core.plugins.types import Recording
from podium.core.realtime.hub import Hub
from podium.core.realtime.media_routing import MediaRouting
from podium.core.realtime.protocol import OutputItem, OutputsChanged
from podium.core.rooms import RoomInfo, get_room_by_id, set_live_media
from podium.core.settings import Settings
from podium.core.tenants import TenantRef, utcnow
from podium.media import control

__all__ = ["Outputs", "StreamInfo", "output_hook_view"]

log = logging.getLogger(__name__)

ACTIVE = ("recording", "live", "retrying")
#: Seconds an ended HLS stream's playlist and segments stay on disk.
HLS_KEEP_AFTER_END = 60.0
#: A viewer who has not fetched the playlist for this long no longer counts.
VIEWER_WINDOW = 15.0
_NODE_DIED = "the media node stopped during the output"


class StreamInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A live output as the API shows it: the room's HLS stream or one RTMP destination."""

    id: str
    room: str
    kind: Literal["hls", "rtmp"]
    #: live | retrying (RTMP, destination unreachable) | stopped | failed
    state: str
    started_at: datetime
    stopped_at: datetime | None
    error: str | None
    #: RTMP: the destination with its stream key hidden.
    destination: str = ""
    #: HLS: the watch page (append ``?token=`` with a viewer token unless ``public``).
    watch_url: str = ""
    public: bool = False
    viewers: int = 0


def output_hook_view(room: RoomInfo, data: dict[str, Any], stopped: bool = False) -> Recording:
    """An output as the recording plugin hooks see it."""
    now = utcnow()
    kind: Literal["recording", "stream"] = "recording" if data["kind"] == "recording" else "stream"
    return Recording(
        id=data["id"], room_id=room.id, kind=kind, started_at=now, stopped_at=now if stopped else None
    )


async def _tenant_id(room: RoomInfo) -> int:
    found = await Room.select(Room.tenant).where(Room.id == room.id).first()
    if found is None:
        raise PodiumError("room_not_found", "room was deleted", status=404)
    return int(found["tenant"])


def _uid(kind: str) -> str:
    return {"recording": "rec", "hls": "hls", "rtmp": "rtmp"}[kind] + "_" + secrets.token_hex(8)


class Outputs(RecordingStore):
    """Starts, stops and follows recordings and streams; finishes recordings' files through jobs."""

    def __init__(self, settings: Settings, hub: Hub, routing: MediaRouting) -> None:
        super().__init__(settings)
        self.hub = hub
        self.routing = routing
        #: Plugin hooks for outputs starting and stopping; set by the app.
        self.on_started: Callable[[RoomInfo, dict[str, Any]], None] | None = None
        self.on_stopped: Callable[[RoomInfo, dict[str, Any]], None] | None = None
        self.jobs: JobQueue
        if settings.redis_url:
            self.jobs = OutputJobs(settings, {FINALIZE_JOB: self.finalize}, run=settings.serve_runs_jobs)
        else:
            self.jobs = InProcessJobs({FINALIZE_JOB: self.finalize})
        self.viewers: dict[str, dict[str, float]] = {}
        self._announced_viewers: dict[str, int] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.jobs.start()
        if not self.settings.uses_postgres:
            # One SQLite node: outputs a previous process left running ended with it.
            await self._cut_short(await self._active_rows(None), "the server stopped during the output")

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.jobs.stop()

    # ---- queries ---------------------------------------------------------------------------------------

    async def _active_rows(self, room_id: int | None, kind: str | None = None) -> list[dict[str, Any]]:
        query = RoomOutput.select(*RoomOutput.all_columns(), RoomOutput.tenant.slug.as_alias("tenant_slug"))
        query = query.where(RoomOutput.state.is_in(list(ACTIVE)))
        if room_id is not None:
            query = query.where(RoomOutput.room == room_id)
        if kind is not None:
            query = query.where(RoomOutput.kind == kind)
        return list(await query)

    async def row(self, tenant: TenantRef, uid: str, kinds: tuple[str, ...]) -> dict[str, Any]:
        found = (
            await RoomOutput.select(*RoomOutput.all_columns(), RoomOutput.room.slug.as_alias("room_slug"))
            .where((RoomOutput.uid == uid) & (RoomOutput.tenant == tenant.id))
            .first()
        )
        if found is None or found["kind"] not in kinds:
            what = "recording" if kinds == ("recording",) else "stream"
            raise PodiumError(f"{what}_not_found", f"no {what} {uid!r}", status=404)
        return found

    def stream_info(self, row: dict[str, Any], room_slug: str, tenant: str) -> StreamInfo:
        return StreamInfo(
            id=row["uid"],
            room=room_slug,
            kind=row["kind"],
            state=row["state"],
            started_at=row["started_at"],
            stopped_at=row["stopped_at"],
            error=row["error"],
            destination=redact(row["target"]) if row["kind"] == "rtmp" else "",
            watch_url=f"/watch/{tenant}/{row['uid']}" if row["kind"] == "hls" else "",
            public=row["public"],
            viewers=self.viewer_count(row["uid"]) if row["kind"] == "hls" else 0,
        )

    async def list_recordings(
        self, tenant: TenantRef, *, room_id: int | None, limit: int, before: int | None
    ) -> list[RecordingInfo]:
        query = (
            RoomOutput.select(*RoomOutput.all_columns(), RoomOutput.room.slug.as_alias("room_slug"))
            .where((RoomOutput.tenant == tenant.id) & (RoomOutput.kind == "recording"))
            .order_by(RoomOutput.id, ascending=False)
            .limit(limit)
        )
        if room_id is not None:
            query = query.where(RoomOutput.room == room_id)
        if before is not None:
            query = query.where(RoomOutput.id < before)
        return [self.recording_info(r, r["room_slug"]) for r in await query]

    async def streams(self, room: RoomInfo, tenant: str) -> list[StreamInfo]:
        rows = await RoomOutput.select().where(
            (RoomOutput.room == room.id)
            & RoomOutput.kind.is_in(["hls", "rtmp"])
            & RoomOutput.state.is_in(list(ACTIVE))
        )
        return [self.stream_info(r, room.slug, tenant) for r in rows]

    async def status(self, room_id: int) -> OutputsChanged:
        """What the room's participants see: recording or not, live or not, and each output."""
        rows = await self._active_rows(room_id)
        items = [
            OutputItem(
                id=r["uid"],
                kind=r["kind"],
                state=r["state"],
                destination=redact(r["target"]) if r["kind"] == "rtmp" else "",
                viewers=self.viewer_count(r["uid"]) if r["kind"] == "hls" else 0,
            )
            for r in rows
        ]
        return OutputsChanged(
            recording=any(i.kind == "recording" for i in items),
            live=any(i.kind != "recording" for i in items),
            outputs=items,
        )

    async def _announce(self, room_id: int) -> None:
        await self.hub.publish(room_id, await self.status(room_id))

    # ---- starting and stopping -------------------------------------------------------------------------

    def _media(self) -> MediaClient | MediaPool:
        media = self.routing.media
        if media is None:
            raise PodiumError("media_unavailable", "this server has no media node to record or stream", 503)
        return media

    async def _insert(self, room: RoomInfo, kind: str, by: str, **values: Any) -> dict[str, Any]:
        uid = _uid(kind)
        row = RoomOutput(
            uid=uid,
            tenant=await _tenant_id(room),
            room=room.id,
            kind=kind,
            state="recording" if kind == "recording" else "live",
            started_by=by,
            started_at=utcnow(),
            **values,
        )
        await row.save()
        return {"id": row.id, "uid": uid, "kind": kind, **values}

    async def _run_on_node(self, room: RoomInfo, row: dict[str, Any], target: str) -> None:
        media = self._media()
        await self._use_mcu(room)
        try:
            await media.start_output(self.routing.key(room.id), row["uid"], row["kind"], target)
        except PodiumError:
            # Never started: the caller gets the error, and there is nothing to keep.
            await RoomOutput.delete().where(RoomOutput.id == row["id"])
            await self._release_mcu(room)
            raise

    async def start_recording(self, room: RoomInfo, by: str) -> RecordingInfo:
        """Start recording ``room``; ``recording_running`` if one already is."""
        if not room.recording_allowed:
            raise PodiumError("recording_not_allowed", "recording is turned off for this room", status=403)
        self._media()
        async with self._lock:
            if await self._active_rows(room.id, "recording"):
                raise PodiumError("recording_running", "this room is already being recorded", status=409)
            row = await self._insert(room, "recording", by)
        raw = self.raw_path(room.tenant, row["uid"])
        await RoomOutput.update({RoomOutput.path: str(raw)}).where(RoomOutput.id == row["id"])
        await self._run_on_node(room, row, str(raw))
        await self._started(room, "recording.started", row)
        return await self._recording(room, row["uid"])

    async def _recording(self, room: RoomInfo, uid: str) -> RecordingInfo:
        found = await RoomOutput.select().where(RoomOutput.uid == uid).first()
        assert found is not None
        return self.recording_info(found, room.slug)

    async def stop_recording(self, room: RoomInfo) -> RecordingInfo:
        """Stop the room's recording; the file is then processed (``processing`` → ``ready``)."""
        rows = await self._active_rows(room.id, "recording")
        if not rows:
            raise PodiumError("recording_not_running", "this room is not being recorded", status=409)
        row = rows[0]
        stats: dict[str, float] = {}
        error: str | None = None
        try:
            stats = await self._media().stop_output(self.routing.key(room.id), row["uid"])
        except PodiumError as exc:
            # The node lost it (died, write error): process what the file holds, and say so.
            error = f"the recording did not end cleanly: {exc.message}"
        await self._processing(row, error, stats.get("seconds", 0.0))
        await self._release_mcu(room)
        await self._stopped(room, row)
        return await self._recording(room, row["uid"])

    async def _processing(self, row: dict[str, Any], error: str | None, seconds: float) -> None:
        updated = (
            await RoomOutput.update(
                {
                    RoomOutput.state: "processing",
                    RoomOutput.stopped_at: utcnow(),
                    RoomOutput.duration: round(seconds, 3),
                    RoomOutput.error: error,
                }
            )
            .where((RoomOutput.id == row["id"]) & (RoomOutput.state == "recording"))
            .returning(RoomOutput.id)
        )
        if updated:
            await self.jobs.enqueue(FINALIZE_JOB, row["id"])

    async def start_stream(self, room: RoomInfo, by: str, public: bool) -> StreamInfo:
        """Serve the room as HLS (one per room); ``stream_running`` if it already is."""
        self._media()
        async with self._lock:
            if await self._active_rows(room.id, "hls"):
                raise PodiumError("stream_running", "this room is already live", status=409)
            row = await self._insert(room, "hls", by, public=public)
        directory = self.hls_dir(row["uid"])
        await RoomOutput.update({RoomOutput.path: str(directory)}).where(RoomOutput.id == row["id"])
        await self._run_on_node(room, row, str(directory))
        await self._started(room, "streaming.started", row)
        return await self._stream(room, row["uid"])

    async def add_destination(self, room: RoomInfo, by: str, url: str) -> StreamInfo:
        """Push the room to an RTMP URL on the tenant's allow-list."""
        self._media()
        tenant_id = await _tenant_id(room)
        hosts = [
            r["host"]
            for r in await StreamingHost.select(StreamingHost.host).where(StreamingHost.tenant == tenant_id)
        ]
        await check_destination(url, hosts, self.settings.streaming_private_addresses)
        async with self._lock:
            for active in await self._active_rows(room.id, "rtmp"):
                if active["target"] == url:
                    raise PodiumError("stream_running", "this room is already pushed to that URL", status=409)
            row = await self._insert(room, "rtmp", by, target=url)
        await self._run_on_node(room, row, url)
        await self._started(room, "streaming.started", row)
        return await self._stream(room, row["uid"])

    async def _stream(self, room: RoomInfo, uid: str) -> StreamInfo:
        found = await RoomOutput.select().where(RoomOutput.uid == uid).first()
        assert found is not None
        return self.stream_info(found, room.slug, room.tenant)

    async def stop_stream(self, room: RoomInfo, uid: str | None) -> list[StreamInfo]:
        """Stop one live output (``uid``) or all of them; ``stream_not_running`` if none is."""
        rows = [r for r in await self._active_rows(room.id) if r["kind"] != "recording"]
        if uid is not None:
            rows = [r for r in rows if r["uid"] == uid]
        if not rows:
            raise PodiumError("stream_not_running", "no such live stream is running in this room", status=409)
        for row in rows:
            error: str | None = None
            try:
                await self._media().stop_output(self.routing.key(room.id), row["uid"])
            except PodiumError as exc:
                if exc.code != "output_not_found":
                    error = exc.message
            await RoomOutput.update(
                {
                    RoomOutput.state: "failed" if error else "stopped",
                    RoomOutput.stopped_at: utcnow(),
                    RoomOutput.error: error,
                }
            ).where(RoomOutput.id == row["id"])
            await self._stopped(room, row, "streaming.stopped")
            if row["kind"] == "hls":
                self._clear_later(Path(row["path"]))
        await self._release_mcu(room)
        return [await self._stream(room, r["uid"]) for r in rows]

    def _clear_later(self, directory: Path) -> None:
        """An ended HLS stream's files go after a minute (viewers first get its end of list)."""

        async def clear() -> None:
            await asyncio.sleep(HLS_KEEP_AFTER_END)
            await asyncio.to_thread(shutil.rmtree, directory, True)

        if directory.name and directory.parent == self.root / "live":
            self._in_background(clear())

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _started(self, room: RoomInfo, event: str, row: dict[str, Any]) -> None:
        await self._announce(room.id)
        what = "recording" if row["kind"] == "recording" else "stream"
        await self._webhook(room, event, {what: {"id": row["uid"], "kind": row["kind"]}})
        if self.on_started is not None:
            self.on_started(room, {"id": row["uid"], "kind": row["kind"]})

    async def _stopped(self, room: RoomInfo, row: dict[str, Any], event: str | None = None) -> None:
        await self._announce(room.id)
        if event is not None:
            await self._webhook(room, event, {"stream": {"id": row["uid"], "kind": row["kind"]}})
        if self.on_stopped is not None:
            self.on_stopped(room, {"id": row["uid"], "kind": row["kind"]})

    # ---- the room's media while outputs run ------------------------------------------------------------

    async def _use_mcu(self, room: RoomInfo) -> None:
        """Outputs need the composite: a peer-to-peer room's media moves to the MCU."""
        if await self.routing.mode(room) != "mcu":
            await set_live_media(room.id, "mcu")
            await self.routing.announce_mode(room, "mcu")

    async def _release_mcu(self, room: RoomInfo) -> None:
        """The last output stopped: the room's own media rule applies again."""
        if await self._active_rows(room.id):
            return
        await self.routing.outputs_ended(room)

    async def holds_mcu(self, room_id: int) -> bool:
        return bool(await self._active_rows(room_id))

    # ---- from the media node ---------------------------------------------------------------------------

    async def on_status(self, event: control.OutputStatus) -> None:
        room_id = self.routing.room_id_of(event.room)
        if room_id is None:
            return
        row = (
            await RoomOutput.select(*RoomOutput.all_columns(), RoomOutput.tenant.slug.as_alias("tenant_slug"))
            .where(RoomOutput.uid == event.output)
            .first()
        )
        if row is None or row["state"] not in ACTIVE:
            return
        room = await get_room_by_id(room_id, row["tenant_slug"])
        if event.state == "failed" and row["kind"] == "recording":
            await self._processing(row, event.message, event.seconds)
            await self._release_mcu(room)
            await self._stopped(room, row)
        elif event.state == "failed":
            await RoomOutput.update(
                {RoomOutput.state: "failed", RoomOutput.error: event.message, RoomOutput.stopped_at: utcnow()}
            ).where(RoomOutput.id == row["id"])
            await self._webhook(
                room, "streaming.failed", {"stream": {"id": row["uid"], "error": event.message}}
            )
            await self._release_mcu(room)
            await self._announce(room_id)
        elif event.state == "stopped" and row["kind"] == "recording":
            # The node closed the room (the meeting ended): the recording ends with it.
            await self._processing(row, None, event.seconds)
            await self._release_mcu(room)
            await self._stopped(room, row)
        elif event.state == "stopped":
            await RoomOutput.update({RoomOutput.state: "stopped", RoomOutput.stopped_at: utcnow()}).where(
                (RoomOutput.id == row["id"]) & RoomOutput.state.is_in(list(ACTIVE))
            )
            await self._announce(room_id)
        elif event.state in ("retrying", "active") and row["kind"] == "rtmp":
            state = "retrying" if event.state == "retrying" else "live"
            if state != row["state"]:
                await RoomOutput.update(
                    {RoomOutput.state: state, RoomOutput.error: event.message or None}
                ).where(RoomOutput.id == row["id"])
                await self._announce(room_id)

    async def media_restarted(self, room_ids: set[int]) -> None:
        """The media node died. Recordings ended with it (keeping what reached the disk); live
        streams start again on the node the room has now: HLS continues its playlist after a
        discontinuity, RTMP pushes reconnect."""
        rows = [r for r in await self._active_rows(None) if r["room"] in room_ids]
        await self._cut_short([r for r in rows if r["kind"] == "recording"], _NODE_DIED)
        live = [r for r in rows if r["kind"] != "recording"]
        if live:
            # Later: the media client calls this before it reads the new node's replies.
            self._in_background(self._resume(live))

    async def _resume(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            target = row["path"] if row["kind"] == "hls" else row["target"]
            try:
                await self._media().start_output(
                    self.routing.key(row["room"]), row["uid"], row["kind"], target
                )
            except PodiumError as exc:
                if exc.code != "output_exists":  # another web node resumed it first
                    await self._cut_short([row], f"{_NODE_DIED}; starting it again failed: {exc}")
                continue
            log.info("%s output %s resumed on a new media node", row["kind"], row["uid"])

    async def _cut_short(self, rows: list[dict[str, Any]], reason: str) -> None:
        for row in rows:
            if row["kind"] == "recording":
                await self._processing(row, reason, 0.0)
            else:
                await RoomOutput.update(
                    {RoomOutput.state: "failed", RoomOutput.error: reason, RoomOutput.stopped_at: utcnow()}
                ).where(RoomOutput.id == row["id"])
        for room_id in {r["room"] for r in rows}:
            await self._announce(room_id)

    # ---- HLS viewers -----------------------------------------------------------------------------------

    async def saw_viewer(self, room_id: int, uid: str, viewer: str) -> None:
        """A viewer fetched the stream; the room hears when the count changes."""
        self.viewers.setdefault(uid, {})[viewer[:64]] = time.monotonic()
        count = self.viewer_count(uid)
        if self._announced_viewers.get(uid) != count:
            self._announced_viewers[uid] = count
            await self._announce(room_id)

    def viewer_count(self, uid: str) -> int:
        seen = self.viewers.get(uid, {})
        cutoff = time.monotonic() - VIEWER_WINDOW
        for viewer in [v for v, at in seen.items() if at < cutoff]:
            del seen[viewer]
        return len(seen)
