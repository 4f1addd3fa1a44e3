"""A webinar's overflow audience: attendees past the interactive seats watch the room's HLS stream.

WebRTC seats are what the MCU fans out to (``max_participants``, at most 100). A webinar
takes attendees beyond them as *viewers*: they keep the room's WebSocket (chat, Q&A, polls,
reactions, raising a hand all work as for anyone) and play the room's live stream instead
of a peer connection. The first viewer starts the stream if it is not live yet; each gets a
viewer token of their own in ``welcome.watch``.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

from podium.core.auth import tokens
from podium.core.auth.keys import SecretBox
from podium.core.db.tables import RoomOutput
from podium.core.errors import PodiumError
from podium.core.outputs import Outputs
from podium.core.outputs.service import ACTIVE
from podium.core.realtime.connection import Connection
from podium.core.realtime.protocol import WatchInfo
from podium.core.rooms import RoomInfo
from podium.core.settings import Settings
from podium.core.tenants import newest_key, tenant_ref

__all__ = ["VIEWER_TOKEN_TTL", "Overflow"]

log = logging.getLogger(__name__)
#: A viewer's token must outlast a long webinar; it opens the room's stream and nothing else.
VIEWER_TOKEN_TTL = 12 * 3600
#: Who started the stream, as recordings and webhooks show it.
STARTED_BY = "webinar overflow"


class Overflow:
    """Watch links for a webinar's HLS viewers."""

    def __init__(self, settings: Settings, outputs: Outputs, box: SecretBox) -> None:
        self.settings = settings
        self.outputs = outputs
        self.box = box

    async def watch(self, conn: Connection) -> WatchInfo | None:
        """``welcome.watch`` for ``conn``: its stream and a viewer token, if it is a viewer."""
        if not conn.me.viewer:
            return None
        try:
            stream = await self._live_stream(conn.room)
            key_id, secret = await newest_key(await tenant_ref(conn.room.tenant), self.box)
        except PodiumError as exc:
            # The viewer is in (chat, Q&A, hands work); their page says the stream is unavailable.
            log.warning("room %s: no live stream for overflow viewers: %s", conn.room.id, exc.message)
            return None
        token = tokens.mint(
            key_id=key_id,
            secret=secret,
            identity=conn.me.identity,
            room=conn.room.slug,
            role=tokens.VIEWER,
            name=conn.me.name,
            ttl=min(VIEWER_TOKEN_TTL, self.settings.token_max_ttl),
            now=time.time(),
        )
        tenant = quote(conn.room.tenant, safe="")
        return WatchInfo(stream=stream, playlist=f"/watch/{tenant}/{stream}/index.m3u8?token={token}")

    async def _live_stream(self, room: RoomInfo) -> str:
        """The room's live HLS stream, started now if it is not running."""
        for attempt in range(2):
            running = await self._running(room)
            if running is not None:
                return running
            try:
                return (await self.outputs.start_stream(room, STARTED_BY, public=False)).id
            except PodiumError as exc:
                if exc.code != "stream_running" or attempt:  # another viewer started it first
                    raise
        raise PodiumError("stream_not_running", "the live stream could not be started", 503)

    @staticmethod
    async def _running(room: RoomInfo) -> str | None:
        row = (
            await RoomOutput.select(RoomOutput.uid)
            .where(
                (RoomOutput.room == room.id)
                & (RoomOutput.kind == "hls")
                & RoomOutput.state.is_in(list(ACTIVE))
            )
            .first()
        )
        return None if row is None else str(row["uid"])
