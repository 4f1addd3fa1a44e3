"""Per-room tenant actions: join tokens, live participants, moderation, ending, chat history."""

from __future__ import annotations

import time
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter
from msgspec import Meta

from podium.core import chat, rooms
from podium.core.api.openapi import errors
from podium.core.auth import tokens
from podium.core.auth.permissions import Role
from podium.core.db.tables import MAX_ROW_ID
from podium.core.errors import PodiumError
from podium.core.realtime.protocol import ChatItem, ParticipantInfo
from podium.core.services import Services
from podium.core.tenants import Caller

__all__ = ["RoomParticipantsController"]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    identity: Annotated[str, Meta(min_length=1, max_length=200)]
    name: Annotated[str, Meta(max_length=200)] = ""
    role: Role = Role.ATTENDEE
    #: Lifetime in seconds.
    ttl: Annotated[int, Meta(ge=10)] = 3600


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    expires_at: int
    #: The page a browser opens to join (or the iframe's src).
    join_url: str
    #: The realtime endpoint; append ``?token=``.
    websocket_url: str


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class MuteRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["audio", "video"] = "audio"


class Ended(msgspec.Struct, frozen=True):
    disconnected: int


class ChatPage(msgspec.Struct, frozen=True):
    messages: list[ChatItem]
    #: Pass as ``before`` for older messages; null when there are none.
    next: int | None


class RoomParticipantsController(Controller):
    path = "/rooms/{slug:str}"
    tags = ["participants"]

    @post("/tokens", responses=errors(422))
    async def mint_token(
        self, caller: Caller, slug: str, data: TokenRequest, services: Services
    ) -> IssuedToken:
        """Mint a join token signed with the calling API key (embedders may also sign their own)."""
        room = await rooms.get_room(caller.tenant, slug)
        if data.ttl > services.settings.token_max_ttl:
            raise PodiumError("ttl_too_long", f"ttl may be at most {services.settings.token_max_ttl} s", 422)
        now = int(time.time())
        token = tokens.mint(
            key_id=caller.key_id,
            secret=caller.secret,
            identity=data.identity,
            room=room.slug,
            role=data.role,
            name=data.name or data.identity,
            ttl=data.ttl,
            now=now,
        )
        base = services.settings.base_url
        path = f"{caller.tenant.slug}/{room.slug}"
        return IssuedToken(
            token=token,
            expires_at=now + data.ttl,
            join_url=f"{base}/r/{path}?token={token}",
            websocket_url=base.replace("http", "ws", 1) + f"/ws/{path}",
        )

    @get("/participants")
    async def participants(self, caller: Caller, slug: str, services: Services) -> list[ParticipantInfo]:
        """Who is in the room now (the lobby excluded)."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.presence.listing(room.id, "joined")

    @get("/lobby")
    async def lobby(self, caller: Caller, slug: str, services: Services) -> list[ParticipantInfo]:
        """Who is waiting in the lobby."""
        room = await rooms.get_room(caller.tenant, slug)
        return await services.presence.listing(room.id, "waiting")

    @post("/participants/{participant_id:str}/kick", status_code=204)
    async def kick(self, caller: Caller, slug: str, participant_id: str, services: Services) -> None:
        room = await rooms.get_room(caller.tenant, slug)
        await services.actions.kick(room, participant_id, None)

    @post("/participants/{participant_id:str}/role", status_code=204)
    async def set_role(
        self, caller: Caller, slug: str, participant_id: str, data: RoleChange, services: Services
    ) -> None:
        room = await rooms.get_room(caller.tenant, slug)
        await services.actions.set_role(room, participant_id, data.role, None)

    @post("/participants/{participant_id:str}/mute", status_code=204)
    async def ask_mute(
        self, caller: Caller, slug: str, participant_id: str, data: MuteRequest, services: Services
    ) -> None:
        """Ask a participant to mute (Podium never mutes anyone's device without consent)."""
        room = await rooms.get_room(caller.tenant, slug)
        await services.actions.ask_mute(room, participant_id, data.kind, None)

    @post("/lobby/{participant_id:str}/admit", status_code=204, responses=errors(409))
    async def admit(self, caller: Caller, slug: str, participant_id: str, services: Services) -> None:
        room = await rooms.get_room(caller.tenant, slug)
        await services.actions.admit(room, participant_id, None)

    @post("/lobby/{participant_id:str}/deny", status_code=204)
    async def deny(self, caller: Caller, slug: str, participant_id: str, services: Services) -> None:
        room = await rooms.get_room(caller.tenant, slug)
        await services.actions.deny(room, participant_id, None)

    @post("/end", status_code=200)
    async def end(self, caller: Caller, slug: str, services: Services) -> Ended:
        """End the meeting: everyone is disconnected with reason ``ended``."""
        room = await rooms.get_room(caller.tenant, slug)
        return Ended(disconnected=await services.actions.end(room, None))

    @get("/chat")
    async def chat_history(
        self,
        caller: Caller,
        slug: str,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        before: Annotated[int | None, Parameter(ge=1, le=MAX_ROW_ID)] = None,
    ) -> ChatPage:
        """The room's chat, newest page first, each page oldest to newest (private messages included)."""
        room = await rooms.get_room(caller.tenant, slug)
        page = await chat.history(room.id, limit=limit, before=before)
        return ChatPage(messages=page, next=page[0].id if len(page) == limit else None)
