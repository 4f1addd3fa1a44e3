"""Which way a room's media flows, and core's part in MCU rooms.

An ``auto`` room starts peer-to-peer; when the 7th person is in it moves to the
MCU, and when it shrinks to 4 it moves back (the gap keeps a room hovering
around the limit from flapping). The switch is a ``media.mode`` event: clients
tear down one kind of connection and build the other without leaving the room.
In MCU mode this module relays offers to the media node and turns the node's
events into room events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from podium.core.errors import PodiumError
from podium.core.media_client import MediaClient
from podium.core.media_pool import MediaPool
from podium.core.presence import Presence
from podium.core.realtime.connection import Connection
from podium.core.realtime.hub import Hub
from podium.core.realtime.protocol import (
    MediaAnswer,
    MediaFailed,
    MediaModeChanged,
    MediaSpeaker,
    MediaVisible,
)
from podium.core.rooms import P2P_LIMIT, RoomInfo, live_media, set_live_media
from podium.core.settings import Settings
from podium.media import control

__all__ = ["BACK_TO_P2P_AT", "MediaRouting"]

log = logging.getLogger(__name__)
Mode = Literal["p2p", "mcu"]
#: An auto room in the MCU goes back to peer-to-peer at this many participants.
BACK_TO_P2P_AT = 4


def next_mode(current: Mode, participants: int) -> Mode:
    """The hysteresis rule for ``auto`` rooms."""
    if current == "p2p" and participants > P2P_LIMIT:
        return "mcu"
    if current == "mcu" and participants <= BACK_TO_P2P_AT:
        return "p2p"
    return current


class MediaRouting:
    """Media mode per room, and the MCU relay."""

    def __init__(
        self, settings: Settings, presence: Presence, hub: Hub, media: MediaClient | MediaPool | None
    ) -> None:
        self.settings = settings
        self.presence = presence
        self.hub = hub
        self.media = media
        self._background: set[asyncio.Task[None]] = set()
        #: Set by the outputs feature: whether a recording or stream holds the room in the MCU,
        #: and where the node's output events and lost outputs go.
        self.holds_mcu: Callable[[int], Awaitable[bool]] | None = None
        self.on_output: Callable[[control.OutputStatus], Awaitable[None]] | None = None
        self.on_outputs_lost: Callable[[set[int]], Awaitable[None]] | None = None
        #: A media node opened a fresh session for the room (by id): plugins re-apply layout and content.
        self.on_opened: Callable[[int], Awaitable[None]] | None = None

    def key(self, room_id: int) -> str:
        """The room's name on media nodes (deployments sharing a node stay apart)."""
        return f"{self.settings.redis_prefix}:{room_id}"

    def room_id_of(self, key: str) -> int | None:
        prefix, _, ident = key.rpartition(":")
        return int(ident) if prefix == self.settings.redis_prefix and ident.isdigit() else None

    async def mode(self, room: RoomInfo) -> Mode:
        if room.webinar:
            return "mcu"  # one composite for the whole audience, whatever the head count
        if room.media_mode in ("auto", "p2p"):
            # A p2p room's live media is "mcu" only while a recording or stream needs the composite.
            return await live_media(room.id)
        return "mcu" if room.media_mode == "mcu" else "p2p"

    async def reconsider(self, room: RoomInfo) -> None:
        """After a join or a leave: move an auto room across the thresholds."""
        if room.media_mode != "auto" or room.webinar:
            return
        async with self.presence.room_lock(room.id):
            current = await live_media(room.id)
            wanted = next_mode(current, await self.presence.count_joined(room.id))
            if wanted == current:
                return
            if wanted == "p2p" and self.holds_mcu is not None and await self.holds_mcu(room.id):
                return
            await set_live_media(room.id, wanted)
        log.info("room %s: media %s → %s", room.id, current, wanted)
        await self.hub.publish(room.id, MediaModeChanged(mode=wanted))
        if wanted == "p2p" and self.media is not None:
            self._later(self.media.close_room(self.key(room.id)))

    async def announce_mode(self, room: RoomInfo, mode: Mode) -> None:
        """Tell the room its media now flows ``mode`` (the live mode is already stored)."""
        log.info("room %s: media → %s", room.id, mode)
        await self.hub.publish(room.id, MediaModeChanged(mode=mode))

    async def outputs_ended(self, room: RoomInfo) -> None:
        """The last recording or stream stopped: the room's own rule decides its media again."""
        if room.media_mode == "mcu" or room.webinar:
            return
        async with self.presence.room_lock(room.id):
            current = await live_media(room.id)
            count = await self.presence.count_joined(room.id)
            wanted: Mode = "mcu" if room.media_mode == "auto" and count > P2P_LIMIT else "p2p"
            if wanted == current:
                return
            await set_live_media(room.id, wanted)
        await self.announce_mode(room, wanted)
        if wanted == "p2p" and self.media is not None:
            self._later(self.media.close_room(self.key(room.id)))

    async def offer(self, conn: Connection, sdp: str, max_height: int | None = None) -> None:
        """Relay a participant's MCU offer; the answer goes back to that socket alone."""
        if await self.mode(conn.room) != "mcu":
            raise PodiumError("not_mcu", "this room's media is peer-to-peer now; use rtc.signal")
        limit = self.settings.max_sdp_bytes
        if len(sdp.encode()) > limit:
            raise PodiumError(
                "sdp_too_large", f"session descriptions are limited to {limit} bytes", status=413
            )
        if self.media is None:
            raise PodiumError(
                "media_unavailable", "this server has no media node for large rooms", status=503
            )
        # Whether they may publish is the room's word, read now (another node may have just put
        # them on or off stage): the node decodes nothing of someone off stage.
        publish = await self.on_stage(conn)
        answer = await self.media.connect(
            self.key(conn.room.id),
            conn.id,
            conn.me.name,
            sdp,
            audio_muted=conn.me.audio_muted,
            video_muted=conn.me.video_muted,
            screen_sharing=conn.me.screen_sharing,
            max_height=max_height,
            publish=publish,
        )
        if not publish and await self.on_stage(conn):
            # Put on stage while the node answered: the client offers again once it publishes.
            await self.media.update(self.key(conn.room.id), conn.id, publish=True)
        elif publish and not await self.on_stage(conn):
            # Taken off stage meanwhile: the node must not decode what this offer sends.
            await self.media.update(self.key(conn.room.id), conn.id, publish=False)
        conn.send(MediaAnswer(sdp=answer))

    async def on_stage(self, conn: Connection) -> bool:
        """Whether ``conn``'s participant may publish now (always, outside webinars); a webinar's
        overflow viewer has no WebRTC seat at all (``viewer_only``)."""
        if not conn.room.webinar:
            return True
        found = await self.presence.find(conn.room.id, conn.id)
        if found is not None and found[0].viewer:
            raise PodiumError(
                "viewer_only", "you watch this webinar's live stream; a host can invite you on stage", 403
            )
        return found is not None and found[0].on_stage

    def stage_changed(self, room: RoomInfo, participant_id: str, on_stage: bool) -> None:
        """Tell the media node at once: off stage, their uplink stops being decoded now."""
        if self.media is not None and self.media.connected and self.key(room.id) in self.media.rooms:
            self._later(self.media.update(self.key(room.id), participant_id, publish=on_stage))

    async def receive(self, conn: Connection, max_height: int) -> None:
        """A participant's player changed size: the node picks its composite tier again."""
        room = self.key(conn.room.id)
        if self.media is not None and self.media.connected and room in self.media.rooms:
            await self.media.update(room, conn.id, max_height=max_height)

    def ended(self, room: RoomInfo) -> None:
        if self.media is not None and self.key(room.id) in self.media.rooms:
            self._later(self.media.close_room(self.key(room.id)))

    def left(self, conn: Connection) -> None:
        if self.media is not None and self.media.connected:
            self._later(self.media.disconnect(self.key(conn.room.id), conn.id))

    def updated(self, conn: Connection) -> None:
        if self.media is not None and self.media.connected and self.key(conn.room.id) in self.media.rooms:
            me = conn.me
            self._later(
                self.media.update(
                    self.key(conn.room.id),
                    conn.id,
                    name=me.name,
                    audio_muted=me.audio_muted,
                    video_muted=me.video_muted,
                    screen_sharing=me.screen_sharing,
                )
            )

    # ---- from the media node --------------------------------------------------------------------------

    async def on_event(self, event: control.ControlEvent) -> None:
        if isinstance(event, control.OutputStatus):
            if self.on_output is not None:
                await self.on_output(event)
            return
        if not isinstance(event, control.Speaker | control.Visible | control.Gone | control.Opened):
            return
        room_id = self.room_id_of(event.room)
        if room_id is None:
            return
        if isinstance(event, control.Opened):
            if self.on_opened is not None:
                await self.on_opened(room_id)
        elif isinstance(event, control.Speaker):
            await self.hub.publish(room_id, MediaSpeaker(participant_id=event.participant_id))
        elif isinstance(event, control.Visible):
            await self.hub.publish(
                room_id, MediaVisible(video=event.video), audience="none", targets=[event.participant_id]
            )
        else:
            failed = MediaFailed(code="media_lost", message=f"media connection ended: {event.reason}")
            await self.hub.publish(room_id, failed, audience="none", targets=[event.participant_id])

    async def on_restart(self, rooms: set[str]) -> None:
        """The media node came back empty: everyone in those rooms offers again."""
        if self.on_outputs_lost is not None:
            lost = {self.room_id_of(key) for key in rooms}
            await self.on_outputs_lost({ident for ident in lost if ident is not None})
        for key in rooms:
            room_id = self.room_id_of(key)
            if room_id is not None:
                failed = MediaFailed(
                    code="media_restarted", message="the media server restarted; reconnecting"
                )
                await self.hub.publish(room_id, failed)

    def _later(self, work: object) -> None:
        async def run() -> None:
            with contextlib.suppress(PodiumError):
                await work  # type: ignore[misc]

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
