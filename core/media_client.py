"""Core's side of the media control interface: requests to a media node, events back.

One ``MediaClient`` per web node holds a WebSocket to the media node
(``media/control.py``), reconnecting with back-off. When the connection comes
back after a loss, the rooms it carried are reported through ``on_restart`` so
their participants can offer again (a fresh node has no sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from podium.core.errors import PodiumError
from podium.media import control

__all__ = ["MediaClient"]

log = logging.getLogger(__name__)
REQUEST_TIMEOUT = 15.0

EventHandler = Callable[[control.ControlEvent], Awaitable[None]]


class MediaClient:
    """Talks to one media node at ``url`` (``ws://host:port``)."""

    def __init__(
        self, url: str, on_event: EventHandler, on_restart: Callable[[set[str]], Awaitable[None]]
    ) -> None:
        self.url = url
        self._on_event = on_event
        self._on_restart = on_restart
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[control.Ok]] = {}
        self._task: asyncio.Task[None] | None = None
        #: Rooms this web node has opened on the node; reported when the node comes back empty.
        self.rooms: set[str] = set()
        self.load: control.Load | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="media-client")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def _run(self) -> None:
        delay = 0.2
        lost = False
        while True:
            try:
                async with connect(self.url, max_size=256 * 1024, open_timeout=5) as ws:
                    self._ws = ws
                    self._connected.set()
                    delay = 0.2
                    if lost and self.rooms:
                        rooms, self.rooms = set(self.rooms), set()
                        await self._on_restart(rooms)
                    lost = False
                    async for raw in ws:
                        await self._receive(raw)
            except (OSError, ConnectionClosed, TimeoutError) as exc:
                if self._connected.is_set():
                    log.warning("media node %s connection lost: %s", self.url, exc)
                    lost = True
            finally:
                self._ws = None
                self._connected.clear()
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(
                            PodiumError("media_unavailable", "the media server went away", 503)
                        )
                self._pending.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _receive(self, raw: str | bytes) -> None:
        try:
            event = control.decode_from_node(raw)
        except msgspec.MsgspecError:
            log.warning("bad message from media node: %r", raw[:200])
            return
        if isinstance(event, control.Ok | control.Fail):
            future = self._pending.pop(event.id, None)
            if future is None or future.done():
                return
            if isinstance(event, control.Ok):
                future.set_result(event)
            else:
                status = 400 if event.code in ("invalid_sdp", "unknown_layout") else 503
                status = {"output_exists": 409, "output_not_found": 409}.get(event.code, status)
                future.set_exception(PodiumError(event.code, event.message, status))
        elif isinstance(event, control.Load):
            self.load = event
        else:
            try:
                await self._on_event(event)
            except Exception:
                log.exception("media event %s could not be handled", type(event).__name__)

    async def request(self, build: Callable[[int], Any]) -> control.Ok:
        """Send ``build(id)`` and wait for its ``ok``; a ``fail`` raises ``PodiumError``."""
        try:
            await asyncio.wait_for(self._connected.wait(), REQUEST_TIMEOUT / 3)
        except TimeoutError as exc:
            raise PodiumError("media_unavailable", "the media server is not reachable", 503) from exc
        ws = self._ws
        assert ws is not None
        ident = next(self._ids)
        future: asyncio.Future[control.Ok] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        message = build(ident)
        try:
            await ws.send(control.encode(message))
            return await asyncio.wait_for(future, REQUEST_TIMEOUT)
        except ConnectionClosed as exc:
            raise PodiumError("media_unavailable", "the media server went away", 503) from exc
        except TimeoutError as exc:
            raise PodiumError("media_timeout", "the media server did not answer in time", 504) from exc
        finally:
            self._pending.pop(ident, None)

    # ---- the operations core uses ---------------------------------------------------------------------

    async def connect(
        self,
        room: str,
        participant_id: str,
        name: str,
        sdp: str,
        *,
        audio_muted: bool,
        video_muted: bool,
        screen_sharing: bool = False,
        max_height: int | None = None,
        publish: bool = True,
    ) -> str:
        self.rooms.add(room)
        ok = await self.request(
            lambda i: control.ConnectParticipant(
                id=i,
                room=room,
                participant_id=participant_id,
                name=name,
                sdp=sdp,
                audio_muted=audio_muted,
                video_muted=video_muted,
                screen_sharing=screen_sharing,
                max_height=max_height,
                publish=publish,
            )
        )
        assert ok.sdp is not None
        return ok.sdp

    async def disconnect(self, room: str, participant_id: str) -> None:
        await self.request(
            lambda i: control.DisconnectParticipant(id=i, room=room, participant_id=participant_id)
        )

    async def update(self, room: str, participant_id: str, **values: Any) -> None:
        await self.request(
            lambda i: control.UpdateParticipant(id=i, room=room, participant_id=participant_id, **values)
        )

    async def close_room(self, room: str) -> None:
        self.rooms.discard(room)
        await self.request(lambda i: control.CloseRoom(id=i, room=room))

    async def set_layout(self, room: str, layout: str, pinned: list[str]) -> None:
        await self.request(lambda i: control.SetLayout(id=i, room=room, layout=layout, pinned=pinned))

    async def set_content(self, room: str, image: bytes | None) -> None:
        await self.request(lambda i: control.SetContent(id=i, room=room, image=image))

    async def start_output(self, room: str, output: str, kind: str, target: str) -> None:
        """Start a recording (``target``: file), the HLS output (directory) or an RTMP push (URL)."""
        self.rooms.add(room)
        await self.request(
            lambda i: control.StartOutput(id=i, room=room, output=output, kind=kind, target=target)  # type: ignore[arg-type]
        )

    async def stop_output(self, room: str, output: str) -> dict[str, float]:
        """Stop an output; for a recording, once its file is finished (``seconds``, ``bytes``)."""
        ok = await self.request(lambda i: control.StopOutput(id=i, room=room, output=output))
        return ok.stats or {}
