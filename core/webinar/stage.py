"""The stage and raised hands: who may publish in a webinar, and who asks to speak.

In a webinar room hosts and moderators join **on stage** (they publish camera and
microphone, and the composite shows them); attendees join **off stage**: view-only,
the media node sends them the composite and the mix and decodes nothing of theirs.
Anyone raises a hand; a host or moderator invites someone on stage (their hand goes
down) and takes them off again. Outside webinars everyone is on stage, as before, and
hands still work.

Seats: ``max_participants`` counts the interactive (WebRTC) seats. A webinar admits
attendees past it as **viewers** of the room's HLS stream (``viewer``: see
``overflow.py``), up to ``PODIUM_WEBINAR_MAX_VIEWERS``; a viewer put on stage needs a
free interactive seat.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from podium.core.auth.permissions import Role
from podium.core.errors import PodiumError
from podium.core.presence import Presence
from podium.core.realtime.hub import Hub
from podium.core.realtime.media_routing import MediaRouting
from podium.core.realtime.protocol import ParticipantInfo, ParticipantUpdated
from podium.core.rooms import RoomInfo
from podium.core.settings import Settings

if TYPE_CHECKING:
    from podium.core.realtime.room_actions import RoomActions

__all__ = ["Stage", "room_full"]

log = logging.getLogger(__name__)
_STAFF = (Role.HOST, Role.MODERATOR)


def room_full(room: RoomInfo, what: str = "the room is full") -> PodiumError:
    return PodiumError("room_full", f"{what} ({room.max_participants})", status=409)


def _not_found() -> PodiumError:
    return PodiumError("participant_not_found", "no such participant in this room", status=404)


class Stage:
    """Stage and hands of every room; the room's actions check permissions first."""

    def __init__(
        self, settings: Settings, presence: Presence, hub: Hub, routing: MediaRouting, actions: RoomActions
    ) -> None:
        self.settings = settings
        self.presence = presence
        self.hub = hub
        self.routing = routing
        self.actions = actions

    # ---- seats -----------------------------------------------------------------------------------------

    async def seat(self, room: RoomInfo, me: ParticipantInfo) -> ParticipantInfo:
        """Where ``me`` sits in a webinar (called under the room's lock): staff on stage, attendees
        off it, on an interactive seat while there is one, else as an HLS viewer; ``room_full``
        past the viewers too (and for staff, who always need an interactive seat)."""
        staff = me.role in _STAFF
        interactive = await self.presence.count_joined(room.id, viewers=False)
        if interactive < room.max_participants:
            # A speaker whose connection dropped a moment ago is still on stage.
            back = not staff and await self.presence.was_on_stage(
                room.id, me.identity, self.settings.rejoin_grace
            )
            return msgspec.structs.replace(me, on_stage=staff or back, viewer=False)
        if staff:
            raise room_full(room, "every interactive seat is taken")
        viewers = await self.presence.count_joined(room.id, viewers=True)
        if viewers >= self.settings.webinar_max_viewers:
            raise room_full(room, "every seat and every viewer place is taken")
        return msgspec.structs.replace(me, on_stage=False, viewer=True)

    # ---- on and off stage --------------------------------------------------------------------------------

    async def set_stage(
        self, room: RoomInfo, participant_id: str, on_stage: bool, by: ParticipantInfo | None
    ) -> ParticipantInfo:
        """Put a participant on stage (their hand goes down; an HLS viewer takes an interactive
        seat) or off it. Rank rules apply as for any moderation; doing it twice changes nothing."""
        if not room.webinar:
            raise PodiumError("not_webinar", "only webinars have a stage: everyone here may publish", 409)
        target, status = await self.actions.target(room, participant_id, by)
        if status != "joined":
            raise _not_found()
        if target.on_stage == on_stage and not (on_stage and target.viewer):
            return target
        async with self.presence.room_lock(room.id):
            if on_stage and target.viewer:
                taken = await self.presence.count_joined(room.id, viewers=False)
                if taken >= room.max_participants:
                    raise room_full(room, "no interactive seat is free to bring a viewer on stage")
            await self.presence.set_stage(target.id, on_stage)
        updated = await self.presence.session(target.id)
        assert updated is not None
        await self.hub.publish(room.id, ParticipantUpdated(participant=updated))
        self.routing.stage_changed(room, target.id, on_stage)
        actor = None if by is None else by.name
        await self.actions.tell_tenant(
            room, "participant.stage_changed", participant=updated, on_stage=on_stage, by=actor
        )
        if self.actions.plugins is not None:
            self.actions.plugins.stage_changed(room, updated, on_stage)
        log.info("room %s: %s %s stage", room.id, target.id, "on" if on_stage else "off")
        return updated

    # ---- hands -------------------------------------------------------------------------------------------

    async def lower_hand(self, room: RoomInfo, participant_id: str) -> None:
        """Lower a joined participant's hand (hosts and moderators, or the tenant)."""
        found = await self.presence.find(room.id, participant_id)
        if found is None or found[1] != "joined":
            raise _not_found()
        if await self.presence.set_hand(participant_id, False):
            updated = await self.presence.session(participant_id)
            assert updated is not None
            await self.hub.publish(room.id, ParticipantUpdated(participant=updated))

    async def hands(self, room: RoomInfo) -> list[ParticipantInfo]:
        """Everyone in the room with a raised hand, first raised first."""
        joined = await self.presence.listing(room.id, "joined")
        raised = [p for p in joined if p.hand_raised_at is not None]
        return sorted(raised, key=lambda p: (p.hand_raised_at, p.joined_at))
