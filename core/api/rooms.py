"""``/api/v1/rooms``: create, list, read, update and delete the tenant's rooms."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from podium.core import rooms
from podium.core.api.openapi import errors
from podium.core.auth.throttle import rate_limited
from podium.core.rooms import RoomCreate, RoomInfo, RoomUpdate
from podium.core.services import Services
from podium.core.tenants import Caller

__all__ = ["RoomController"]


class RoomPage(msgspec.Struct, frozen=True):
    rooms: list[RoomInfo]
    #: Pass as ``after`` to get the next page; null on the last page.
    next: str | None


class RoomController(Controller):
    path = "/rooms"
    tags = ["rooms"]

    @get("/")
    async def list_rooms(
        self,
        caller: Caller,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        after: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> RoomPage:
        """The tenant's rooms by slug, a page at a time."""
        page = await rooms.list_rooms(caller.tenant, limit=limit, after=after)
        return RoomPage(rooms=page, next=page[-1].slug if len(page) == limit else None)

    @post("/", responses=errors(409))
    async def create_room(self, caller: Caller, data: RoomCreate, services: Services) -> RoomInfo:
        """Create a room; its slug is unique within the tenant (``rate_limited`` past the tenant's rate)."""
        wait = await services.throttle.hit("rooms", str(caller.tenant.id), services.settings.rooms_per_minute)
        if wait is not None:
            raise rate_limited(wait, "rooms created")
        room = await rooms.create_room(caller.tenant, data)
        services.plugins.room_created(room)
        return room

    @get("/{slug:str}")
    async def get_room(self, caller: Caller, slug: str) -> RoomInfo:
        return await rooms.get_room(caller.tenant, slug)

    @patch("/{slug:str}")
    async def update_room(self, caller: Caller, slug: str, data: RoomUpdate) -> RoomInfo:
        """Change a room's settings; participants already inside stay."""
        return await rooms.update_room(caller.tenant, slug, data)

    @delete("/{slug:str}")
    async def delete_room(self, caller: Caller, slug: str, services: Services) -> None:
        """End the room if anyone is inside, then delete it with its history."""
        room = await rooms.get_room(caller.tenant, slug)
        await services.actions.end(room, None)
        await rooms.delete_room(caller.tenant, slug)
