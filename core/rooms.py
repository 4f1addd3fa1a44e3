"""Rooms: settings, validation and CRUD, always scoped to one tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType
from piccolo.custom_types import Combinable

from podium.core.db.tables import Room
from podium.core.errors import PodiumError
from podium.core.tenants import TenantRef, utcnow

__all__ = [
    "MAX_PARTICIPANTS",
    "P2P_LIMIT",
    "MediaMode",
    "RoomCreate",
    "RoomInfo",
    "RoomUpdate",
    "create_room",
    "delete_room",
    "get_room",
    "list_rooms",
    "live_media",
    "set_live_media",
    "update_room",
]

#: The largest room Podium hosts (through the MCU).
MAX_PARTICIPANTS = 100
#: Rooms in ``auto`` mode stay peer-to-peer up to this many participants.
P2P_LIMIT = 6

MediaMode = Literal["auto", "p2p", "mcu"]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Capacity = Annotated[int, Meta(ge=1, le=MAX_PARTICIPANTS)]


class RoomCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/rooms``."""

    slug: Slug
    name: Name
    max_participants: Capacity = MAX_PARTICIPANTS
    media_mode: MediaMode = "auto"
    lobby: bool = False
    recording_allowed: bool = True
    #: Webinar: attendees watch and listen off stage (view-only) until a host puts them on it;
    #: media always runs through the MCU, and attendees past ``max_participants`` watch over HLS.
    webinar: bool = False


class RoomUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``PATCH /api/v1/rooms/{slug}``: only the fields given change."""

    name: Name | UnsetType = UNSET
    max_participants: Capacity | UnsetType = UNSET
    media_mode: MediaMode | UnsetType = UNSET
    lobby: bool | UnsetType = UNSET
    recording_allowed: bool | UnsetType = UNSET
    webinar: bool | UnsetType = UNSET


class RoomInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A room as the API and the realtime ``welcome`` show it."""

    id: int
    tenant: str
    slug: str
    name: str
    max_participants: int
    media_mode: MediaMode
    lobby: bool
    recording_allowed: bool
    created_at: datetime
    ended_at: datetime | None = None
    #: Webinar: attendees join off stage (view-only); see docs/web-client.md#webinars.
    webinar: bool = False
    #: A breakout room's main room (its id); ``None`` for rooms made through the API.
    parent: int | None = None


_COLUMNS = (
    Room.id,
    Room.slug,
    Room.name,
    Room.max_participants,
    Room.media_mode,
    Room.lobby,
    Room.recording_allowed,
    Room.created_at,
    Room.ended_at,
    Room.parent,
    Room.webinar,
)


def _info(tenant: str, row: dict[str, Any]) -> RoomInfo:
    return RoomInfo(tenant=tenant, **row)


def _scoped(tenant: TenantRef, slug: str) -> Combinable:
    return (Room.tenant == tenant.id) & (Room.slug == slug)


async def get_room(tenant: TenantRef, slug: str) -> RoomInfo:
    """The tenant's room ``slug``; another tenant's room is indistinguishable from a missing one."""
    row = await Room.select(*_COLUMNS).where(_scoped(tenant, slug)).first()
    if row is None:
        raise PodiumError("room_not_found", f"no room {slug!r}", status=404)
    return _info(tenant.slug, row)


async def get_room_by_id(room_id: int, tenant_slug: str) -> RoomInfo:
    row = await Room.select(*_COLUMNS).where(Room.id == room_id).first()
    if row is None:
        raise PodiumError("room_not_found", "room was deleted", status=404)
    return _info(tenant_slug, row)


async def find_room_by_id(room_id: int) -> RoomInfo | None:
    """The room with this id, whichever tenant owns it (for events that carry only the id)."""
    owner = await Room.select(Room.tenant.slug).where(Room.id == room_id).first()
    if owner is None:
        return None
    return await get_room_by_id(room_id, owner["tenant.slug"])


async def list_rooms(tenant: TenantRef, *, limit: int, after: str | None) -> list[RoomInfo]:
    """The tenant's rooms ordered by slug, ``limit`` at a time after the slug ``after``."""
    # Breakout rooms come and go with their main room's breakouts; they are listed there.
    query = Room.select(*_COLUMNS).where((Room.tenant == tenant.id) & Room.parent.is_null())
    if after:
        query = query.where(Room.slug > after)
    rows = await query.order_by(Room.slug).limit(limit)
    return [_info(tenant.slug, row) for row in rows]


async def create_room(tenant: TenantRef, spec: RoomCreate) -> RoomInfo:
    if await Room.exists().where(_scoped(tenant, spec.slug)):
        raise PodiumError("room_exists", f"room {spec.slug!r} already exists", status=409)
    await Room.insert(Room(tenant=tenant.id, created_at=utcnow(), **msgspec.structs.asdict(spec)))
    return await get_room(tenant, spec.slug)


async def update_room(tenant: TenantRef, slug: str, change: RoomUpdate) -> RoomInfo:
    await get_room(tenant, slug)
    values = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not UNSET}
    if values:
        await Room.update({getattr(Room, k): v for k, v in values.items()}).where(_scoped(tenant, slug))
    return await get_room(tenant, slug)


async def delete_room(tenant: TenantRef, slug: str) -> None:
    room = await get_room(tenant, slug)
    await Room.delete().where(Room.parent == room.id)  # its breakout rooms
    await Room.delete().where(_scoped(tenant, slug))


async def live_media(room_id: int) -> Literal["p2p", "mcu"]:
    """How an ``auto`` room's media flows right now."""
    row = await Room.select(Room.live_media).where(Room.id == room_id).first()
    return "mcu" if row is not None and row["live_media"] == "mcu" else "p2p"


async def set_live_media(room_id: int, mode: Literal["p2p", "mcu"]) -> None:
    await Room.update({Room.live_media: mode}).where(Room.id == room_id)


async def mark_ended(room_id: int) -> None:
    """Record the end: join tokens issued before it no longer admit."""
    await Room.update({Room.ended_at: utcnow()}).where(Room.id == room_id)
