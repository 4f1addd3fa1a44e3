"""``/api/v1/rooms/{slug}/…``: a webinar's stage and everyone's raised hands, from the tenant's
server, as a host does from the room (``participant.stage``, ``participant.lower_hand``)."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, post

from podium.core import rooms
from podium.core.api.openapi import errors
from podium.core.realtime.protocol import ParticipantInfo
from podium.core.services import Services
from podium.core.tenants import Caller

__all__ = ["StageController"]


class StageChange(msgspec.Struct, forbid_unknown_fields=True):
    """``true``: on stage (may publish; their hand goes down); ``false``: view-only again."""

    on_stage: bool


class StageController(Controller):
    path = "/rooms/{slug:str}"
    tags = ["participants"]

    @post("/participants/{participant_id:str}/stage", status_code=200, responses=errors(409))
    async def set_stage(
        self, caller: Caller, slug: str, participant_id: str, data: StageChange, services: Services
    ) -> ParticipantInfo:
        """Webinars: put a participant on stage or take them off it; answers the participant as
        the room now sees them. ``not_webinar`` (409) in other rooms; ``room_full`` (409) for an
        HLS viewer while every interactive seat is taken."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.stage.set_stage(room, participant_id, data.on_stage, None)

    @delete("/participants/{participant_id:str}/hand", status_code=204)
    async def lower_hand(self, caller: Caller, slug: str, participant_id: str, services: Services) -> None:
        """Lower a participant's raised hand (nothing happens if it is down)."""
        room = await rooms.get_room(caller.tenant, slug)
        await services.stage.lower_hand(room, participant_id)

    @get("/hands")
    async def hands(self, caller: Caller, slug: str, services: Services) -> list[ParticipantInfo]:
        """Who has a hand up now, first raised first."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.stage.hands(room)
