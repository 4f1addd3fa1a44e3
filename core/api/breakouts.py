"""``/api/v1/rooms/{slug}/breakouts``: open, follow, reassign, message and close a room's breakouts
from the tenant's server, as a host does from the room."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from msgspec import Meta

from podium.core import rooms
from podium.core.api.openapi import errors
from podium.core.breakouts.messages import BreakoutsInfo, BreakoutsSpec, Number, ParticipantId, Text
from podium.core.errors import PodiumError
from podium.core.services import Services
from podium.core.tenants import Caller

__all__ = ["BreakoutController"]


class BreakoutAssignment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Move ``participant_id`` to breakout ``breakout`` (0: the main room)."""

    participant_id: ParticipantId
    breakout: Number


class BreakoutBroadcast(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Text
    #: Shown as the sender; "the host" when omitted.
    by: Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")] | None = None


class BreakoutsClosed(msgspec.Struct, frozen=True, kw_only=True):
    closed: bool


async def _main_room(caller: Caller, slug: str) -> rooms.RoomInfo:
    room = await rooms.get_room(caller.tenant, slug)
    if room.parent is not None:
        raise PodiumError("breakout_room", "this is a breakout room; use its main room", status=409)
    return room


class BreakoutController(Controller):
    path = "/rooms/{slug:str}/breakouts"
    tags = ["breakouts"]

    @get("/", responses=errors(409))
    async def get_breakouts(self, caller: Caller, slug: str, services: Services) -> BreakoutsInfo:
        """The room's open breakouts with who is in each (``breakouts_not_open`` when there are none)."""
        state = await services.breakouts.state(await _main_room(caller, slug))
        if state is None:
            raise PodiumError("breakouts_not_open", "this room has no open breakouts", status=409)
        return state

    @post("/", status_code=201, responses=errors(409, 422))
    async def open_breakouts(
        self, caller: Caller, slug: str, data: BreakoutsSpec, services: Services
    ) -> BreakoutsInfo:
        """Open breakouts and send the room's people into them (``breakouts_open`` if they are)."""
        return await services.breakouts.open(await _main_room(caller, slug), data, None)

    @post("/assign", status_code=200, responses=errors(409))
    async def assign(
        self, caller: Caller, slug: str, data: BreakoutAssignment, services: Services
    ) -> BreakoutsInfo:
        """Move one participant to a breakout or back to the main room."""
        room = await _main_room(caller, slug)
        await services.breakouts.assign(room, data.participant_id, data.breakout, None)
        state = await services.breakouts.state(room)
        assert state is not None
        return state

    @post("/broadcast", status_code=202, responses=errors(409))
    async def broadcast(self, caller: Caller, slug: str, data: BreakoutBroadcast, services: Services) -> None:
        """A message to everyone in the main room and every breakout."""
        await services.breakouts.broadcast(await _main_room(caller, slug), data.text, None, data.by)

    @post("/close", status_code=200, responses=errors(409))
    async def close(self, caller: Caller, slug: str, services: Services) -> BreakoutsClosed:
        """Close the breakouts: everyone comes back to the main room."""
        await services.breakouts.close(await _main_room(caller, slug), None)
        return BreakoutsClosed(closed=True)
