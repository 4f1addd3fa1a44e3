"""A media node: the process that terminates MCU rooms' peer connections.

``podium media`` runs one standalone; ``podium serve`` starts one beside the web
process. Core talks to it through the control WebSocket (``media/control.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from podium.media import control
from podium.media.outputs import NodeOutputs
from podium.media.registry import NodeRecord, Registration
from podium.media.session import MediaError, RoomEvents, RoomSession

__all__ = ["Advertise", "MediaNode", "run"]

log = logging.getLogger(__name__)
LOAD_EVERY = 5.0
#: Largest control message: a content image (``room.content``) travels base64 in JSON.
CONTROL_MAX_BYTES = 2 * 1024 * 1024


class MediaNode:
    """Rooms by key, and the control connections that drive them."""

    def __init__(self) -> None:
        self.rooms: dict[str, RoomSession] = {}
        #: The control connection that last touched each room receives its events.
        self.owners: dict[str, ServerConnection] = {}
        self.connections: set[ServerConnection] = set()
        self._cpu = (time.process_time(), time.monotonic())
        #: Recordings, HLS and RTMP outputs, by room.
        self.outputs = NodeOutputs(self._emit_output)
        #: Draining: rooms it holds go on, new rooms are refused (``node_draining``).
        self.draining = False

    # ---- control connections --------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        self.connections.add(ws)
        try:
            async for raw in ws:
                await self._dispatch(ws, raw)
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(ws)

    async def _dispatch(self, ws: ServerConnection, raw: str | bytes) -> None:
        try:
            request = control.decode_from_core(raw)
        except msgspec.MsgspecError as exc:
            log.warning("bad control message: %s", exc)
            with contextlib.suppress(msgspec.MsgspecError):
                ident = msgspec.json.decode(raw).get("id")
                if isinstance(ident, int):
                    await ws.send(
                        control.encode(control.Fail(id=ident, code="invalid_request", message=str(exc)))
                    )
            return
        # Each request runs on its own task: a slow SDP exchange must not hold up the others.
        asyncio.get_running_loop().create_task(self._answer(ws, request))

    async def _answer(self, ws: ServerConnection, request: control.ControlRequest) -> None:
        try:
            reply: control.Ok | control.Fail = await self._serve(ws, request)
        except MediaError as exc:
            reply = control.Fail(id=request.id, code=exc.code, message=exc.message)
        except Exception as exc:
            log.exception("control request %s failed", type(request).__name__)
            reply = control.Fail(id=request.id, code="internal_error", message=str(exc))
        with contextlib.suppress(ConnectionClosed):
            await ws.send(control.encode(reply))

    async def _serve(self, ws: ServerConnection, request: control.ControlRequest) -> control.Ok:
        if isinstance(request, control.OpenRoom):
            self._open(ws, request)
            return control.Ok(id=request.id)
        if isinstance(request, control.NodeStats):
            totals: dict[str, float] = {"rooms": len(self.rooms)}
            for each in list(self.rooms.values()):
                for name, value in (await each.counters()).items():
                    totals[name] = totals.get(name, 0) + value
            totals["participants"] = sum(len(r.participants) for r in self.rooms.values())
            return control.Ok(id=request.id, stats=totals, room_stats=self.room_stats())
        room = self.rooms.get(request.room)
        if room is None and self.draining and isinstance(request, control.ConnectParticipant):
            raise MediaError("node_draining", "this media node is shutting down; place the room elsewhere")
        if isinstance(request, control.CloseRoom):
            if room is not None:
                await self.outputs.close_room(request.room)
                del self.rooms[request.room]
                self.owners.pop(request.room, None)
                await room.close()
            return control.Ok(id=request.id)
        if isinstance(request, control.StartOutput):
            # A p2p room's recording opens a session that composites for the outputs alone.
            room = room or self._open(ws, control.OpenRoom(id=request.id, room=request.room))
            self.outputs.start(room, request)
            self.owners[request.room] = ws
            return control.Ok(id=request.id)
        if isinstance(request, control.StopOutput):
            return control.Ok(id=request.id, stats=await self.outputs.stop(request.room, request.output))
        if isinstance(request, control.ConnectParticipant):
            room = room or self._open(ws, control.OpenRoom(id=request.id, room=request.room))
            self.owners[request.room] = ws
            sdp = await room.connect(
                request.participant_id,
                request.name,
                request.sdp,
                audio_muted=request.audio_muted,
                video_muted=request.video_muted,
                screen_sharing=request.screen_sharing,
                max_height=request.max_height,
                publish=request.publish,
            )
            return control.Ok(id=request.id, sdp=sdp)
        if room is None:
            raise MediaError("room_not_found", "no media session for this room on this node")
        self.owners[request.room] = ws
        if isinstance(request, control.DisconnectParticipant):
            await room.disconnect(request.participant_id)
        elif isinstance(request, control.UpdateParticipant):
            room.update(
                request.participant_id,
                name=request.name,
                audio_muted=request.audio_muted,
                video_muted=request.video_muted,
                screen_sharing=request.screen_sharing,
                max_height=request.max_height,
                publish=request.publish,
            )
        elif isinstance(request, control.SetLayout):
            room.set_layout(request.layout, request.pinned)
        elif isinstance(request, control.SetContent):
            await room.set_content(request.image)
        return control.Ok(id=request.id)

    def _open(self, ws: ServerConnection, request: control.OpenRoom) -> RoomSession:
        key = request.room
        self.owners[key] = ws
        room = self.rooms.get(key)
        if room is None:
            events = self._events_for(key)
            room = RoomSession(
                key,
                events,
                layout=request.layout,
                naive=request.naive,
                pause_hidden=request.pause_hidden,
                shared_packing=request.shared_packing,
            )
            self.rooms[key] = room
            room.start()
            asyncio.get_running_loop().create_task(self._send(ws, control.Opened(room=key)))
        return room

    def _events_for(self, key: str) -> RoomEvents:
        def emit(event: Any) -> None:
            owner = self.owners.get(key)
            if owner is not None:
                asyncio.get_running_loop().create_task(self._send(owner, event))

        return RoomEvents(
            speaker=lambda pid: emit(control.Speaker(room=key, participant_id=pid)),
            visible=lambda pid, shown: emit(control.Visible(room=key, participant_id=pid, video=shown)),
            gone=lambda pid, reason: emit(control.Gone(room=key, participant_id=pid, reason=reason)),
        )

    def _emit_output(self, key: str, status: control.OutputStatus) -> None:
        owner = self.owners.get(key)
        if owner is not None:
            asyncio.get_running_loop().create_task(self._send(owner, status))

    @staticmethod
    async def _send(ws: ServerConnection, event: Any) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(control.encode(event))

    # ---- load reports ---------------------------------------------------------------------------------

    def load(self) -> control.Load:
        cpu, wall = time.process_time(), time.monotonic()
        busy = (cpu - self._cpu[0]) / max(1e-6, wall - self._cpu[1])
        self._cpu = (cpu, wall)
        return control.Load(
            rooms=len(self.rooms),
            participants=sum(len(r.participants) for r in self.rooms.values()),
            cpu_percent=round(busy * 100, 1),
        )

    async def report_load(self) -> None:
        while True:
            await asyncio.sleep(LOAD_EVERY)
            message = control.encode(self.load())
            for ws in list(self.connections):
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(message)

    async def record(self, url: str, capacity: int) -> NodeRecord:
        """This node's registry record: load, rooms and cumulative counters."""
        load = self.load()
        stats: dict[str, float] = {}
        for each in list(self.rooms.values()):
            for name, value in (await each.counters()).items():
                stats[name] = stats.get(name, 0) + value
        # Live video encoders: one per quality tier per room (encode once, fan out).
        stats["encoders"] = sum(len(each.encoders) for each in self.rooms.values())
        return NodeRecord(
            url=url,
            capacity=capacity,
            rooms=load.rooms,
            participants=load.participants,
            cpu_percent=load.cpu_percent,
            draining=self.draining,
            room_keys=sorted(self.rooms),
            stats=stats,
            room_stats=self.room_stats(),
            pid=os.getpid(),
        )

    def room_stats(self) -> dict[str, dict[str, float]]:
        """Each room's network counters (losses, NACKs, PLIs, keyframes, tier changes)."""
        return {key: room.network_counters() for key, room in list(self.rooms.items())}

    def idle(self) -> bool:
        """No participant is connected in any room (a draining node may exit)."""
        return not any(r.participants for r in self.rooms.values())

    async def close(self) -> None:
        for key in list(self.rooms):
            await self.outputs.close_room(key)
            await self.rooms.pop(key).close()


class Advertise(msgspec.Struct, kw_only=True, frozen=True):
    """How a standalone node registers in Redis (``podium media --advertise``)."""

    url: str
    redis_url: str
    prefix: str = "podium"
    capacity: int = 100
    heartbeat: float = 2.0
    ttl: float = 6.0
    #: A draining node (first SIGTERM) exits when its rooms are empty or after this many seconds.
    drain_timeout: float = 600.0


async def _drain(node: MediaNode, registration: Registration | None, advertise: Advertise) -> None:
    """Take no new rooms; wait until the rooms in progress are over, or the deadline."""
    node.draining = True
    if registration is not None:
        # Tell the web nodes now rather than at the next beat.
        with contextlib.suppress(Exception):
            await registration.beat(await node.record(advertise.url, advertise.capacity))
    deadline = advertise.drain_timeout
    log.info("media node draining: %d rooms, waiting up to %.0fs", len(node.rooms), deadline)
    ends = time.monotonic() + deadline
    while not node.idle() and time.monotonic() < ends:  # noqa: ASYNC110 (participants leave on their own)
        await asyncio.sleep(0.5)


async def run(
    host: str, port: int, ready: asyncio.Event | None = None, advertise: Advertise | None = None
) -> None:
    """Serve the control endpoint at ``ws://host:port/`` until SIGTERM/SIGINT.

    With ``advertise`` the node registers in Redis, and the first SIGTERM drains it (no new
    rooms; exit when its rooms are empty or ``drain_timeout`` passes); a second one stops it now.
    """
    node = MediaNode()
    stop = asyncio.Event()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    registration: Registration | None = None
    redis: Any = None
    if advertise is not None:
        from redis.asyncio import Redis

        redis = Redis.from_url(advertise.redis_url, socket_timeout=2, socket_connect_timeout=2)
        registration = Registration(
            redis, advertise.prefix, advertise.url, every=advertise.heartbeat, ttl=advertise.ttl
        )
    server: Server
    async with serve(node.handle, host, port, max_size=CONTROL_MAX_BYTES) as server:
        reporter = loop.create_task(node.report_load())
        beating: asyncio.Task[None] | None = None
        if registration is not None and advertise is not None:
            capacity = advertise.capacity
            beating = loop.create_task(registration.run(lambda: node.record(advertise.url, capacity)))
        log.info("media node %d listening on ws://%s:%d", os.getpid(), host, port)
        if ready is not None:
            ready.set()
        await stop.wait()
        if advertise is not None and signals == 1 and node.rooms:
            stop.clear()
            draining = loop.create_task(_drain(node, registration, advertise))
            await asyncio.wait([draining, loop.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
            draining.cancel()
        if beating is not None:
            beating.cancel()
        if registration is not None:
            await registration.withdraw()
            await redis.aclose()
        reporter.cancel()
        server.close()
        await node.close()
