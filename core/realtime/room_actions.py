"""What happens in a room: joining, leaving, chat and moderation.

Used by participants' WebSockets (after the permission matrix) and by the
tenant's REST API (the tenant may do everything), so both paths behave alike.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from podium.core import chat
from podium.core.auth.permissions import Role, can_act_on, can_assign, permissions_of
from podium.core.breakouts.messages import BreakoutsInfo
from podium.core.errors import PodiumError
from podium.core.presence import Presence, SessionStatus
from podium.core.realtime import envelope as env
from podium.core.realtime.connection import CloseCode, Connection
from podium.core.realtime.hub import Hub
from podium.core.realtime.ice import ice_servers_for, parse_ice_servers
from podium.core.realtime.media_routing import MediaRouting
from podium.core.realtime.protocol import (
    ChatAudience,
    ChatItem,
    ChatMessage,
    Kicked,
    LeaveReason,
    LobbyDenied,
    LobbyKnock,
    LobbyResolved,
    LobbyWaiting,
    MuteRequested,
    OutputsChanged,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RoleChanged,
    RoomEnded,
    Signal,
    SignalRelayed,
    WatchInfo,
    Welcome,
)
from podium.core.rooms import RoomInfo, find_room_by_id, mark_ended
from podium.core.settings import Settings

if TYPE_CHECKING:
    from podium.core.plugins.host import PluginHost

__all__ = ["RoomActions", "RoomObserver"]

log = logging.getLogger(__name__)
_STAFF = (Role.HOST, Role.MODERATOR)
#: ``notify(tenant_slug, event_type, data)``: where room events go for webhooks.
Notify = Callable[[str, str, Any], Awaitable[None]]


def _not_found() -> PodiumError:
    return PodiumError("participant_not_found", "no such participant in this room", status=404)


class RoomObserver(Protocol):
    """What a feature that follows the room's people implements (``RoomActions.observers``)."""

    async def seated(self, conn: Connection) -> None:
        """``conn`` got its ``welcome`` (joined, or admitted from the lobby)."""

    async def departed(self, room: RoomInfo, participant: ParticipantInfo, reason: LeaveReason) -> None:
        """A joined participant left the room, for ``reason``."""

    async def ended(self, room: RoomInfo) -> None:
        """The room was ended; everyone in it has been disconnected."""

    async def skips_lobby(self, room: RoomInfo, identity: str) -> bool:
        """Whether ``identity`` comes back from somewhere the room sent it (no second knock)."""


class RoomActions:
    """Room behaviour on top of presence (database) and the hub (fan-out)."""

    def __init__(self, settings: Settings, presence: Presence, hub: Hub, routing: MediaRouting) -> None:
        self.settings = settings
        self.presence = presence
        self.hub = hub
        self.routing = routing
        #: The app's plugins (set by ``Services``); their hooks see joins, leaves, roles and chat.
        self.plugins: PluginHost | None = None
        hub.on_admit = self._admitted
        self._ice_servers = parse_ice_servers(settings.ice_servers)
        self.notify: Notify | None = None
        hub.on_swept = self._swept
        #: What is recorded and streamed in a room now, for ``welcome`` (set by ``Services``).
        self.outputs_status: Callable[[int], Awaitable[OutputsChanged]] | None = None
        #: Features that follow who is where (breakout rooms): told of seats, departures and ends.
        self.observers: list[RoomObserver] = []
        #: The open breakouts of a room's main room, for ``welcome`` (set by ``Services``).
        self.breakouts_status: Callable[[RoomInfo], Awaitable[BreakoutsInfo | None]] | None = None
        #: Webinars (set by ``Services``): where a joiner sits (on or off stage, WebRTC or the HLS
        #: overflow; ``room_full`` past both), and an overflow viewer's watch link for ``welcome``.
        self.seat: Callable[[RoomInfo, ParticipantInfo], Awaitable[ParticipantInfo]] | None = None
        self.watch_for: Callable[[Connection], Awaitable[WatchInfo | None]] | None = None

    async def tell_tenant(self, room: RoomInfo, event: str, **data: Any) -> None:
        """Tell the tenant's webhooks of ``event`` in ``room`` (never fails what caused it)."""
        await self._notify(room, event, **data)

    async def _notify(self, room: RoomInfo, event: str, **data: Any) -> None:
        """Tell the tenant's webhooks (never fails the room action that caused it)."""
        if self.notify is not None:
            summary = {"id": room.id, "slug": room.slug, "name": room.name}
            await self.notify(room.tenant, event, {"tenant": room.tenant, "room": summary, **data})

    async def _swept(self, room_id: int, participant_id: str) -> None:
        """A dead node's participant was swept out: the tenant hears they left, ``disconnected``."""
        if self.notify is None:
            return
        participant = await self.presence.session(participant_id)
        if participant is None:
            return
        room = await find_room_by_id(room_id)
        if room is not None:
            await self._left(room, participant, "disconnected")

    async def _left(self, room: RoomInfo, participant: ParticipantInfo, reason: str) -> None:
        await self._notify(room, "participant.left", participant=participant, reason=reason)
        # A room everyone left for its breakouts is not over: they come back.
        emptied = reason not in ("ended", "moved") and not await self.presence.count_joined(room.id)
        if self.notify is not None and emptied:
            await self._notify(room, "room.ended", reason="empty", by=None)

    async def depart(self, room: RoomInfo, participant: ParticipantInfo, reason: LeaveReason) -> None:
        """``participant``'s session is closed: the room, plugins, media routing, webhooks and
        observers hear that they left, for ``reason``."""
        await self.hub.publish(room.id, ParticipantLeft(participant_id=participant.id, reason=reason))
        if self.plugins is not None:
            self.plugins.participant_left(room, participant, reason)
        if reason != "ended":
            await self.routing.reconsider(room)
        await self._left(room, participant, reason)
        for observer in self.observers:
            await observer.departed(room, participant, reason)

    # ---- joining and leaving ---------------------------------------------------------------------------

    async def join(self, conn: Connection) -> None:
        """Seat ``conn`` in its room or its lobby; raises ``room_full``."""
        room = conn.room
        await self.hub.attach(room.id, conn)
        try:
            waiting = (
                room.lobby
                and conn.role is Role.ATTENDEE
                and not await self.presence.was_admitted(
                    room.id, conn.me.identity, self.settings.rejoin_grace
                )
                and not any([await o.skips_lobby(room, conn.me.identity) for o in self.observers])
            )
            async with self.presence.room_lock(room.id):
                replaced = []
                for old in await self.presence.same_identity(room.id, conn.me.identity):
                    if await self.presence.close(old, "replaced"):
                        replaced.append(old)
                joined = 0 if waiting else await self.presence.count_joined(room.id)
                if not waiting:
                    conn.me = await self._seated_as(room, conn.me, joined)
                await self.presence.open(room.id, conn.me, status="waiting" if waiting else "joined")
        except BaseException:
            await self.hub.detach(room.id, conn)
            raise
        for old in replaced:
            await self.hub.publish(
                room.id,
                ParticipantLeft(participant_id=old, reason="replaced"),
                ops=[env.Close(participant_id=old, code=CloseCode.REPLACED, reason="replaced")],
            )
            await self._notify(
                room,
                "participant.left",
                participant=msgspec.structs.replace(conn.me, id=old),
                reason="replaced",
            )
        if waiting:
            conn.status = "waiting"
            conn.start(LobbyWaiting(room=room, you=conn.me))
            await self.hub.publish(room.id, LobbyKnock(participant=conn.me), audience="staff")
        else:
            await self._seat(conn, first=joined == 0 and not replaced)

    async def _seat(self, conn: Connection, first: bool) -> None:
        conn.status = "joined"
        # Plugins hear of the join before anyone can act on it (a role change right after, say).
        await self._plugins_seated(conn)
        conn.start(await self.welcome(conn))
        await self.hub.publish(conn.room.id, ParticipantJoined(participant=conn.me), exclude=conn.id)
        await self.routing.reconsider(conn.room)
        if first:
            await self._notify(conn.room, "room.started", participant=conn.me)
        await self._notify(conn.room, "participant.joined", participant=conn.me)
        await self._tell_seated(conn)

    async def _tell_seated(self, conn: Connection) -> None:
        for observer in self.observers:
            try:
                await observer.seated(conn)
            except PodiumError as exc:  # the join stands; what follows it can be retried
                log.warning("after %s joined room %s: %s", conn.id, conn.room.id, exc.message)

    async def _admitted(self, conn: Connection) -> None:
        """An ``admit`` op reached this node: the waiting socket gets its ``welcome``."""
        if conn.status != "waiting":
            return
        conn.hold()
        conn.status = "joined"
        if conn.room.webinar:  # admission decided their seat (stage, viewer) on whichever node
            conn.me = await self.presence.session(conn.id) or conn.me
        try:
            conn.start(await self.welcome(conn))
        except Exception:
            log.exception("could not admit %s", conn.id)
            conn.close(CloseCode.SERVER_ERROR, "server_error")
            return
        await self._plugins_seated(conn)
        await self.routing.reconsider(conn.room)
        await self._tell_seated(conn)

    async def _plugins_seated(self, conn: Connection) -> None:
        if self.plugins is not None:
            if await self.presence.count_joined(conn.room.id) == 1:
                self.plugins.room_started(conn.room)
            self.plugins.participant_joined(conn.room, conn.me)

    async def welcome(self, conn: Connection) -> Welcome:
        room, me = conn.room, conn.me
        participants = await self.presence.listing(room.id, "joined")
        staff = me.role in _STAFF
        return Welcome(
            room=room,
            you=me,
            participants=participants,
            chat=await chat.history(room.id, limit=self.settings.chat_history_in_welcome, viewer=me),
            media_mode=await self.routing.mode(room),
            permissions=permissions_of(me.role),
            lobby=await self.presence.listing(room.id, "waiting") if staff else [],
            ice_servers=ice_servers_for(
                self._ice_servers,
                self.settings.turn_urls,
                self.settings.turn_secret,
                me.identity,
                self.settings.turn_credential_ttl,
            ),
            plugins=[] if self.plugins is None else await self.plugins.welcome(room, me),
            outputs=None if self.outputs_status is None else await self.outputs_status(room.id),
            breakouts=None if self.breakouts_status is None else await self.breakouts_status(room),
            watch=None if self.watch_for is None else await self.watch_for(conn),
        )

    async def _seated_as(self, room: RoomInfo, me: ParticipantInfo, joined: int) -> ParticipantInfo:
        """``me`` as they may join (under the room's lock): a webinar decides stage and overflow;
        any other room is full at ``max_participants``."""
        if room.webinar and self.seat is not None:
            return await self.seat(room, me)
        if joined >= room.max_participants:
            raise PodiumError("room_full", f"the room is full ({room.max_participants})", status=409)
        return me

    async def leave(self, conn: Connection, reason: LeaveReason) -> None:
        """The socket is gone; tell the room unless someone already closed the session."""
        await self.hub.detach(conn.room.id, conn)
        if conn.status == "joined":
            # The media node's connection goes with the socket, whoever closed the session (a kick
            # or a move closes it first, and says so to the room itself).
            self.routing.left(conn)
        if not conn.me.id or not await self.presence.close(conn.id, reason):
            return
        if conn.status == "joined":
            await self.depart(conn.room, conn.me, reason)
        else:
            await self.hub.publish(
                conn.room.id, LobbyResolved(participant_id=conn.id, outcome="left"), audience="staff"
            )

    # ---- chat ------------------------------------------------------------------------------------------

    async def post_chat(
        self, room: RoomInfo, sender: ParticipantInfo, to: ChatAudience, recipient_id: str | None, text: str
    ) -> ChatItem:
        if not text.strip():
            raise PodiumError("chat_empty", "chat message is empty")
        if len(text) > self.settings.chat_max_length:
            raise PodiumError(
                "chat_too_long", f"chat messages are limited to {self.settings.chat_max_length} characters"
            )
        recipient = None
        if to == "participant":
            if recipient_id is None:
                raise PodiumError("recipient_required", "private messages need a recipient")
            found = await self.presence.find(room.id, recipient_id)
            if found is None or found[1] != "joined":
                raise _not_found()
            recipient = found[0]
        elif recipient_id is not None:
            raise PodiumError("invalid_message", "recipient is only allowed with to='participant'")
        if self.plugins is not None:
            text = await self.plugins.filter_chat(room, sender, to, text)
        item = await chat.post(room.id, sender, to, recipient, text)
        event = ChatMessage(message=item)
        if to == "everyone":
            await self.hub.publish(room.id, event)
        elif to == "moderators":
            await self.hub.publish(room.id, event, audience="staff", targets=[sender.id])
        else:
            assert recipient is not None
            await self.hub.publish(room.id, event, audience="none", targets=[sender.id, recipient.id])
        if to != "participant":
            # Private messages stay between the two people; they never leave Podium.
            await self._notify(room, "chat.message", message=item)
        return item

    # ---- peer-to-peer signalling ------------------------------------------------------------------------

    async def relay_signal(self, conn: Connection, signal: Signal) -> None:
        """Pass an offer/answer/candidate to one joined participant of the same room, never further."""
        if (signal.description is None) == (signal.candidate is None):
            raise PodiumError("invalid_message", "a signal carries either a description or a candidate")
        limit = self.settings.max_sdp_bytes
        if signal.description is not None and len(signal.description.sdp.encode()) > limit:
            raise PodiumError(
                "sdp_too_large", f"session descriptions are limited to {limit} bytes", status=413
            )
        if signal.to == conn.id:
            raise PodiumError("invalid_target", "you cannot signal yourself")
        # A socket on this node in the same room feed is proof enough; otherwise ask the database,
        # which only finds participants of this room.
        local = self.hub.local(conn.room.id, signal.to)
        if local is None:
            found = await self.presence.find(conn.room.id, signal.to)
            if found is None or found[1] != "joined":
                raise _not_found()
        elif local.status != "joined":
            raise _not_found()
        relayed = SignalRelayed(
            from_=conn.id,
            instance=signal.instance,
            to_instance=signal.to_instance,
            description=signal.description,
            candidate=signal.candidate,
            streams=signal.streams,
        )
        await self.hub.publish(conn.room.id, relayed, audience="none", targets=[signal.to])

    # ---- moderation (callers check the permission matrix first) ----------------------------------------

    async def target(
        self, room: RoomInfo, participant_id: str, by: ParticipantInfo | None
    ) -> tuple[ParticipantInfo, SessionStatus]:
        """A live participant ``by`` may act on: rank rules apply; nobody moderates themselves."""
        found = await self.presence.find(room.id, participant_id)
        if found is None:
            raise _not_found()
        target = found[0]
        if by is not None:
            if target.id == by.id:
                raise PodiumError("invalid_target", "you cannot do this to yourself")
            if not can_act_on(by.role, target.role):
                raise PodiumError("forbidden", f"role {by.role} cannot act on role {target.role}", status=403)
        return found

    async def kick(self, room: RoomInfo, participant_id: str, by: ParticipantInfo | None) -> None:
        target, status = await self.target(room, participant_id, by)
        if not await self.presence.close(target.id, "kicked"):
            raise _not_found()
        by_name = None if by is None else by.name
        await self.hub.publish(
            room.id,
            Kicked(by=by_name),
            audience="none",
            targets=[target.id],
            ops=[env.Close(participant_id=target.id, code=CloseCode.KICKED, reason="kicked")],
        )
        if status == "waiting":
            await self.hub.publish(
                room.id, LobbyResolved(participant_id=target.id, outcome="denied"), audience="staff"
            )
        else:
            await self.depart(room, target, "kicked")

    async def ask_mute(
        self, room: RoomInfo, participant_id: str, kind: str, by: ParticipantInfo | None
    ) -> None:
        target, status = await self.target(room, participant_id, by)
        if status != "joined":
            raise _not_found()
        await self.hub.publish(
            room.id,
            MuteRequested(kind="video" if kind == "video" else "audio", by=None if by is None else by.name),
            audience="none",
            targets=[target.id],
        )

    async def set_role(
        self, room: RoomInfo, participant_id: str, role: Role, by: ParticipantInfo | None
    ) -> None:
        target, _ = await self.target(room, participant_id, by)
        if by is not None and not can_assign(by.role, target.role, role):
            raise PodiumError("forbidden", f"role {by.role} cannot make someone {role}", status=403)
        await self.presence.set_role(target.id, role)
        if self.plugins is not None:
            self.plugins.role_changed(room, target.id, role)
        await self._notify(
            room,
            "participant.role_changed",
            participant=msgspec.structs.replace(target, role=role),
            previous_role=target.role,
            by=None if by is None else by.name,
        )
        await self.hub.publish(
            room.id,
            RoleChanged(
                participant_id=target.id,
                role=role,
                by=None if by is None else by.name,
                permissions=permissions_of(role),
            ),
            targets=[target.id],
            ops=[env.SetRole(participant_id=target.id, role=role)],
        )

    async def update_self(self, conn: Connection, hand_raised: bool | None = None, **values: object) -> None:
        if hand_raised is not None:
            await self.presence.set_hand(conn.id, hand_raised)
        updated = await self.presence.update(conn.id, **values)
        if updated is None:
            raise _not_found()
        conn.me = msgspec.structs.replace(updated, role=conn.me.role)
        await self.hub.publish(conn.room.id, ParticipantUpdated(participant=conn.me))
        self.routing.updated(conn)

    async def admit(self, room: RoomInfo, participant_id: str, by: ParticipantInfo | None) -> None:
        found = await self.presence.find(room.id, participant_id)
        if found is None or found[1] != "waiting":
            raise PodiumError("not_in_lobby", "that participant is not waiting in the lobby", status=404)
        async with self.presence.room_lock(room.id):
            joined = await self.presence.count_joined(room.id)
            seated = await self._seated_as(room, found[0], joined)
            if not await self.presence.admit(participant_id):
                raise PodiumError("not_in_lobby", "that participant is not waiting in the lobby", status=404)
            if seated != found[0]:
                await self.presence.update(participant_id, on_stage=seated.on_stage, viewer=seated.viewer)
                found = (seated, found[1])
        await self.hub.publish(room.id, None, ops=[env.Admit(participant_id=participant_id)])
        await self.hub.publish(room.id, ParticipantJoined(participant=found[0]), exclude=participant_id)
        await self.hub.publish(
            room.id, LobbyResolved(participant_id=participant_id, outcome="admitted"), audience="staff"
        )
        if joined == 0:
            await self._notify(room, "room.started", participant=found[0])
        await self._notify(room, "participant.joined", participant=found[0])

    async def deny(self, room: RoomInfo, participant_id: str, by: ParticipantInfo | None) -> None:
        found = await self.presence.find(room.id, participant_id)
        if found is None or found[1] != "waiting" or not await self.presence.close(participant_id, "denied"):
            raise PodiumError("not_in_lobby", "that participant is not waiting in the lobby", status=404)
        await self.hub.publish(
            room.id,
            LobbyDenied(),
            audience="none",
            targets=[participant_id],
            ops=[
                env.Close(participant_id=participant_id, code=CloseCode.LOBBY_DENIED, reason="lobby_denied")
            ],
        )
        await self.hub.publish(
            room.id, LobbyResolved(participant_id=participant_id, outcome="denied"), audience="staff"
        )

    async def end(self, room: RoomInfo, by: ParticipantInfo | None) -> int:
        """End the meeting: everyone (lobby included) is disconnected with reason ``ended``."""
        await mark_ended(room.id)
        inside = await self.presence.listing(room.id, "joined") if self.notify is not None else []
        closed = await self.presence.close_room(room.id, "ended")
        # Stored before the room hears it ended: a participant's ack races the close that follows.
        for participant in inside:
            if participant.id in closed:
                await self._notify(room, "participant.left", participant=participant, reason="ended")
        if inside:
            await self._notify(room, "room.ended", reason="ended", by=None if by is None else by.name)
        self.routing.ended(room)
        await self.hub.publish(
            room.id,
            RoomEnded(by=None if by is None else by.name),
            targets=closed,
            ops=[env.CloseRoom(code=CloseCode.ROOM_ENDED, reason="room_ended")],
        )
        if self.plugins is not None:
            self.plugins.room_ended(room)
        for observer in self.observers:
            await observer.ended(room)
        return len(closed)
